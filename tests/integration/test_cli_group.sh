#!/bin/sh
# test_cli_group.sh - consumer groups from the command line against a real rilld: rill group
# list/describe (text and --json, checked by a JSON parser), consume --group with each commit
# mode and a second run resuming from the committed offset, two groups fanning out, several
# topics and --pattern, reset-offsets (a dry run changes nothing, --execute does, refused while
# a member is live), and delete. Without a broker that serves groups, only the command-line
# checks run.
#   RILL=build/rill sh tests/integration/test_cli_group.sh   (rilld is found beside rill)
set -u
: "${RILL:?set RILL to the rill binary}"
RILLD="$(dirname "$RILL")/rilld"
if [ ! -x "$RILL" ]; then
    echo "test_cli_group: $RILL is not an executable" >&2
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/test_cli_group.XXXXXX") || exit 1
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

finish() {
    echo "test_cli_group: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
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

# check_out NAME PATTERN: the last command's stdout contains PATTERN (grep -E).
check_out() {
    if grep -q -E -e "$2" "$work/out"; then
        pass "$1"
    else
        fail "$1" "stdout lacks /$2/" "stdout: $(head -c 600 "$work/out")"
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

# committed GROUP TOPIC PARTITION: the committed offset ("none" when none) from describe --json.
# A group the broker forgot (no members, no commits) has none either.
committed() {
    "$RILL" group describe "$1" --json >"$work/describe" 2>"$work/describe.err" || {
        if grep -q "unknown group" "$work/describe.err"; then
            echo none
        else
            echo error
        fi
        return
    }
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
rows = [o for o in d["offsets"] if o["topic"] == sys.argv[2] and o["partition"] == int(sys.argv[3])]
print("none" if not rows or rows[0]["committed"] is None else rows[0]["committed"])
' "$work/describe" "$2" "$3"
}

# members GROUP: the member count from describe --json (0 for an unknown group).
members() {
    if "$RILL" group describe "$1" --json >"$work/members" 2>/dev/null; then
        python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["members"]))' \
            "$work/members"
    else
        echo 0
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

# lines FILE: the lines of FILE joined by spaces.
lines() {
    tr '\n' ' ' <"$1" | sed 's/ $//'
}

# --- the command line, no broker needed --------------------------------------------------------
for command in "group" "group list" "group describe" "group reset-offsets" "group delete"; do
    # shellcheck disable=SC2086 # the command words are split on purpose
    check_exit "rill $command --help exits 0" 0 "$RILL" $command --help
    if grep -q '^usage: rill' "$work/out"; then
        pass "rill $command --help prints a usage"
    else
        fail "rill $command --help prints a usage" "$(head -n 3 "$work/out")"
    fi
done
check_exit "rill --help names the group commands" 0 "$RILL" --help
check_out "rill --help lists group" "group list"
check_exit "group without a command exits 2" 2 "$RILL" group
check_exit "unknown group command exits 2" 2 "$RILL" group frobnicate
check_exit "group describe without GROUP exits 2" 2 "$RILL" group describe
check_exit "group describe '' exits 2" 2 "$RILL" group describe ''
check_exit "group list with an argument exits 2" 2 "$RILL" group list extra
check_exit "reset-offsets without --topic exits 2" 2 "$RILL" group reset-offsets g --to earliest
check_err "missing --topic is said" "missing --topic"
check_exit "reset-offsets without --to exits 2" 2 "$RILL" group reset-offsets g --topic t
check_err "missing --to is said" "missing --to"
check_exit "reset-offsets --to sideways exits 2" 2 "$RILL" group reset-offsets g --topic t \
    --to sideways
check_exit "reset-offsets --to -5 exits 2" 2 "$RILL" group reset-offsets g --topic t --to -5
check_exit "reset-offsets --to @x exits 2" 2 "$RILL" group reset-offsets g --topic t --to @x
check_exit "reset-offsets --topic t:x exits 2" 2 "$RILL" group reset-offsets g --topic t:x \
    --to 0
check_exit "reset-offsets --topic t:1,1 exits 2" 2 "$RILL" group reset-offsets g --topic t:1,1 \
    --to 0
check_exit "reset-offsets --topic :1 exits 2" 2 "$RILL" group reset-offsets g --topic :1 --to 0
check_exit "group delete -X producer key exits 2" 2 "$RILL" group delete g -X acks=1
group_consume=0
if "$RILL" consume --help | grep -q -e '--group'; then
    group_consume=1
    check_exit "consume two topics without --group exits 2" 2 "$RILL" consume a b
    check_exit "consume --pattern without --group exits 2" 2 "$RILL" consume --pattern 'a.*'
    check_exit "consume --group with --partition exits 2" 2 "$RILL" consume t --group g \
        --partition 0
    check_exit "consume --group with --from OFFSET exits 2" 2 "$RILL" consume t --group g \
        --from 5
    check_exit "consume --commit sometimes exits 2" 2 "$RILL" consume t --group g \
        --commit sometimes
    check_exit "consume --commit without --group exits 2" 2 "$RILL" consume t --commit manual
    check_exit "consume --group with topics and --pattern exits 2" 2 "$RILL" consume t \
        --group g --pattern 't.*'
    check_exit "consume --group without a topic exits 2" 2 "$RILL" consume --group g
else
    skip "consume --group: this rill has no subscribe mode yet"
fi

# --- unreachable broker ------------------------------------------------------------------------
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
check_exit "group list on an unreachable broker exits 1" 1 "$RILL" group list -b "$dead" \
    -X connect.timeout.ms=1000 -X request.timeout.ms=1000
check_err "unreachable message names the address" "unreachable at $dead"
check_exit "global -b before group works too" 1 "$RILL" -b "$dead" group describe g \
    -X connect.timeout.ms=1000 -X request.timeout.ms=1000
check_err "global -b names the address" "unreachable at $dead"

# --- a real broker -----------------------------------------------------------------------------
if [ ! -x "$RILLD" ]; then
    skip "broker tests: $RILLD is not built"
    finish
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
    finish
fi
RILL_BROKERS=127.0.0.1:${line##*:}
export RILL_BROKERS

"$RILL" group list >"$work/out" 2>"$work/err"
list_status=$?
if [ $list_status -ne 0 ] && grep -q 'does not support consumer groups' "$work/err"; then
    skip "broker tests: this rilld has no group coordinator yet"
    finish
fi
check "group list on a fresh broker exits 0" 0 $list_status
check_out "group list prints a header" "^GROUP +STATE +MEMBERS"
check_exit "group list --json exits 0" 0 "$RILL" group list --json
json "group list --json: no groups yet" "$work/out" 'd["groups"] == []'
check_exit "group describe of an unknown group exits 1" 1 "$RILL" group describe nobody
check_err "unknown group is named" "unknown group 'nobody'"
check_exit "group delete of an unknown group exits 1" 1 "$RILL" group delete nobody
check_err "delete names the unknown group" "unknown group 'nobody'"
check_exit "group describe of an invalid id exits 1" 1 "$RILL" group describe 'bad/id'
check_err "invalid id is said" "invalid group id"

check_exit "topic create g1 (1 partition)" 0 "$RILL" topic create g1
check_exit "topic create g2 (2 partitions)" 0 "$RILL" topic create g2 --partitions 2
seq 0 9 | "$RILL" produce g1 -q >"$work/out" 2>"$work/err"
check "produce 0..9 to g1" 0 $?
seq 100 105 | "$RILL" produce g2 -q >"$work/out" 2>"$work/err"
check "produce 100..105 to g2" 0 $?

# --- reset-offsets and describe without consumers ----------------------------------------------
check_exit "reset-offsets dry run on a new group exits 0" 0 "$RILL" group reset-offsets admin \
    --topic g1 --to 3
check_out "the dry run prints the plan" "^g1 +0 +- +3"
check_out "the dry run says how to apply it" "--execute"
check_exit "the dry run created nothing" 1 "$RILL" group describe admin
check_exit "reset-offsets --execute creates the group" 0 "$RILL" group reset-offsets admin \
    --topic g1 --to 3 --execute
check_out "--execute says what it did" "reset 1 partition of group admin"
check "describe shows the committed offset" 3 "$(committed admin g1 0)"
check_exit "group describe admin exits 0" 0 "$RILL" group describe admin
check_out "describe prints the state" "^state +empty"
check_out "describe prints committed, watermark and lag" "^g1 +0 +3 +10 +7 +-"
check_exit "group describe admin --json exits 0" 0 "$RILL" group describe admin --json
json "describe --json" "$work/out" \
    'd["group"] == "admin" and d["state"] == "empty" and d["members"] == [] and
     d["offsets"] == [{"topic": "g1", "partition": 0, "committed": 3, "metadata": None,
                       "high_watermark": 10, "lag": 7, "member_id": None}]'
check_exit "group list --json shows it" 0 "$RILL" group list --json
json "group list --json" "$work/out" \
    'd["groups"] == [{"group": "admin", "state": "empty", "members": 0}]'
check_exit "reset-offsets to latest (dry run)" 0 "$RILL" group reset-offsets admin --topic g1 \
    --to latest
check_out "plan: 3 -> 10" "^g1 +0 +3 +10"
check "a dry run changes nothing" 3 "$(committed admin g1 0)"
check_exit "reset-offsets out of range exits 1" 1 "$RILL" group reset-offsets admin \
    --topic g1 --to 50 --execute
check_err "the partition is named" "g1/0"
check "a refused reset changes nothing" 3 "$(committed admin g1 0)"
check_exit "reset-offsets of an unknown topic exits 1" 1 "$RILL" group reset-offsets admin \
    --topic nosuch --to 0
check_err "the unknown topic is named" "unknown topic 'nosuch'"
check_exit "reset-offsets of a missing partition exits 1" 1 "$RILL" group reset-offsets admin \
    --topic g1:4 --to 0
check_exit "reset-offsets to none" 0 "$RILL" group reset-offsets admin --topic g1 --to none \
    --execute
check "none forgets the commit" none "$(committed admin g1 0)"
stamp=$("$RILL" consume g1 --from 6 --count 1 --format '%T')
check_exit "reset-offsets to @TIMESTAMP" 0 "$RILL" group reset-offsets admin --topic g1 \
    --to "@$stamp" --execute --json
json "the timestamp resolved to the first record at that time" "$work/out" \
    'd["executed"] is True and d["partitions"][0]["new"] <= 6 and
     d["partitions"][0]["current"] is None'
check_exit "group delete admin" 0 "$RILL" group delete admin
check_out "delete says so" "deleted group admin"
check_exit "describe after delete exits 1" 1 "$RILL" group describe admin

if [ $group_consume -eq 0 ]; then
    skip "consume --group tests: this rill has no subscribe mode yet"
    finish
fi

# --- consume --group: commit modes and resuming ------------------------------------------------
# The group consumers wait up to 15 s for a broker slowed down by a loaded machine, instead of
# the CLI's 3 s after which --exit-at-end gives up on an unreachable broker.
consume_g() {
    "$RILL" consume "$@" -X connect.timeout.ms=15000
}
check_exit "manual: first run --count 4" 0 consume_g g1 --group man --commit manual \
    --count 4
check "manual: first run prints 0..3" "0 1 2 3" "$(lines "$work/out")"
check "manual: committed 4 at exit" 4 "$(committed man g1 0)"
check "manual: the member left at exit" 0 "$(members man)"
check_exit "manual: second run --count 3" 0 consume_g g1 --group man --commit manual \
    --count 3
check "manual: second run resumes at 4" "4 5 6" "$(lines "$work/out")"
check_exit "manual: --exit-at-end reads the rest" 0 consume_g g1 --group man \
    --commit manual --exit-at-end
check "manual: the rest is 7 8 9" "7 8 9" "$(lines "$work/out")"
check "manual: committed the end" 10 "$(committed man g1 0)"

check_exit "auto: first run --count 3" 0 consume_g g1 --group auto --count 3
check "auto (the default): first run prints 0..2" "0 1 2" "$(lines "$work/out")"
check "auto: committed 3 at exit" 3 "$(committed auto g1 0)"
check_exit "auto: second run" 0 consume_g g1 --group auto --commit auto --count 2
check "auto: second run resumes at 3" "3 4" "$(lines "$work/out")"

check_exit "none: first run --count 3" 0 consume_g g1 --group none --commit none --count 3
check "none: first run prints 0..2" "0 1 2" "$(lines "$work/out")"
check "none: nothing committed" none "$(committed none g1 0)"
check_exit "none: second run" 0 consume_g g1 --group none --commit none --count 3
check "none: second run starts over" "0 1 2" "$(lines "$work/out")"

check_exit "--from end in a new group: nothing to read" 0 consume_g g1 --group late \
    --from end --exit-at-end
check "--from end: no output" "" "$(cat "$work/out")"
check "--from end: the end is committed" 10 "$(committed late g1 0)"

# --- two groups fan out: each reads everything -------------------------------------------------
check_exit "fan-out: group one" 0 consume_g g1 --group one --exit-at-end
check "fan-out: group one reads all 10" "0 1 2 3 4 5 6 7 8 9" "$(lines "$work/out")"
check_exit "fan-out: group two" 0 consume_g g1 --group two --exit-at-end
check "fan-out: group two reads all 10 too" "0 1 2 3 4 5 6 7 8 9" "$(lines "$work/out")"

# --- several topics, and a pattern -------------------------------------------------------------
check_exit "two topics in one group" 0 consume_g g1 g2 --group multi --exit-at-end \
    --format '%t %v\n'
check "two topics: 16 records" 16 "$(wc -l <"$work/out" | tr -d ' ')"
check "two topics: g2's records are there" 6 "$(grep -c '^g2 ' "$work/out")"
check "two topics: g2 committed partitions add up" 6 \
    "$(($(committed multi g2 0) + $(committed multi g2 1)))"
check_exit "--pattern" 0 consume_g --pattern 'g[0-9]' --group pat --exit-at-end \
    --format '%t\n'
check "--pattern: both topics" "g1 g2" "$(sort -u "$work/out" | tr '\n' ' ' | sed 's/ $//')"

# --- two members of one group share the partitions ---------------------------------------------
# held GROUP: the number of partitions each member holds, sorted, joined by spaces.
held() {
    if "$RILL" group describe "$1" --json >"$work/held" 2>/dev/null; then
        python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted(str(len(m["assignment"]) - len(m["revoking"])) for m in d["members"])))
' "$work/held"
    fi
}
# wait_held GROUP EXPECTED: polls (20 s deadline) until held GROUP prints EXPECTED.
wait_held() {
    tries=0
    while [ "$(held "$1")" != "$2" ] && [ $tries -lt 200 ]; do
        tries=$((tries + 1))
        sleep 0.1
    done
    [ "$(held "$1")" = "$2" ]
}
: >"$work/pair1"
"$RILL" consume g2 --group pair --commit manual >"$work/pair1" 2>"$work/pair1.err" &
pair1=$!
pids="$pids $pair1"
if wait_held pair "2" && wait_lines "$work/pair1" 6; then
    pass "the first member holds both partitions and reads the 6 records"
