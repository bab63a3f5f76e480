#!/bin/sh
# test_compare_harness.sh - bench/compare end to end on tiny workloads: every system runs, every
# result line is the agreed JSON shape with the record count asked for (the loopback TCP
# ceiling with a consume line only), the fixed-rate latency workload runs for rill, Redis and
# the disk floor, the markdown report and the docs block are written (and replaced, not appended, on a
# second run), bad flags fail, and no server the harness started is left running. The two
# baselines of build/bench-disk that have no peer (tcp, latency) are also run directly, and
# bench-redis latency against a server that cannot keep its rate stops at its deadline. Skips (exit 77) unless the peers and the
# drivers are there: `make bench-compare` (or scripts/deps.sh compare + the driver targets)
# installs and builds them; plain `make test` on a fresh machine has neither.
#   RILL=build/rill sh tests/integration/test_compare_harness.sh
set -u
: "${RILL:?set RILL to the rill binary}"
build=$(dirname "$RILL")
for need in "$build/rilld" "$build/bench-redis" "$build/bench-nats" "$build/bench-disk"; do
    if [ ! -x "$need" ]; then
        echo "test_compare_harness: $need is not built (make bench-compare), skipping"
        exit 77
    fi
done
for need in redis-server nats-server python3; do
    if ! command -v "$need" >/dev/null 2>&1; then
        echo "test_compare_harness: $need is not installed, skipping"
        exit 77
    fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/test_compare_harness.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
passed=0
failed=0

pass() {
    passed=$((passed + 1))
    echo "ok   $1"
}

fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
    shift
    for line in "$@"; do
        echo "     $line"
    done
}

# started FILE: PIDs of the servers the harness reported starting in its stderr FILE.
started() {
    sed -n 's/^bench\/compare: started .*, pid \([0-9][0-9]*\)$/\1/p' "$1"
}

# alive PIDS...: the ones still running (not gone, not a zombie).
alive() {
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
        [ -n "$state" ] && [ "$state" != Z ] && echo "$pid"
    done
}

printf '# Doc\n\nkept text\n' >"$work/doc.md"
bench/compare --build "$build" --dir "$work" --records 3000 --size 100 --repeat 1 --json \
    --latency-seconds 1 --rate 20000 \
    --markdown "$work/report.md" --update-docs "$work/doc.md" >"$work/out" 2>"$work/err"
status=$?
if [ "$status" -eq 0 ]; then
    pass "a run over every system exits 0"
else
    fail "a run over every system exits 0" "status $status" "$(tail -n 5 "$work/err")"
fi

python3 - "$work/out" >"$work/check" 2>&1 <<'PY'
import json, sys
want = {("rill", "durable"), ("rill", "relaxed"), ("redis", "durable"), ("redis", "relaxed"),
        ("nats", "relaxed"), ("disk", "durable"), ("disk", "relaxed")}
seen = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    for key in ("workload", "records", "bytes", "seconds", "records_per_sec", "mb_per_sec",
                "system", "durability"):
        assert key in r, "missing %s in %s" % (key, line)
    assert r["records_per_sec"] > 0, line
    if r.get("latency_us") is not None:
        assert set(r["latency_us"]) >= {"p50", "p90", "p99", "p999", "max"}, line
    seen.add((r["system"], r["durability"], r["workload"]))
    if r["workload"] == "e2e":
        # 1 s measured at 20,000/s; rill may count a few records more or less than the rate.
        assert r["size"] == 100 and r["durability"] == "durable", line
        assert 10000 <= r["records"] <= 30000, line
        assert r["latency_us"]["p99"] > 0, line
        continue
    assert r["records"] == 3000, line
    assert r["bytes"] == 300000, line
expect = {(s, d, w) for s, d in want for w in ("produce", "consume")}
expect |= {("tcp", "relaxed", "consume"), ("rill", "durable", "e2e"), ("redis", "durable", "e2e"),
           ("disk", "durable", "e2e")}
missing = expect - seen
assert not missing, "missing runs: %s" % sorted(missing)
extra = seen - expect
assert not extra, "unexpected runs: %s" % sorted(extra)
print("ok")
PY
if [ "$(cat "$work/check")" = ok ]; then
    pass "every system prints its produce, consume (tcp: consume only) and e2e JSON"
