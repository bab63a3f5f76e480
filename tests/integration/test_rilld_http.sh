#!/bin/sh
# test_rilld_http.sh - rilld's HTTP endpoint from the outside: the 'http HOST:PORT' line after
# 'listening', /health, /metrics in Prometheus text format whose request counters follow native
# requests, 404/405/431, the HTTP connection bound, the native port after HTTP abuse, the data
# directory lock (released at exit and by kill -9, with acknowledged records kept), and
# shutdown.timeout.ms cutting a client that never reads (with /health 503 during the drain).
# HTTP and the native protocol are spoken through bash's /dev/tcp, so neither curl nor python
# is needed. tests/unit/test_broker_http.c covers the same ground byte by byte.
#   RILL=build/rill sh tests/integration/test_rilld_http.sh   (rilld is found beside rill)
set -u
: "${RILL:?set RILL to the rill binary}"
RILLD="$(dirname "$RILL")/rilld"
if [ ! -x "$RILLD" ]; then
    echo "test_rilld_http: $RILLD is not built, skipping"
    exit 77
fi
if ! command -v bash >/dev/null 2>&1; then
    echo "test_rilld_http: bash (for /dev/tcp) is missing, skipping"
    exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/test_rilld_http.XXXXXX") || exit 1
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

# check NAME CONDITION-COMMAND... [-- DETAIL]: pass when the command succeeds.
check() {
    name=$1
    shift
    if "$@"; then
        pass "$name"
    else
        fail "$name"
    fi
}

forget_pid() {
    remaining=""
    for other in $pids; do
        [ "$other" = "$1" ] || remaining="$remaining $other"
    done
    pids=$remaining
}

# start NAME ARGS...: rilld in the background, stdout in $work/NAME.out; sets $pid.
start() {
    name=$1
    shift
    "$RILLD" "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    pids="$pids $pid"
}