else
    fail "the first member holds both partitions and reads the 6 records" \
        "held: $(held pair)" "$(cat "$work/pair1.err")"
fi
: >"$work/pair2"
"$RILL" consume g2 --group pair --commit manual >"$work/pair2" 2>"$work/pair2.err" &
pair2=$!
pids="$pids $pair2"
if wait_held pair "1 1"; then
    pass "a second member takes one partition over"
else
    fail "a second member takes one partition over" "held: $(held pair)" \
        "$(cat "$work/pair2.err")"
fi
seq 200 204 | "$RILL" produce g2 --partition 0 -q >"$work/out" 2>"$work/err"
seq 300 304 | "$RILL" produce g2 --partition 1 -q >"$work/out" 2>"$work/err"
tries=0
while [ $(($(wc -l <"$work/pair1") + $(wc -l <"$work/pair2"))) -lt 16 ] && [ $tries -lt 400 ]; do
    tries=$((tries + 1))
    sleep 0.05
done
stop_with TERM "$pair1"
check "the first member exits 0" 0 "$status"
stop_with INT "$pair2"
check "the second member exits 0 on SIGINT" 0 "$status"
check "together they printed every record once" \
    "100 101 102 103 104 105 200 201 202 203 204 300 301 302 303 304" \
    "$(sort -n "$work/pair1" "$work/pair2" | tr '\n' ' ' | sed 's/ $//')"