else
    fail "every system prints its produce, consume (tcp: consume only) and e2e JSON" \
        "$(tail -n 3 "$work/check")"
fi

if grep -q 'Redis XADD, appendfsync always' "$work/report.md" &&
    grep -q 'NATS JetStream' "$work/report.md" && grep -q '^redis-server ' "$work/report.md" &&
    grep -q '^| loopback TCP ceiling.* | not measured |' "$work/report.md" &&
    grep -q 'rill ÷ ceiling' "$work/report.md" && grep -q '^| disk floor' "$work/report.md" &&
    grep -q 'rill p99 ÷ disk floor p99' "$work/report.md" &&
    grep -q '^build/bench-disk latency ' "$work/report.md" &&
    grep -q '^build/bench-redis latency ' "$work/report.md" &&
    grep -q '^build/rill bench e2e ' "$work/report.md"; then
    pass "--markdown writes the tables (with both ceilings), the goals and the commands"
else
    fail "--markdown writes the tables (with both ceilings), the goals and the commands" \
        "$(head -c 400 "$work/report.md")"
fi

bench/compare --build "$build" --dir "$work" --records 2000 --size 1024 --repeat 1 \
    --systems disk,redis --workloads throughput \
    --update-docs "$work/doc.md" >/dev/null 2>"$work/err2"
blocks=$(grep -c 'bench/compare results: begin' "$work/doc.md")
if grep -q 'kept text' "$work/doc.md" && [ "$blocks" -eq 1 ] &&
    grep -q '1024-byte records' "$work/doc.md" && ! grep -q '100-byte records' "$work/doc.md" &&
    ! grep -q 'Latency at a fixed rate' "$work/doc.md"; then
    pass "--update-docs replaces its own block and keeps the rest"
else
    fail "--update-docs replaces its own block and keeps the rest" "blocks: $blocks" \
        "$(tail -n 3 "$work/err2")"
fi

bench/compare --build "$build" --dir "$work" --repeat 1 --systems disk,tcp --workloads latency \
    --latency-seconds 1 --rate 5000 --json >"$work/out4" 2>"$work/err4"
status=$?
if [ "$status" -eq 0 ] && [ "$(wc -l <"$work/out4")" -eq 1 ] &&
    grep -q '"system": "disk", "workload": "e2e"' "$work/out4"; then
    pass "--workloads latency runs only the latency workload (tcp has none)"
else
    fail "--workloads latency runs only the latency workload (tcp has none)" "status $status" \
        "$(cat "$work/out4")" "$(tail -n 3 "$work/err4")"
fi

for bad in "--systems kafka" "--workloads soak" "--rate 0" "--latency-seconds 0"; do
    # shellcheck disable=SC2086 # the flag and its value are two words on purpose
    bench/compare --build "$build" $bad >/dev/null 2>&1
    status=$?
    if [ "$status" -eq 2 ]; then
        pass "bench/compare $bad is a usage error (exit 2)"
    else
        fail "bench/compare $bad is a usage error (exit 2)" "status $status"
    fi
done

# The driver's two baselines directly: the loopback ceiling streams exactly the file's bytes to
# its child and reaps it; the latency floor writes rate x (warm-up + duration) records.
"$build/bench-disk" tcp --file "$work/tcp" --records 3000 --size 1024 --json >"$work/tcp.json" \
    2>"$work/tcp.err"
status=$?
if [ "$status" -eq 0 ] && grep -q '"workload": "consume", "records": 3000, "bytes": 3072000,' \
    "$work/tcp.json" && [ "$(wc -c <"$work/tcp")" -eq 3072000 ]; then
    pass "bench-disk tcp streams 3000 x 1 KiB over loopback"
else
    fail "bench-disk tcp streams 3000 x 1 KiB over loopback" "status $status" \
        "$(cat "$work/tcp.json" "$work/tcp.err")"
fi
"$build/bench-disk" latency --file "$work/lat" --rate 2000 --duration 1 --warmup 0 --size 100 \
    --json >"$work/lat.json" 2>"$work/lat.err"
