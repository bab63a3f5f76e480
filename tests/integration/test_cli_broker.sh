#!/bin/sh
# test_cli_broker.sh - the broker commands of the CLI (topic, produce, consume, cluster status)
# against a real rilld: topic administration with --json checked by a JSON parser, a round trip
# of 100,000 keyed lines with headers and lz4 compared in content and per-partition order,
# consume --count/--from/--partition/--exit-at-end and follow mode, consume --json (JSON Lines
# checked line by line by a JSON parser, in text and base64 encodings, with --group and
# --commit manual, and `log read --json` of a partition the broker wrote), and the exit codes
# scripts rely on (0 ok, 1 failure such as an unknown topic or an unreachable broker, 2 bad
# command line). Without a broker that serves topics yet, only the command-line checks run.
#   RILL=build/rill sh tests/integration/test_cli_broker.sh   (rilld is found beside rill)
set -u
: "${RILL:?set RILL to the rill binary}"
RILLD="$(dirname "$RILL")/rilld"
if [ ! -x "$RILL" ]; then
    echo "test_cli_broker: $RILL is not an executable" >&2
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/test_cli_broker.XXXXXX") || exit 1
pids=""
cleanup() {
    for pid in $pids; do
        kill -KILL "$pid" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
passed=0
failed=0
skipped=0
# Short client timeouts for the unreachable-broker checks (the client retries a refused
# connection until they pass).
fast="-X connect.timeout.ms=1000 -X request.timeout.ms=1000"

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

# check NAME EXPECTED ACTUAL
check() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        fail "$1" "expected: $2" "actual:   $3"
    fi
}

# check_exit NAME EXPECTED_STATUS COMMAND... (stdout and stderr go to $work/out, $work/err)
check_exit() {
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

# check_err NAME PATTERN: the last command's stderr contains PATTERN (grep -E).
check_err() {
    if grep -q -E -e "$2" "$work/err"; then
        pass "$1"
    else
        fail "$1" "stderr lacks /$2/" "stderr: $(head -c 400 "$work/err")"
    fi
}

# json NAME FILE PYTHON_EXPRESSION: FILE parses as JSON (bound to d) and the expression holds.
json() {
    if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
' "$2" "$3" 2>"$work/json.err"; then
        pass "$1"
    else
        fail "$1" "not true: $3" "$(head -c 600 "$2")" "$(head -c 300 "$work/json.err")"
    fi
}

# jsonl NAME FILE PYTHON_EXPRESSION: every line of FILE parses as one JSON document (the list
# bound to rows; the raw lines, bytes, to lines) and the expression holds.
jsonl() {
    if python3 -c '
import base64, json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"", "the output does not end with a newline"
lines = lines[:-1]
rows = [json.loads(line) for line in lines]
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
' "$2" "$3" 2>"$work/json.err"; then
        pass "$1"
    else
        fail "$1" "not true: $3" "$(head -c 600 "$2")" "$(tail -c 300 "$work/json.err")"
    fi
}

# exited PID: true once the process is gone or a zombie.
exited() {
    [ ! -r "/proc/$1/stat" ] && return 0
    state=$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)
    [ "$state" = Z ]
}

# stop_with SIGNAL PID: sends SIGNAL, waits up to 10 s, then SIGKILL; sets $status.
stop_with() {
    kill "-$1" "$2" 2>/dev/null
    tries=0
    while ! exited "$2" && [ $tries -lt 200 ]; do
        tries=$((tries + 1))
        sleep 0.05
    done
    if ! exited "$2"; then
        kill -KILL "$2"
    fi
    wait "$2"
    status=$?
    remaining=""
    for other in $pids; do
        [ "$other" = "$2" ] || remaining="$remaining $other"
    done
    pids=$remaining
}

# wait_lines FILE N: polls (20 s deadline) until FILE has at least N lines.
wait_lines() {
    tries=0
    while [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ] && [ $tries -lt 400 ]; do
        tries=$((tries + 1))
        sleep 0.05
    done
    [ "$(wc -l <"$1")" -ge "$2" ]
}