if [ -s "$work/pair2" ]; then
    pass "the second member printed records of its partition"
else
    fail "the second member printed records of its partition" "$(cat "$work/pair2.err")"
fi
check "the group committed every record" 16 \
    "$(($(committed pair g2 0) + $(committed pair g2 1)))"

# --- a live member: describe shows it, reset and delete are refused ----------------------------
: >"$work/live"
"$RILL" consume g1 --group live --commit manual -X client.id=watcher >"$work/live" \
    2>"$work/live.err" &
live_pid=$!
pids="$pids $live_pid"
if wait_lines "$work/live" 10; then
    pass "a follower in group live reads the topic"
else
    fail "a follower in group live reads the topic" "$(cat "$work/live.err")"
fi
tries=0
while [ "$(members live)" != 1 ] && [ $tries -lt 200 ]; do
    tries=$((tries + 1))
    sleep 0.05
done
check "describe shows the live member" 1 "$(members live)"
check_exit "group describe live exits 0" 0 "$RILL" group describe live
check_out "describe names its client id" "watcher"
check_out "describe shows the member holding g1/0" "g1:0"
json "describe --json: the member holds g1/0 and state is stable" "$work/members" \
    'd["state"] in ("stable", "rebalancing") and d["members"][0]["client_id"] == "watcher" and
     {"topic": "g1", "partition": 0} in d["members"][0]["assignment"]'