# wait_ports NAME: polls (10 s) for the 'listening' and 'http' lines; sets $port and $http_port.
wait_ports() {
    port="" http_port=""
    tries=0
    while [ $tries -lt 200 ]; do
        if [ "$(grep -c -e '^listening ' -e '^http ' "$work/$1.out" 2>/dev/null)" = 2 ]; then
            line=$(grep '^listening ' "$work/$1.out")
            port=${line##*:}
            line=$(grep '^http ' "$work/$1.out")
            http_port=${line##*:}
            return 0
        fi
        tries=$((tries + 1))
        sleep 0.05
    done
    return 1
}

exited() {
    [ ! -r "/proc/$1/stat" ] && return 0
    state=$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)
    [ "$state" = Z ]
}

# wait_exit PID SECONDS: waits for the exit, SIGKILL past the bound; sets $status (137: killed).
wait_exit() {
    tries=0
    while ! exited "$1" && [ $tries -lt $(($2 * 20)) ]; do
        tries=$((tries + 1))
        sleep 0.05
    done
    if ! exited "$1"; then
        kill -KILL "$1"
    fi
    wait "$1"
    status=$?
    forget_pid "$1"
}

# http_raw PORT REQUEST OUT: sends REQUEST (a printf format) on a new connection and saves the
# whole reply, read until the server closes.
http_raw() {
    timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
printf "$2" >&3
cat <&3' _ "$1" "$2" >"$3" 2>/dev/null
}

# http_get PORT PATH OUT
http_get() {
    http_raw "$1" "GET $2 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n" "$3"
}

# status_of FILE: the status code of a saved reply.
status_of() {
    head -n 1 "$1" | cut -d' ' -f2
}

# body_of FILE: the body of a saved reply (after the empty line).
body_of() {
    tr -d '\r' <"$1" | sed '1,/^$/d'
}

# handshake PORT: one native HANDSHAKE ([0, 1, 5] ["t", "1"]); true when the answer starts.
handshake() {
    timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
printf "\000\000\000\011\223\000\001\005\222\241t\2411" >&3
[ "$(head -c 4 <&3 | od -An -tx1 | tr -d " \n")" != "" ]' _ "$1"
}

# metric PORT SERIES: the value of one sample of /metrics (empty when absent).
metric() {
    http_get "$1" /metrics "$work/metric.reply"
    body_of "$work/metric.reply" | awk -v series="$2" '$1 == series { print $2; exit }'
}

# valid_exposition FILE: every line is a HELP/TYPE comment or a sample whose family was typed
# before; counters end in _total; histograms have _bucket, _sum and _count.
valid_exposition() {
    awk '
    /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* / { next }
    /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$/ {
        type[$3] = $4
        if ($4 == "counter" && $3 !~ /_total$/) { print "counter without _total: " $3; bad = 1 }
        next
    }
    /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEInfNa]+$/ {
        name = $0; sub(/[{ ].*/, "", name)
        family = name
        if (!(family in type)) { sub(/_(bucket|sum|count)$/, "", family) }
        if (!(family in type)) { print "sample before its TYPE: " $0; bad = 1 }
        if (type[family] == "histogram") { seen[family "/" substr(name, length(family) + 1)] = 1 }
        samples++
        next
    }
    { print "not exposition format: " $0; bad = 1 }
    END {
        for (f in type) {
            if (type[f] == "histogram" && !(seen[f "/_bucket"] && seen[f "/_sum"] && seen[f "/_count"])) {
                print "incomplete histogram " f; bad = 1
            }
        }
        if (samples == 0) { print "no samples"; bad = 1 }
        exit bad
    }' "$1"
}

# --- start: the lines, /health, /metrics --------------------------------------------------------
start a --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$work/a"
a_pid=$pid
if wait_ports a && [ "$(head -n 1 "$work/a.out" | cut -d' ' -f1)" = listening ]; then
    pass "prints 'listening 127.0.0.1:PORT' then 'http 127.0.0.1:PORT'"
else
    fail "prints 'listening 127.0.0.1:PORT' then 'http 127.0.0.1:PORT'" \
        "stdout: $(cat "$work/a.out")" "stderr: $(head -c 400 "$work/a.err")"
    echo "test_rilld_http: $passed passed, $failed failed, 0 skipped"
    exit 1
fi

http_get "$http_port" /health "$work/health"
if [ "$(status_of "$work/health")" = 200 ] &&
    body_of "$work/health" | grep -q '^{"status":"ok",'; then
    pass "/health: 200 and {\"status\":\"ok\",...}"
else
    fail "/health: 200 and {\"status\":\"ok\",...}" "$(head -c 400 "$work/health")"
fi

http_get "$http_port" /metrics "$work/metrics"
body_of "$work/metrics" >"$work/metrics.txt"
if [ "$(status_of "$work/metrics")" = 200 ] &&
    grep -q '^Content-Type: text/plain; version=0.0.4' "$work/metrics"; then
    pass "/metrics: 200, text/plain version=0.0.4"
else
    fail "/metrics: 200, text/plain version=0.0.4" "$(head -c 400 "$work/metrics")"
fi
if problems=$(valid_exposition "$work/metrics.txt"); then
    pass "/metrics parses as Prometheus text"
else
    fail "/metrics parses as Prometheus text" "$(echo "$problems" | head -n 5)"
fi
missing=""
for name in rill_api_requests_total rill_api_errors_total rill_api_received_bytes_total \
    rill_api_sent_bytes_total rill_api_latency_seconds_bucket rill_api_latency_seconds_sum \
    rill_api_latency_seconds_count rill_connections_open rill_connections_accepted_total \
    rill_connections_refused_total rill_http_requests_total \
    rill_http_connections_refused_total rill_uptime_seconds rill_build_info rill_broker_info; do
    grep -q "^$name[{ ]" "$work/metrics.txt" || missing="$missing $name"
done
if [ -z "$missing" ]; then
    pass "/metrics has every broker metric"
else
    fail "/metrics has every broker metric" "missing:$missing"
fi

series='rill_api_requests_total{api="handshake"}'
before=$(metric "$http_port" "$series")
handshake "$port" && handshake "$port" && handshake "$port"
after=$(metric "$http_port" "$series")
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -eq $((before + 3)) ]; then
    pass "request counters follow native requests ($before -> $after)"
else
    fail "request counters follow native requests" "before '$before' after '$after'"
fi

# --- errors ------------------------------------------------------------------------------------
http_get "$http_port" /nope "$work/404"
check "404 for another path" [ "$(status_of "$work/404")" = 404 ]
http_raw "$http_port" "DELETE /metrics HTTP/1.1\r\nHost: a\r\n\r\n" "$work/405"
if [ "$(status_of "$work/405")" = 405 ] && grep -q '^Allow: GET' "$work/405"; then
    pass "405 with 'Allow: GET' for another method"
else
    fail "405 with 'Allow: GET' for another method" "$(head -c 300 "$work/405")"
fi
big=$(head -c 9000 /dev/zero | tr '\0' x)
http_raw "$http_port" "GET /health HTTP/1.1\r\nHost: a\r\nX-Big: $big\r\n\r\n" "$work/431"
check "431 for a head over 8 KiB" [ "$(status_of "$work/431")" = 431 ]
http_raw "$http_port" "GET /health\r\n\r\n" "$work/400"
check "400 for a malformed request line" [ "$(status_of "$work/400")" = 400 ]

# --- many idle HTTP connections: bounded, and the native port is still served ----------------
timeout 20 bash -c 'fds=""
for i in $(seq 1 90); do exec {fd}<>"/dev/tcp/127.0.0.1/$1" && fds="$fds $fd"; done
sleep 2' _ "$http_port" 2>/dev/null &
holder=$!
pids="$pids $holder"
sleep 1
if handshake "$port"; then
    pass "native port served while HTTP connections are held"
else
    fail "native port served while HTTP connections are held"
