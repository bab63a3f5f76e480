#!/bin/sh
# test_rilld_basic.sh - the rilld process from the outside: --help and --version, the exit codes
# (0 clean shutdown, 1 runtime failure, 2 bad flags or config), config files, the printed
# listening address, data dir creation, SIGTERM and SIGINT. The wire itself is covered by
# tests/unit/test_broker_wire.c.
#   RILL=build/rill sh tests/integration/test_rilld_basic.sh   (rilld is found beside rill)
set -u
: "${RILL:?set RILL to the rill binary}"
RILLD="$(dirname "$RILL")/rilld"
if [ ! -x "$RILLD" ]; then
    echo "test_rilld_basic: $RILLD is not built, skipping"
    exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/test_rilld_basic.XXXXXX") || exit 1
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

# start NAME ARGS...: runs rilld in the background with stdout in $work/NAME.out; sets $pid.
start() {
    name=$1
    shift
    "$RILLD" "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    pids="$pids $pid"
}

# wait_listening NAME: polls (10 s deadline) for the 'listening' line; sets $port or fails.
wait_listening() {
    port=""
    tries=0
    while [ $tries -lt 200 ]; do
        line=$(grep '^listening ' "$work/$1.out" 2>/dev/null | head -n 1)
        if [ -n "$line" ]; then
            port=${line##*:}
            return 0
        fi
        tries=$((tries + 1))
        sleep 0.05
    done
    return 1
}

# exited PID: true once the process is gone or a zombie (a child keeps its /proc entry until
# waited for).
exited() {
    [ ! -r "/proc/$1/stat" ] && return 0
    state=$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)
    [ "$state" = Z ]
}

# stop_with SIGNAL PID: sends SIGNAL, waits up to 5 s, then SIGKILL; sets $status (137: killed).
stop_with() {
    kill "-$1" "$2"
    tries=0
    while ! exited "$2" && [ $tries -lt 100 ]; do
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

# --- help, version, bad flags -----------------------------------------------------------------
check_exit "--help exits 0" 0 "$RILLD" --help
missing=""
for word in --listen --data --http --config --version listen data.dir http.listen broker.id \
    cluster.id connections.max inflight.max idle.timeout.ms frame.timeout.ms \
    shutdown.timeout.ms /metrics "Exit codes"; do
    grep -q -e "$word" "$work/out" || missing="$missing '$word'"
done
if [ -z "$missing" ]; then
    pass "--help documents every flag and setting"
else
    fail "--help documents every flag and setting" "missing:$missing"
fi
check_exit "--version exits 0" 0 "$RILLD" --version
if grep -q '^rilld [0-9][0-9.]*$' "$work/out"; then
    pass "--version prints the version"
else
    fail "--version prints the version" "$(cat "$work/out")"
fi
check_exit "unknown flag exits 2" 2 "$RILLD" --no-such-flag
check_exit "missing flag value exits 2" 2 "$RILLD" --listen
check_exit "bad --listen exits 2" 2 "$RILLD" --listen 127.0.0.1
check_exit "bad --listen port exits 2" 2 "$RILLD" --listen 127.0.0.1:70000
check_exit "bad --http exits 2" 2 "$RILLD" --http nowhere
check_exit "missing --config file exits 2" 2 "$RILLD" --config "$work/missing.conf"
printf 'no.such.key = 1\n' >"$work/unknown.conf"
check_exit "unknown config key exits 2" 2 "$RILLD" --config "$work/unknown.conf"
if grep -q 'unknown.conf:1' "$work/err"; then
    pass "config errors name the file and line"
else
    fail "config errors name the file and line" "$(cat "$work/err")"
fi
printf '# comment\n\nidle.timeout.ms = soon\n' >"$work/badvalue.conf"
check_exit "bad config value exits 2" 2 "$RILLD" --config "$work/badvalue.conf"
printf 'listen 127.0.0.1:0\n' >"$work/noequals.conf"
check_exit "config line without '=' exits 2" 2 "$RILLD" --config "$work/noequals.conf"

# --- start, data dir, SIGTERM -----------------------------------------------------------------
cat >"$work/good.conf" <<CONF
# every key, so that a renamed one fails here
listen = 127.0.0.1:1
data.dir = $work/not-this-one
http.listen = 127.0.0.1:0
broker.id = 3
cluster.id = test-cluster
connections.max = 100
inflight.max = 8
idle.timeout.ms = 60000
frame.timeout.ms = 5000
shutdown.timeout.ms = 2000
CONF
start a --config "$work/good.conf" --listen 127.0.0.1:0 --data "$work/nested/data" \
    --http 127.0.0.1:0
if wait_listening a; then
    pass "prints 'listening 127.0.0.1:PORT' (flags override the config file)"
else
    fail "prints 'listening 127.0.0.1:PORT' (flags override the config file)" \
        "stdout: $(cat "$work/a.out")" "stderr: $(head -c 400 "$work/a.err")"
fi
if [ -d "$work/nested/data" ] && [ ! -e "$work/not-this-one" ]; then
    pass "creates the data directory given by --data"
else
    fail "creates the data directory given by --data" "$(ls -R "$work" | head -n 20)"
fi
a_pid=$pid
a_port=$port

# --- runtime failures exit 1 ------------------------------------------------------------------
check_exit "listen address in use exits 1" 1 "$RILLD" --listen "127.0.0.1:${a_port:-1}" \
    --data "$work/b" --http 127.0.0.1:0
: >"$work/file"
check_exit "data dir that cannot be created exits 1" 1 "$RILLD" --listen 127.0.0.1:0 \
    --data "$work/file/data" --http 127.0.0.1:0

stop_with TERM "$a_pid"
if [ "$status" -eq 0 ]; then
    pass "SIGTERM: clean exit 0"
else
    fail "SIGTERM: clean exit 0" "status $status" "stderr: $(head -c 400 "$work/a.err")"
fi

start c --listen 127.0.0.1:0 --data "$work/c" --http 127.0.0.1:0
wait_listening c
stop_with INT "$pid"
if [ "$status" -eq 0 ]; then
    pass "SIGINT: clean exit 0"
else
    fail "SIGINT: clean exit 0" "status $status" "stderr: $(head -c 400 "$work/c.err")"
fi

echo "test_rilld_basic: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