# --- the command line, no broker needed --------------------------------------------------------
for command in "topic" "topic create" "topic list" "topic describe" "topic alter" \
    "topic delete" "produce" "consume" "cluster" "cluster status"; do
    # shellcheck disable=SC2086 # the command words are split on purpose
    check_exit "rill $command --help exits 0" 0 "$RILL" $command --help
    if grep -q '^usage: rill' "$work/out"; then
        pass "rill $command --help prints a usage"
    else
        fail "rill $command --help prints a usage" "$(head -n 3 "$work/out")"
    fi
done
check_exit "rill --help names the broker commands" 0 "$RILL" --help
if grep -q 'produce TOPIC' "$work/out" && grep -q 'cluster status' "$work/out"; then
    pass "rill --help lists produce and cluster status"
else
    fail "rill --help lists produce and cluster status" "$(cat "$work/out")"
fi

check_exit "topic without a command exits 2" 2 "$RILL" topic
check_exit "unknown topic command exits 2" 2 "$RILL" topic frobnicate
check_exit "topic create without NAME exits 2" 2 "$RILL" topic create
check_exit "topic create --partitions 0 exits 2" 2 "$RILL" topic create t --partitions 0
check_exit "topic create --partitions x exits 2" 2 "$RILL" topic create t --partitions x
check_exit "topic create --config without '=' exits 2" 2 "$RILL" topic create t --config retention
check_err "bad --config names the problem" "expected KEY=VALUE"
check_exit "topic create --config twice exits 2" 2 "$RILL" topic create t -c a=1 -c a=2
check_exit "topic alter without a change exits 2" 2 "$RILL" topic alter t
check_exit "topic alter --delete-config k=v exits 2" 2 "$RILL" topic alter t --delete-config a=1
check_exit "topic delete with two names exits 2" 2 "$RILL" topic delete a b
check_exit "topic list --bogus exits 2" 2 "$RILL" topic list --bogus
check_err "unknown option is named" "unknown option '--bogus'"
check_exit "produce without TOPIC exits 2" 2 "$RILL" produce
check_exit "produce --acks 2 exits 2" 2 "$RILL" produce t --acks 2
check_exit "produce --compression zstd exits 2" 2 "$RILL" produce t --compression zstd
check_exit "produce --partition -1 exits 2" 2 "$RILL" produce t --partition -1
check_exit "produce --header without '=' exits 2" 2 "$RILL" produce t --header novalue
check_exit "produce empty --key-separator exits 2" 2 "$RILL" produce t --key-separator ''
check_exit "consume --from sideways exits 2" 2 "$RILL" consume t --from sideways
check_exit "consume --from @x exits 2" 2 "$RILL" consume t --from @x
check_exit "consume --count -1 exits 2" 2 "$RILL" consume t --count -1
check_exit "consume --format %q exits 2" 2 "$RILL" consume t --format '%q'
check_err "bad --format lists the directives" "%t %p"
check_exit "consume -X without '=' exits 2" 2 "$RILL" consume t -X fetch.max.wait.ms
check_exit "consume --json --format exits 2" 2 "$RILL" consume t --json --format '%v'
check_err "--json with --format is explained" "--json and --format exclude each other"
check_exit "consume --json-encoding hex exits 2" 2 "$RILL" consume t --json --json-encoding hex
check_err "a bad --json-encoding names the choices" "expected text or base64"
check_exit "consume --json-encoding without --json exits 2" 2 "$RILL" consume t \
    --json-encoding base64
check_err "--json-encoding asks for --json" "--json-encoding needs --json"
check_exit "consume --help exits 0" 0 "$RILL" consume --help
if grep -q -e '--json ' "$work/out" && grep -q -e '--json-encoding' "$work/out"; then
    pass "consume --help documents --json and --json-encoding"
else
    fail "consume --help documents --json and --json-encoding" "$(head -n 3 "$work/out")"
fi
check_exit "-X unknown key exits 2" 2 "$RILL" topic list -X no.such.key=1
check_exit "-X producer key on topic list exits 2" 2 "$RILL" topic list -X acks=1
check_err "the refused key is named" "acks"
check_exit "cluster status with an argument exits 2" 2 "$RILL" cluster status extra
check_exit "global -b without a value exits 2" 2 "$RILL" -b