status=$?
if [ "$status" -eq 0 ] && grep -q '"workload": "e2e", "records": 2000, "bytes": 200000,' \
    "$work/lat.json" && [ "$(wc -c <"$work/lat")" -eq 200000 ]; then
    pass "bench-disk latency appends and syncs 2000 records in 1 s"
else
    fail "bench-disk latency appends and syncs 2000 records in 1 s" "status $status" \
        "$(cat "$work/lat.json" "$work/lat.err")"
fi
"$build/bench-disk" latency --file "$work/lat" --rate 0 >/dev/null 2>&1
status=$?
if [ "$status" -eq 2 ]; then
    pass "bench-disk latency --rate 0 is a usage error (exit 2)"
else
    fail "bench-disk latency --rate 0 is a usage error (exit 2)" "status $status"
fi

all_started=$(started "$work/err")
if [ "$(echo "$all_started" | wc -w)" -eq 4 ] && [ -z "$(alive $all_started)" ]; then
    pass "the four servers (rilld, 2 redis-server, nats-server) are stopped after the run"
else
    fail "the four servers are stopped after the run" "started: $all_started" \
        "alive: $(alive $all_started)"
fi

# SIGTERM in the middle of a run: every server it started is stopped and its temp dir removed.
bench/compare --build "$build" --dir "$work" --records 2000000 --size 100 \
    --systems rill,redis,nats >/dev/null 2>"$work/err3" &
harness=$!
tries=0
while [ $tries -lt 400 ] && [ "$(started "$work/err3" | wc -l)" -lt 4 ]; do
    tries=$((tries + 1))
    sleep 0.05
done
pids=$(started "$work/err3")
kill -TERM "$harness"
wait "$harness"
status=$?
if [ "$(echo "$pids" | wc -w)" -eq 4 ] && [ "$status" -ne 0 ] && [ -z "$(alive $pids)" ]; then
    pass "SIGTERM during a run fails it and stops every server it started"
else
    fail "SIGTERM during a run fails it and stops every server it started" \
        "started: $pids, status $status, alive: $(alive $pids)"
fi

if [ -z "$(ls -d "$work"/rill-compare-* 2>/dev/null)" ]; then
    pass "no temp dir is left behind"
else
    fail "no temp dir is left behind" "$(ls -d "$work"/rill-compare-*)"
fi

# A peer that cannot keep the rate: bench-redis latency at 1,000,000 XADD/s (fsync always) stops
# at its deadline (0 s after the last entry fell due) instead of running on, and says so.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir "$work/redis"
redis-server --bind 127.0.0.1 --port "$port" --dir "$work/redis" --appendonly yes \
    --appendfsync always --save '' --daemonize no >"$work/redis/out" 2>&1 &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; rm -rf "$work"' EXIT
tries=0
while [ $tries -lt 200 ] && ! grep -q 'Ready to accept connections' "$work/redis/out"; do
    tries=$((tries + 1))
    sleep 0.05
done
"$build/bench-redis" latency --port "$port" --rate 1000000 --duration 1 --warmup 0 \
    --deadline 0 --json >"$work/redis.json" 2>"$work/redis.err"
status=$?
python3 - "$work/redis.json" >"$work/check5" 2>&1 <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert r["workload"] == "e2e", r
if r["records"] < 1000000:
    assert "stopped at the deadline with %d entries unsent" % (1000000 - r["records"]) \
        in r["settings"], r
    # every unsent entry still counts: the slowest waited about the whole run
    assert r["latency_us"]["max"] >= 500000, r
print("ok")
PY
if [ "$status" -eq 0 ] && [ "$(cat "$work/check5")" = ok ]; then
    pass "bench-redis latency behind the rate stops at its deadline and counts the unsent"
else
    fail "bench-redis latency behind the rate stops at its deadline and counts the unsent" \
        "status $status" "$(cat "$work/redis.json" "$work/redis.err" "$work/check5")"
fi
kill "$redis_pid"
wait "$redis_pid" 2>/dev/null

echo "test_compare_harness: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