fi
wait "$holder"
forget_pid "$holder"
tries=0
while :; do
    refused=$(metric "$http_port" rill_http_connections_refused_total)
    [ -n "$refused" ] && [ "$refused" -ge 26 ] && break
    [ $tries -ge 20 ] && break
    tries=$((tries + 1))
    sleep 0.25
done
if [ -n "$refused" ] && [ "$refused" -ge 26 ]; then
    pass "HTTP connections past 64 are refused ($refused of 90)"
else
    fail "HTTP connections past 64 are refused" "refused '$refused'"
fi
http_get "$http_port" /health "$work/health2"
check "/health still answers after the flood" [ "$(status_of "$work/health2")" = 200 ]
check "native port still served after HTTP abuse" handshake "$port"

# --- data directory lock ---------------------------------------------------------------------
timeout 10 "$RILLD" --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$work/a" \
    >"$work/second.out" 2>"$work/second.err"
status=$?
if [ "$status" -eq 1 ] && grep -q "in use by another rilld" "$work/second.err"; then
    pass "a second rilld on the same --data exits 1 and says why"
else
    fail "a second rilld on the same --data exits 1 and says why" "status $status" \
        "stderr: $(head -c 300 "$work/second.err")"
fi
check "the first broker still serves" handshake "$port"

kill -TERM "$a_pid"
wait_exit "$a_pid" 10
check "SIGTERM: clean exit 0" [ "$status" -eq 0 ]
start a2 --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$work/a"
if wait_ports a2; then
    pass "the lock is released at exit"
else
    fail "the lock is released at exit" "stderr: $(head -c 300 "$work/a2.err")"
fi
# Records acknowledged (acks=all) before a kill -9 are there after the restart.
"$RILL" -b "127.0.0.1:$port" topic create crash --partitions 2 >/dev/null 2>"$work/create.err"
printf 'a:1\nb:2\nc:3\n' | "$RILL" -b "127.0.0.1:$port" produce crash --key-separator : -q \
    2>"$work/produce.err"
produced=$?
kill -KILL "$pid"
wait_exit "$pid" 10
start a3 --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$work/a"
if wait_ports a3 && handshake "$port"; then
    pass "after kill -9 the directory is served again at once"
else
    fail "after kill -9 the directory is served again at once" \
        "stderr: $(head -c 300 "$work/a3.err")"
fi
timeout 20 "$RILL" -b "127.0.0.1:$port" consume crash --from beginning --exit-at-end \
    --format '%k=%v\n' 2>"$work/consume.err" | sort >"$work/consumed"
if [ "$produced" -eq 0 ] && [ "$(tr '\n' ' ' <"$work/consumed")" = "a=1 b=2 c=3 " ]; then
    pass "acknowledged records survive kill -9"
else
    fail "acknowledged records survive kill -9" "produce exit $produced" \
        "consumed: $(tr '\n' ' ' <"$work/consumed")" "$(head -c 300 "$work/create.err")" \
        "$(head -c 300 "$work/produce.err")" "$(head -c 300 "$work/consume.err")"
fi
kill -TERM "$pid"
wait_exit "$pid" 10
check "restarted broker: clean exit 0" [ "$status" -eq 0 ]

# --- shutdown.timeout.ms cuts a client that never reads --------------------------------------
printf 'shutdown.timeout.ms = 1500\n' >"$work/short.conf"
start b --config "$work/short.conf" --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$work/b"
b_pid=$pid
wait_ports b
# Pipelines handshakes (blocking writes) and never reads: the broker's sends fill up, then it
# stops reading this connection.
timeout 60 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
chunk=""
for i in $(seq 1 200); do chunk="$chunk\000\000\000\011\223\000\001\005\222\241t\2411"; done
while printf "$chunk" >&3; do :; done' _ "$port" 2>/dev/null &
writer=$!
pids="$pids $writer"
# Stuck once the broker stops reading it: the handshake count stops moving (30 s bound).
series='rill_api_requests_total{api="handshake"}'
last=-1
tries=0
while [ $tries -lt 60 ]; do
    sleep 0.5
    now=$(metric "$http_port" "$series")
    [ -n "$now" ] && [ "$now" -gt 0 ] && [ "$now" = "$last" ] && break
    last=$now
    tries=$((tries + 1))
done
kill -TERM "$b_pid"
http_get "$http_port" /health "$work/health503"
if [ "$(status_of "$work/health503")" = 503 ] &&
    body_of "$work/health503" | grep -q '"status":"shutting_down"'; then
    pass "/health: 503 while connections drain"
else
    fail "/health: 503 while connections drain" "$(head -c 300 "$work/health503")"
fi
wait_exit "$b_pid" 15
if [ "$status" -eq 0 ]; then
    pass "a client that never reads does not hold rilld past shutdown.timeout.ms"
else
    fail "a client that never reads does not hold rilld past shutdown.timeout.ms" \
        "status $status" "stderr: $(head -c 400 "$work/b.err")"
fi
kill -KILL "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
forget_pid "$writer"

echo "test_rilld_http: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