# --- unreachable broker ------------------------------------------------------------------------
# A port that was just free: bind and release it through a short-lived rilld when possible.
dead_port=1
if [ -x "$RILLD" ]; then
    : >"$work/probe.out"
    "$RILLD" --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$work/probe" \
        >"$work/probe.out" 2>"$work/probe.err" &
    probe_pid=$!
    pids="$pids $probe_pid"
    tries=0
    while ! grep -q '^listening ' "$work/probe.out" && [ $tries -lt 200 ]; do
        tries=$((tries + 1))
        sleep 0.05
    done
    line=$(grep '^listening ' "$work/probe.out" | head -n 1)
    [ -n "$line" ] && dead_port=${line##*:}
    stop_with TERM "$probe_pid"
fi
dead="127.0.0.1:$dead_port"
# shellcheck disable=SC2086 # $fast holds several options
check_exit "topic list on an unreachable broker exits 1" 1 "$RILL" topic list -b "$dead" $fast
check_err "unreachable message names the address" "unreachable at $dead"
# shellcheck disable=SC2086
check_exit "global -b before the command works too" 1 "$RILL" -b "$dead" topic list $fast
check_err "global -b names the address" "unreachable at $dead"
# shellcheck disable=SC2086
check_exit "cluster status --json on an unreachable broker exits 1" 1 \
    "$RILL" cluster status --json -b "$dead" $fast
json "unreachable cluster status is still a JSON document" "$work/out" \
    'd["reachable"] is False and d["bootstrap_servers"] == "'"$dead"'"'
# shellcheck disable=SC2086
check_exit "consume on an unreachable broker exits 1" 1 "$RILL" consume t -b "$dead" $fast \
    --exit-at-end
check_err "consume names the address" "unreachable at $dead"
# shellcheck disable=SC2086
echo x | RILL_BROKERS="$dead" "$RILL" produce t $fast >"$work/out" 2>"$work/err"
check "produce on an unreachable broker (\$RILL_BROKERS) exits 1" 1 $?
check_err "produce names the address" "unreachable at $dead"

# --- a real broker -----------------------------------------------------------------------------
if [ ! -x "$RILLD" ]; then
    skip "broker tests: $RILLD is not built"
    echo "test_cli_broker: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
fi
: >"$work/rilld.out"
"$RILLD" --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$work/data" \
    >"$work/rilld.out" 2>"$work/rilld.err" &
rilld_pid=$!
pids="$pids $rilld_pid"
tries=0
while ! grep -q '^listening ' "$work/rilld.out" && [ $tries -lt 200 ]; do
    tries=$((tries + 1))
    sleep 0.05
done
line=$(grep '^listening ' "$work/rilld.out" | head -n 1)
if [ -z "$line" ]; then
    fail "rilld starts" "$(head -c 400 "$work/rilld.err")"
    echo "test_cli_broker: $passed passed, $failed failed, $skipped skipped"
    exit 1
fi
RILL_BROKERS=127.0.0.1:${line##*:}
export RILL_BROKERS

# shellcheck disable=SC2086
"$RILL" topic create probe $fast >"$work/out" 2>"$work/err"
probe_status=$?
if [ $probe_status -ne 0 ] && grep -q -E 'unknown API|unsupported' "$work/err"; then
    skip "broker tests: this rilld does not serve topics yet ($(head -n 1 "$work/err"))"
    echo "test_cli_broker: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
fi
check "topic create probe exits 0" 0 $probe_status
if [ $probe_status -ne 0 ]; then
    fail "topic create probe" "$(head -c 400 "$work/err")"
    echo "test_cli_broker: $passed passed, $failed failed, $skipped skipped"
    exit 1
fi

# --- cluster status ----------------------------------------------------------------------------
check_exit "cluster status exits 0" 0 "$RILL" cluster status
if grep -q 'reachable' "$work/out" && grep -q 'cluster id' "$work/out"; then
    pass "cluster status prints id and health"
else
    fail "cluster status prints id and health" "$(cat "$work/out")"
fi
check_exit "cluster status --json exits 0" 0 "$RILL" cluster status --json
json "cluster status --json" "$work/out" \
    'd["reachable"] is True and len(d["brokers"]) >= 1 and d["topic_count"] >= 1 and
     any(t["name"] == "probe" for t in d["topics"]) and isinstance(d["cluster_id"], str)'

# --- topic create / list / describe / alter / delete -------------------------------------------
check_exit "topic create orders --partitions 3" 0 "$RILL" topic create orders --partitions 3 \
    --config retention.ms=3600000
check_exit "creating it again exits 1" 1 "$RILL" topic create orders --partitions 3
check_err "already exists is said" "already exists"
check_exit "an unknown topic setting exits 1" 1 "$RILL" topic create other -c no.such.key=1
check_err "the broker's refusal is shown" "no.such.key|configuration key"
check_exit "topic list exits 0" 0 "$RILL" topic list
if grep -q '^orders ' "$work/out"; then
    pass "topic list shows orders"
else
    fail "topic list shows orders" "$(cat "$work/out")"
fi
check_exit "topic list --json exits 0" 0 "$RILL" topic list --json
json "topic list --json" "$work/out" \
    '[t["partitions"] for t in d["topics"] if t["name"] == "orders"] == [3] and
     all(t["name"] != "other" for t in d["topics"])'
check_exit "topic describe orders --json exits 0" 0 "$RILL" topic describe orders --json
json "topic describe --json: partitions and config" "$work/out" \
    'd["name"] == "orders" and d["partition_count"] == 3 and
     [p["partition"] for p in d["partitions"]] == [0, 1, 2] and
     all(p["start_offset"] == 0 and p["end_offset"] == 0 for p in d["partitions"]) and
     d["config"].get("retention.ms") == "3600000"'
check_exit "topic describe orders exits 0" 0 "$RILL" topic describe orders
if grep -q 'PARTITION' "$work/out" && grep -q 'retention.ms' "$work/out"; then
    pass "topic describe prints partitions and config"
else
    fail "topic describe prints partitions and config" "$(cat "$work/out")"
fi
check_exit "topic describe of an unknown topic exits 1" 1 "$RILL" topic describe nosuch
check_err "unknown topic is named" "unknown topic 'nosuch'"
check_exit "topic alter --config" 0 "$RILL" topic alter orders --config retention.bytes=1g \
    --config segment.bytes=16m
"$RILL" topic describe orders --json >"$work/out" 2>"$work/err"
json "alter took effect" "$work/out" \
    'd["config"].get("retention.bytes") == "1073741824" or d["config"].get("retention.bytes") == "1g"'
default_retention=$(python3 -c '
import json, sys
print(json.load(open(sys.argv[1]))["config"].get("retention.ms", ""))' "$work/out")
check "retention.ms still as created" 3600000 "$default_retention"
check_exit "topic alter --delete-config" 0 "$RILL" topic alter orders --delete-config retention.ms
"$RILL" topic describe orders --json >"$work/out" 2>"$work/err"
json "--delete-config returns the setting to its default" "$work/out" \
    'd["config"].get("retention.ms") != "3600000"'
check_exit "topic alter of an unknown topic exits 1" 1 "$RILL" topic alter nosuch -c segment.ms=1000
check_exit "topic delete probe" 0 "$RILL" topic delete probe
check_exit "topic delete again exits 1" 1 "$RILL" topic delete probe
check_err "deleting an unknown topic says so" "unknown topic 'probe'"
check_exit "describe after delete exits 1" 1 "$RILL" topic describe probe

# --- round trip of 100,000 keyed lines with headers and lz4 ------------------------------------
python3 -c '
for i in range(100000):
    print("key%d:value %d %s" % (i % 97, i, "x" * (i % 50)))' >"$work/input"
check_exit "produce 100,000 lines" 0 "$RILL" produce orders --key-separator : \
    --header source=test --header "n=a b" --compression lz4 --acks all <"$work/input"
check_err "produce summary counts the records" "100000 records"
check_err "produce summary: none failed" " 0 failed"
check_exit "consume them back" 0 "$RILL" consume orders --from beginning --exit-at-end \
    --format '%t|%p|%o|%k|%h|%v\n'
check "consume printed 100,000 lines" 100000 "$(wc -l <"$work/out" | tr -d ' ')"
if python3 - "$work/input" "$work/out" >"$work/check.err" 2>&1 <<'PY'
import sys
sent = [line.rstrip("\n").split(":", 1) for line in open(sys.argv[1])]
last_index = {}   # per partition: index in the input of its last record
last_offset = {}
partition_of_key = {}
seen = 0
for line in open(sys.argv[2]):
    topic, partition, offset, key, headers, value = line.rstrip("\n").split("|", 5)
    index = int(value.split(" ")[1])
    assert topic == "orders", topic
    assert [key, value] == sent[index], (line, sent[index])
    assert headers == "source=test,n=a b", headers
    p = int(partition)
    assert index > last_index.get(p, -1), ("order broken in partition", p, index)
    assert int(offset) > last_offset.get(p, -1), ("offsets not increasing", p, offset)
    assert partition_of_key.setdefault(key, p) == p, ("key in two partitions", key)
    last_index[p] = index
    last_offset[p] = int(offset)
    seen += 1
assert seen == len(sent), (seen, len(sent))
assert len(last_index) > 1, "every key went to one partition"
PY
then
    pass "content, headers, per-partition order and key placement match"
else
    fail "content, headers, per-partition order and key placement match" \
        "$(tail -n 5 "$work/check.err")"
fi
"$RILL" topic describe orders --json >"$work/describe" 2>"$work/err"
json "describe counts the 100,000 records" "$work/describe" \
    'sum(p["end_offset"] - p["start_offset"] for p in d["partitions"]) == 100000 and
     all(p["durable_offset"] <= p["end_offset"] for p in d["partitions"]) and
     d["bytes"] > 0'
p1_records=$(python3 -c '
import json, sys
print([p["end_offset"] for p in json.load(open(sys.argv[1]))["partitions"]][1])' \
    "$work/describe")
check_exit "consume --partition 1 --exit-at-end" 0 "$RILL" consume orders --partition 1 \
    --exit-at-end --format '%p\n'
check "--partition 1 prints that partition's records" "$p1_records" \
    "$(grep -c '^1$' "$work/out")"
check "--partition 1 prints nothing else" "$p1_records" "$(wc -l <"$work/out" | tr -d ' ')"
check_exit "consume --count 5" 0 "$RILL" consume orders --count 5
check "--count 5 prints 5 records" 5 "$(wc -l <"$work/out" | tr -d ' ')"
check_exit "consume --from end --exit-at-end prints nothing" 0 "$RILL" consume orders \
    --from end --exit-at-end
check "--from end: no output" "" "$(cat "$work/out")"
{
    "$RILL" consume orders --exit-at-end
    echo $? >"$work/status"
} | head -n 1 >/dev/null
check "consume into a pipe closed early exits 0" 0 "$(cat "$work/status")"

# --- --from OFFSET and @TIMESTAMP on a one-partition topic -------------------------------------
check_exit "topic create single" 0 "$RILL" topic create single
printf 'a\nb\n' | "$RILL" produce single -q >"$work/out" 2>"$work/err"
check "produce a, b" 0 $?
sleep 1.1 # the next records get a later timestamp (creation time "now")
printf 'c\nd\n' | "$RILL" produce single -q >"$work/out" 2>"$work/err"
check "produce c, d" 0 $?
stamp=$("$RILL" consume single --from 2 --count 1 --format '%T')
check "--from 2 --count 1 reads c" "c" "$("$RILL" consume single --from 2 --count 1)"
check "--from 1 --exit-at-end" "b c d" \
    "$("$RILL" consume single --from 1 --exit-at-end | tr '\n' ' ' | sed 's/ $//')"
check "--from -2 prints the last two" "c d" \
    "$("$RILL" consume single --from -2 --exit-at-end | tr '\n' ' ' | sed 's/ $//')"
check "--from -10 starts at the beginning when shorter" "a b c d" \
    "$("$RILL" consume single --from -10 --exit-at-end | tr '\n' ' ' | sed 's/ $//')"
check "--from -1 on three partitions: the last record of each" "0 1 2" \
    "$("$RILL" consume orders --from -1 --exit-at-end --format '%p\n' | sort | tr '\n' ' ' |
        sed 's/ $//')"
check "--from @TIMESTAMP starts at the first record at that time" "c d" \
    "$("$RILL" consume single --from "@$stamp" --exit-at-end | tr '\n' ' ' | sed 's/ $//')"
check "--from @future prints nothing" "" \
    "$("$RILL" consume single --from @99999999999999 --exit-at-end)"
check "format %t %p %o [%k] %v" "single 0 3 [] d" \
    "$("$RILL" consume single --from 3 --count 1 --format '%t %p %o [%k] %v')"

# --- follow mode -------------------------------------------------------------------------------
# From offset 4 (just past d) rather than "end", so that a slow start cannot miss e and f.
"$RILL" consume single --from 4 >"$work/follow" 2>"$work/follow.err" &
follow_pid=$!
pids="$pids $follow_pid"
sleep 0.3 # most likely waiting in a long poll by now; correctness does not depend on it
printf 'e\nf\n' | "$RILL" produce single -q >"$work/out" 2>"$work/err"
if wait_lines "$work/follow" 2; then
    check "follow mode prints new records as they arrive" "e f" \
        "$(tr '\n' ' ' <"$work/follow" | sed 's/ $//')"
else
    fail "follow mode prints new records as they arrive" "got: $(cat "$work/follow")"
fi
stop_with TERM "$follow_pid"
check "SIGTERM ends follow mode with exit 0" 0 "$status"

# --- --json: JSON Lines ------------------------------------------------------------------------
# Keys (one null, one empty), a value with a quote, a backslash, a control character and a tab,
# and bytes that are not UTF-8 (\377\376) beside valid UTF-8 (\303\251). Line-based input
# cannot hold a newline in a value: test_cli_json covers that, and null header values.
check_exit "topic create jsonl" 0 "$RILL" topic create jsonl
printf 'user1:hello\nno key here\nq:say "hi" \\ back\001slash\ttab\nbin:\377\376 caf\303\251\n:empty key\n' \
    >"$work/json-input"
check_exit "produce the JSON test records" 0 "$RILL" produce jsonl -k : -H source=test \
    -H "n=a b" -q <"$work/json-input"
check_exit "consume --json --exit-at-end" 0 "$RILL" consume jsonl --json --exit-at-end
cp "$work/out" "$work/json-text"
jsonl "--json: one object per line with every field" "$work/json-text" \
    'len(rows) == 5 and
     all(sorted(r) == ["headers", "key", "offset", "partition", "timestamp", "topic", "value"]
         for r in rows) and
     [(r["topic"], r["partition"], r["offset"]) for r in rows] == [("jsonl", 0, i) for i in range(5)] and
     all(isinstance(r["timestamp"], int) and r["timestamp"] > 1500000000000 for r in rows) and
     all(r["headers"] == [{"name": "source", "value": "test"}, {"name": "n", "value": "a b"}]
         for r in rows)'
jsonl "--json: keys and values, escapes, null key, U+FFFD" "$work/json-text" \
    '[(r["key"], r["value"]) for r in rows] == [
        ("user1", "hello"), (None, "no key here"),
        ("q", "say \"hi\" \\ back\x01slash\ttab"),
        ("bin", "\ufffd\ufffd caf\u00e9"), ("", "empty key")]'
jsonl "--json is compact and escapes control bytes" "$work/json-text" \
    'all(not line.startswith(b"{ ") and b"\t" not in line and b"\x01" not in line
         for line in lines) and b"\\u0001" in lines[2] and b"\\t" in lines[2]'
check_err "replaced bytes are noted on stderr once" "not valid UTF-8.*--json-encoding base64"
check "the note comes once" 1 "$(grep -c 'not valid UTF-8' "$work/err")"
check_exit "consume --json --json-encoding base64" 0 "$RILL" consume jsonl --json \
    --json-encoding base64 --exit-at-end
cp "$work/out" "$work/json-base64"
if python3 - "$work/json-input" "$work/json-base64" >"$work/check.err" 2>&1 <<'PY'
import base64, json, sys
sent = [line.split(b":", 1) if b":" in line else [None, line]
        for line in open(sys.argv[1], "rb").read().split(b"\n")[:-1]]
rows = [json.loads(line) for line in open(sys.argv[2], "rb")]
assert len(rows) == len(sent), (len(rows), len(sent))
for row, (key, value) in zip(rows, sent):
    got_key = None if row["key"] is None else base64.b64decode(row["key"], validate=True)
    assert got_key == key, (row, key)
    assert base64.b64decode(row["value"], validate=True) == value, (row, value)
    assert row["headers"] == [{"name": "source", "value": "dGVzdA=="},
                              {"name": "n", "value": "YSBi"}], row["headers"]
PY
then
    pass "--json-encoding base64 gives every byte back"
else
    fail "--json-encoding base64 gives every byte back" "$(tail -n 5 "$work/check.err")"
fi
check "base64 prints no note" "" "$(cat "$work/err")"
check_exit "consume --json --count 2" 0 "$RILL" consume jsonl --json --count 2
jsonl "--json --count 2 prints two records" "$work/out" \
    '[r["offset"] for r in rows] == [0, 1]'
check_exit "consume --json --format exits 2 (broker up)" 2 "$RILL" consume jsonl --json \
    --format '%v\n' --exit-at-end
check "nothing printed on a usage error" "" "$(cat "$work/out")"
check_exit "consume orders --json --exit-at-end" 0 "$RILL" consume orders --json --exit-at-end
jsonl "--json over 100,000 records of 3 partitions" "$work/out" \
    'len(rows) == 100000 and {r["partition"] for r in rows} == {0, 1, 2} and
     all(r["topic"] == "orders" and r["value"].startswith("value ") for r in rows)'
{
    "$RILL" consume orders --json --exit-at-end
    echo $? >"$work/status"
} | head -n 1 >"$work/head"
check "consume --json into a pipe closed early exits 0" 0 "$(cat "$work/status")"
jsonl "and the line read is whole" "$work/head" 'len(rows) == 1'
if [ -w /dev/full ]; then
    # shellcheck disable=SC2016 # $1 is expanded by the inner sh
    check_exit "consume --json onto a full device fails with 1" 1 sh -c \
        '"$1" consume jsonl --json --exit-at-end >/dev/full' sh "$RILL"
    check_err "and says why" "writing to stdout"
fi
check_exit "consume --group --json" 0 "$RILL" consume jsonl --group jsonl-g --json \
    --exit-at-end --commit none
jsonl "--group --json prints the same shape" "$work/out" \
    'len(rows) == 5 and [(r["topic"], r["partition"], r["offset"]) for r in rows] ==
     [("jsonl", 0, i) for i in range(5)] and rows[0]["key"] == "user1" and
     rows[0]["headers"][0] == {"name": "source", "value": "test"}'
check_exit "consume --group --json --commit manual --count 3" 0 "$RILL" consume jsonl \
    --group jsonl-m --json --commit manual --count 3
jsonl "--commit manual --json prints 3 records" "$work/out" \
    '[r["offset"] for r in rows] == [0, 1, 2]'
check_exit "group describe jsonl-m --json" 0 "$RILL" group describe jsonl-m --json
json "--commit manual committed what was written" "$work/out" \
    '[o["committed"] for o in d["offsets"] if o["topic"] == "jsonl"] == [3]'
check_exit "the next run resumes after it" 0 "$RILL" consume jsonl --group jsonl-m --json \
    --commit manual --exit-at-end
jsonl "and prints the rest" "$work/out" '[r["offset"] for r in rows] == [3, 4]'

# --- errors ------------------------------------------------------------------------------------
echo x | "$RILL" produce nosuch >"$work/out" 2>"$work/err"
check "produce to an unknown topic exits 1" 1 $?
check_err "produce says unknown topic" "unknown topic 'nosuch'"
echo x | "$RILL" produce single --partition 7 >"$work/out" 2>"$work/err"
check "produce to a missing partition exits 1" 1 $?
check_err "produce names the partition" "partition 7"
check_exit "consume an unknown topic exits 1" 1 "$RILL" consume nosuch --exit-at-end
check_err "consume says unknown topic" "unknown topic 'nosuch'"
check_exit "consume a missing partition exits 1" 1 "$RILL" consume single --partition 7 \
    --exit-at-end
check_exit "consume an offset past the end exits 1" 1 "$RILL" consume single --from 1000 \
    --exit-at-end
python3 -c 'print("a" * 2000000)' >"$work/big"
check_exit "a record larger than batch.bytes fails with 1" 1 "$RILL" produce single \
    --compression none <"$work/big"
check_err "the failure names the input line" "line 1: record or batch too large"
head -n 20000 "$work/input" >"$work/input20k"
check_exit "a full producer queue is waited out, not failed" 0 "$RILL" produce single \
    -X queue.records.max=100 -k : <"$work/input20k"
check_err "all 20000 delivered" "20000 delivered, 0 failed"
: | "$RILL" produce single >"$work/out" 2>"$work/err"
check "produce of empty input exits 0" 0 $?
check_err "and says 0 records" "0 records"

# --- the broker goes away while consume follows, then comes back ------------------------------
port=${RILL_BROKERS##*:}
"$RILL" topic create outage >"$work/out" 2>"$work/err"
"$RILL" consume outage -X connect.timeout.ms=500 >"$work/outage" \
    2>"$work/outage.err" &
outage_pid=$!
pids="$pids $outage_pid"
sleep 0.3
kill -KILL "$rilld_pid"
wait "$rilld_pid" 2>/dev/null
tries=0
while ! grep -q "broker unreachable" "$work/outage.err" && [ $tries -lt 200 ]; do
    tries=$((tries + 1))
    sleep 0.05
done
check "consume says when the broker is unreachable" 1 \
    "$(grep -c 'broker unreachable at 127.0.0.1' "$work/outage.err")"
: >"$work/rilld.out"
"$RILLD" --listen "127.0.0.1:$port" --http 127.0.0.1:0 --data "$work/data" \
    >"$work/rilld.out" 2>"$work/rilld.err" &
rilld_pid=$!
pids="$pids $rilld_pid"
tries=0
while ! grep -q '^listening ' "$work/rilld.out" && [ $tries -lt 200 ]; do
    tries=$((tries + 1))
    sleep 0.05
done
printf 'g\n' | "$RILL" produce outage -q >"$work/out" 2>"$work/err"
if wait_lines "$work/outage" 1; then
    check "and goes on once it is back" "g" "$(cat "$work/outage")"
else
    fail "and goes on once it is back" "got: $(cat "$work/outage")" "$(cat "$work/outage.err")"
fi
stop_with TERM "$outage_pid"
check "SIGTERM ends it with exit 0" 0 "$status"

# A request that keeps core 0 busy for longer than the connect timeout (creating 2,000
# partitions takes seconds) must not fail the connection: the client sends it only after the
# handshake was answered, so that answer never waits behind it (and the create is sent once).
check_exit "a create longer than connect.timeout.ms succeeds" 0 "$RILL" topic create wide \
    --partitions 2000 -X connect.timeout.ms=300 -X request.timeout.ms=120000
check_exit "and its partitions are all there" 0 "$RILL" topic describe wide --json
check "it has 2000 partitions" 2000 "$(grep -c '"partition":' "$work/out")"

stop_with TERM "$rilld_pid"
check "rilld stops cleanly" 0 "$status"

# `log read --json` of the partition the broker wrote: the records with their headers.
check_exit "log read --json of a broker partition" 0 "$RILL" log read "$work/data/jsonl-0" --json
jsonl "log read --json has no topic or partition, and the headers" "$work/out" \
    'len(rows) == 5 and
     all(sorted(r) == ["headers", "key", "offset", "timestamp", "value"] for r in rows) and
     [r["offset"] for r in rows] == list(range(5)) and rows[1]["key"] is None and
     rows[3]["value"] == "\ufffd\ufffd caf\u00e9" and
     rows[4]["headers"] == [{"name": "source", "value": "test"}, {"name": "n", "value": "a b"}]'
check_exit "log read --json --json-encoding base64" 0 "$RILL" log read "$work/data/jsonl-0" \
    --json --json-encoding base64 --from 3 --count 1
jsonl "base64 from log read" "$work/out" \
    'len(rows) == 1 and base64.b64decode(rows[0]["value"]) == b"\xff\xfe caf\xc3\xa9" and
     rows[0]["headers"][0]["value"] == "dGVzdA=="'
echo "test_cli_broker: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
