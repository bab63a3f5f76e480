#!/bin/sh
# test_bench_client.sh - `rill bench produce|consume|e2e` against a real rilld: each workload
# runs briefly (20,000 records) and its --json object must parse with the fields the comparison
# harness reads (records as asked, positive rates, p50 <= p99 <= max); fixed-rate mode must not
# run faster than its rate allows (a loose lower bound on the duration only); bad flags exit 2,
# an unreachable broker exits 1; --plot draws a PNG when gnuplot is installed.
#   RILL=build/rill sh tests/integration/test_bench_client.sh   (rilld is found beside rill)
set -u
: "${RILL:?set RILL to the rill binary}"
RILLD="$(dirname "$RILL")/rilld"
work=$(mktemp -d "${TMPDIR:-/tmp}/test_bench_client.XXXXXX") || exit 1
rilld_pid=""
cleanup() {
    [ -n "$rilld_pid" ] && kill -KILL "$rilld_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
passed=0
failed=0
skipped=0

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
skip() {
    skipped=$((skipped + 1))
    echo "skip $1"
}

# run_exit NAME EXPECTED COMMAND...: stdout to $work/out, stderr to $work/err.
run_exit() {
    name=$1
    expected=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    status=$?
    if [ "$status" -eq "$expected" ]; then
        pass "$name"
    else
        fail "$name" "expected exit $expected, got $status" "stderr: $(head -c 400 "$work/err")"
    fi
}

# json_holds NAME EXPRESSION: $work/out is one JSON object (bound to d) and EXPRESSION holds.
json_holds() {
    if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
' "$work/out" "$2" 2>"$work/json.err"; then
        pass "$1"
    else
        fail "$1" "not true: $2" "$(head -c 600 "$work/out")" "$(head -c 300 "$work/json.err")"
    fi
}

# The fields every workload reports, with sane values.
common='d["records"] == 20000 and d["bytes"] == 20000 * 100 and d["seconds"] > 0
    and d["records_per_sec"] > 0 and d["mb_per_sec"] > 0'
latency='isinstance(d["latency_us"], dict)
    and 0 < d["latency_us"]["p50"] <= d["latency_us"]["p90"] <= d["latency_us"]["p99"]
    <= d["latency_us"]["p999"] <= d["latency_us"]["max"]'

# --- the command line, no broker needed ---------------------------------------------------------
for workload in produce consume e2e; do
    run_exit "bench $workload --help exits 0" 0 "$RILL" bench "$workload" --help
    run_exit "bench $workload with an unknown flag exits 2" 2 "$RILL" bench "$workload" --bogus
    run_exit "bench $workload --records 0 exits 2" 2 "$RILL" bench "$workload" --records 0
done
run_exit "--records with --duration exits 2" 2 "$RILL" bench produce --records 5 --duration 1
run_exit "a bad size distribution exits 2" 2 "$RILL" bench produce --size uniform:9-3
run_exit "e2e values below 8 bytes exit 2" 2 "$RILL" bench e2e --size 4
run_exit "--rate for consume exits 2" 2 "$RILL" bench consume --rate 10
run_exit "--acks 2 exits 2" 2 "$RILL" bench produce --acks 2
run_exit "a -X key no handle knows exits 2" 2 "$RILL" bench produce -X no.such.key=1
run_exit "bench without a workload exits 2" 2 "$RILL" bench
run_exit "an unknown workload exits 2" 2 "$RILL" bench nonsense
run_exit "bench produce on an unreachable broker exits 1" 1 "$RILL" bench produce \
    -b 127.0.0.1:1 -X connect.timeout.ms=1000 -X request.timeout.ms=1000 --records 10
if grep -q "unreachable at 127.0.0.1:1" "$work/err"; then
    pass "the unreachable broker is named"
else
    fail "the unreachable broker is named" "stderr: $(head -c 400 "$work/err")"
fi

# --- a real broker ------------------------------------------------------------------------------
if [ ! -x "$RILLD" ]; then
    skip "broker tests: $RILLD is not built"
    echo "test_bench_client: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
fi
"$RILLD" --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$work/data" \
    >"$work/rilld.out" 2>"$work/rilld.err" &
rilld_pid=$!
tries=0
while ! grep -q '^listening ' "$work/rilld.out" && [ $tries -lt 200 ]; do
    tries=$((tries + 1))
    sleep 0.05
done
line=$(grep '^listening ' "$work/rilld.out" | head -n 1)
if [ -z "$line" ]; then
    fail "rilld starts" "$(head -c 400 "$work/rilld.err")"
    echo "test_bench_client: $passed passed, $failed failed, $skipped skipped"
    exit 1
fi
b="127.0.0.1:${line##*:}"

run_exit "bench produce runs" 0 "$RILL" bench produce -b "$b" --records 20000 --acks 1 \
    --compression none --json
json_holds "produce --json has the fields and sane values" \
    "d['workload'] == 'produce' and $common and $latency"
json_holds "produce --json has no separate ack latency" "'ack_latency_us' not in d"

run_exit "bench produce with two producers, warm-up and lz4 runs" 0 "$RILL" bench produce \
    -b "$b" --topic two --partitions 2 --producers 2 --records 20000 --warmup 1000 \
    --compression lz4 --json
json_holds "warm-up records are not counted" \
    "d['records'] == 20000 and d['partitions'] == 2 and d['producers'] == 2 and $latency"

run_exit "bench consume runs" 0 "$RILL" bench consume -b "$b" --records 20000 --json
json_holds "consume --json has the fields and no latency" \
    "d['workload'] == 'consume' and $common and d['latency_us'] is None"

run_exit "bench consume of a whole topic with two consumers runs" 0 "$RILL" bench consume \
    -b "$b" --topic two --consumers 2 --json
json_holds "it reads every record of both partitions" "d['records'] == 21000"

run_exit "bench e2e runs" 0 "$RILL" bench e2e -b "$b" --topic e2e --records 20000 --acks all \
    --json
json_holds "e2e --json has the fields and sane values" \
    "d['workload'] == 'e2e' and $common and $latency"
json_holds "e2e --json has the produce path's share of the latency, in order" \
    "0 < d['ack_latency_us']['p50'] <= d['ack_latency_us']['p99'] <= d['ack_latency_us']['max']"

# 20,000 records at 10,000/s cannot take less than ~2 s; only a loose lower bound is checked.
started=$(date +%s.%N)
run_exit "bench produce at a fixed rate runs" 0 "$RILL" bench produce -b "$b" --records 20000 \
    --rate 10000 --linger-ms 1 --json
ended=$(date +%s.%N)
json_holds "fixed rate: records and latency are sane" "$common and $latency"
if python3 -c "import sys; sys.exit(0 if $ended - $started >= 20000 / 10000 * 0.8 else 1)"; then
    pass "fixed rate: the run is not faster than the rate"
else
    fail "fixed rate: the run is not faster than the rate" "took $started .. $ended"
fi

run_exit "bench produce with uniform sizes and a duration runs" 0 "$RILL" bench produce \
    -b "$b" --size uniform:10-1000 --duration 1 --json
json_holds "sizes stay in their range" \
    "d['records'] > 0 and 10 * d['records'] <= d['bytes'] <= 1000 * d['records']"

run_exit "bench consume of an unknown topic exits 1" 1 "$RILL" bench consume -b "$b" \
    --topic no-such-topic

if command -v gnuplot >/dev/null 2>&1; then
    run_exit "bench e2e --plot runs" 0 "$RILL" bench e2e -b "$b" --topic plot --duration 2 \
        --rate 20000 --plot "$work/e2e.png"
    if [ "$(head -c 4 "$work/e2e.png" 2>/dev/null | tail -c 3)" = "PNG" ]; then
        pass "--plot writes a PNG"
    else
        fail "--plot writes a PNG" "$(ls -la "$work")"
    fi
else
    skip "--plot: gnuplot is not installed (scripts/deps.sh bench)"
fi

kill -TERM "$rilld_pid"
wait "$rilld_pid"
status=$?
rilld_pid=""
if [ "$status" -eq 0 ]; then
    pass "rilld stops cleanly"
else
    fail "rilld stops cleanly" "exit $status"
fi
echo "test_bench_client: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