check_exit "reset-offsets is refused while a member is live" 1 "$RILL" group reset-offsets live \
    --topic g1 --to earliest
check_err "the refusal says why" "active member"
check_exit "delete is refused while a member is live" 1 "$RILL" group delete live
check_err "delete says why" "active members"
stop_with TERM "$live_pid"
check "SIGTERM ends the group consumer with exit 0" 0 "$status"
check "it committed what it printed" 10 "$(committed live g1 0)"
check "it left the group at once" 0 "$(members live)"

check_exit "reset-offsets works once the group is empty" 0 "$RILL" group reset-offsets live \
    --topic g1 --to earliest --execute
check "reset to the beginning" 0 "$(committed live g1 0)"
check_exit "the group reads from the reset offset" 0 consume_g g1 --group live --count 2
check "after the reset: 0 1" "0 1" "$(lines "$work/out")"
check_exit "group delete live" 0 "$RILL" group delete live
check_exit "group list --json after deletes" 0 "$RILL" group list --json
json "the deleted group is gone, the others stay" "$work/out" \
    'all(g["group"] != "live" for g in d["groups"]) and
     any(g["group"] == "man" and g["state"] == "empty" for g in d["groups"])'

stop_with TERM "$rilld_pid"
check "rilld stops cleanly" 0 "$status"
finish
