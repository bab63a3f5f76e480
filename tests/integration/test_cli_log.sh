#!/bin/sh
# test_cli_log.sh - `rill log append|read|dump` end to end through the CLI binary in $RILL:
# round trips (plain, keyed, lz4), offsets, --from/--count, dump on a healthy and on a damaged
# segment, and the exit codes scripts rely on (0 ok, 1 failure, 2 bad command line).
#   RILL=build/rill sh tests/integration/test_cli_log.sh
set -u
: "${RILL:?set RILL to the rill binary}"
if [ ! -x "$RILL" ]; then
    echo "test_cli_log: $RILL is not an executable" >&2
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/test_cli_log.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
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

# The largest *.log file in a log directory: a segment.
segment_of() {
    # shellcheck disable=SC2012 # segment names are digits and ".log"
    ls -S "$1"/*.log 2>/dev/null | head -n 1
}

# --- append and read back ------------------------------------------------------------------
log=$work/plain
i=0
while [ $i -lt 1000 ]; do
    echo "line $i with some text $((i * 7))"
    i=$((i + 1))
done >"$work/input"
check "append 1000 lines" "appended 1000 records at offsets 0..999" \
    "$("$RILL" log append "$log" <"$work/input" 2>&1)"
"$RILL" log read "$log" >"$work/read" 2>"$work/err"
check "read exits 0" 0 $?
if cmp -s "$work/input" "$work/read"; then
    pass "read back equals input"
else
    fail "read back equals input" "$(diff "$work/input" "$work/read" | head -n 5)"
fi
check "append continues the offsets" "appended 2 records at offsets 1000..1001" \
    "$(printf 'a\nb\n' | "$RILL" log append "$log" 2>&1)"

# --- --from / --count / --format ------------------------------------------------------------
check "--from 2 --count 3 with %o" "2:line 2 with some text 14
3:line 3 with some text 21
4:line 4 with some text 28" "$("$RILL" log read "$log" --from 2 --count 3 --format '%o:%v\n')"
check "--from -2 reads the last two" "a
b" "$("$RILL" log read "$log" --from -2)"
check "--count 0 prints nothing" "" "$("$RILL" log read "$log" --count 0)"
check "--from the end prints nothing" "" "$("$RILL" log read "$log" --from 1002)"
check_exit "--from past the end fails with 1" 1 "$RILL" log read "$log" --from 5000
# shellcheck disable=SC1003 # '\\' is printf's backslash, not a quote escape
check "format escapes and %%" "$(printf '1000%%\ta\\')" \
    "$("$RILL" log read "$log" --from 1000 --count 1 --format '%o%%\t%v\\\n')"

check "--from-time 0 starts at offset 0" "0" \
    "$("$RILL" log read "$log" --from-time 0 --count 1 --format '%o')"
time_ms=$("$RILL" log read "$log" --from 1000 --count 1 --format '%T')
check "--from-time finds the first record at that time" "$time_ms" \
    "$("$RILL" log read "$log" --from-time "$time_ms" --count 1 --format '%T')"
check "--from-time in the future prints nothing" "" \
    "$("$RILL" log read "$log" --from-time 99999999999999)"

{
    "$RILL" log read "$log"
    echo $? >"$work/status"
} | head -n 1 >/dev/null
check "read into a pipe closed early exits 0" 0 "$(cat "$work/status")"
if [ -w /dev/full ]; then
    # shellcheck disable=SC2016 # $1 and $2 are expanded by the inner sh
    check_exit "read onto a full device fails with 1" 1 sh -c '"$1" log read "$2" >/dev/full' \
        sh "$RILL" "$log"
fi

# --- keys -----------------------------------------------------------------------------------
keyed=$work/keyed
printf 'user1:hello\nuser2:wor:ld\nno key here\n:empty key\n' >"$work/keyed-input"
check "append with --key-separator" "appended 4 records at offsets 0..3" \
    "$("$RILL" log append "$keyed" --key-separator : <"$work/keyed-input" 2>&1)"
check "%k and %v split at the first separator" "[user1]=[hello]
[user2]=[wor:ld]
[]=[no key here]
[]=[empty key]" "$("$RILL" log read "$keyed" --format '[%k]=[%v]\n')"
check "multi-character separator" "appended 1 records at offsets 4..4" \
    "$(echo 'k1::v1' | "$RILL" log append "$keyed" --key-separator '::' 2>&1)"
check "multi-character separator splits" "k1 v1" \
    "$("$RILL" log read "$keyed" --from 4 --format '%k %v\n')"

# --- lz4 ------------------------------------------------------------------------------------
lz4=$work/lz4
check "append with lz4" "appended 1000 records at offsets 0..999" \
    "$("$RILL" log append "$lz4" --compression lz4 --batch-records 100 <"$work/input" 2>&1)"
"$RILL" log read "$lz4" >"$work/read-lz4" 2>"$work/err"
if cmp -s "$work/input" "$work/read-lz4"; then
    pass "lz4 round trip"
else
    fail "lz4 round trip" "$(head -c 400 "$work/err")"
fi
"$RILL" log dump "$lz4" >"$work/dump-lz4" 2>&1
if grep -q 'codec lz4' "$work/dump-lz4"; then
    pass "dump shows codec lz4"
else
    fail "dump shows codec lz4" "$(head -n 5 "$work/dump-lz4")"
fi

# --- long lines and empty input -------------------------------------------------------------
long=$work/long
head -c 300000 /dev/zero | tr '\0' 'x' >"$work/long-input"
echo >>"$work/long-input"
echo short >>"$work/long-input"
check "a 300000-byte line" "appended 2 records at offsets 0..1" \
    "$("$RILL" log append "$long" <"$work/long-input" 2>&1)"
"$RILL" log read "$long" >"$work/long-read"
if cmp -s "$work/long-input" "$work/long-read"; then
    pass "long line round trip"
else
    fail "long line round trip" "sizes $(wc -c <"$work/long-input") vs $(wc -c <"$work/long-read")"
fi
check "batches split to fit max.batch.bytes" "appended 1000 records at offsets 0..999" \
    "$("$RILL" log append "$work/small-batches" --config max.batch.bytes=4k \
        <"$work/input" 2>&1)"
check "empty stdin" "appended 0 records" "$("$RILL" log append "$work/empty" </dev/null 2>&1)"
check "read of an empty log" "" "$("$RILL" log read "$work/empty")"

# --- dump -----------------------------------------------------------------------------------
check_exit "dump of a healthy log exits 0" 0 "$RILL" log dump "$log"
if grep -q '^summary: .* 0 problems$' "$work/out"; then
    pass "dump summary reports 0 problems"
else
    fail "dump summary reports 0 problems" "$(tail -n 3 "$work/out")"
fi
check_exit "dump --json exits 0" 0 "$RILL" log dump "$log" --json
segment=$(segment_of "$log")
if [ -z "$segment" ]; then
    fail "find a segment file" "no *.log file in $log: $(ls "$log")"
else
    size=$(wc -c <"$segment")
    middle=$((size / 2))
    byte=$(dd if="$segment" bs=1 skip="$middle" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
    flipped=$(((byte + 1) % 256))
    # shellcheck disable=SC2059 # the format is the octal escape being built
    printf "\\$(printf '%03o' "$flipped")" |
        dd of="$segment" bs=1 seek="$middle" count=1 conv=notrunc 2>/dev/null
    check_exit "dump of a damaged segment exits 1" 1 "$RILL" log dump "$log"
    if grep -q '^!!' "$work/out" && grep -qi 'problem' "$work/err"; then
        pass "dump reports the damage"
    else
        fail "dump reports the damage" "$(grep -v '^   ' "$work/out" | head -n 5)"
    fi
    check_exit "dump of one damaged segment file exits 1" 1 "$RILL" log dump "$segment"
fi

# --- errors and exit codes ------------------------------------------------------------------
check_exit "read of a missing directory fails with 1" 1 "$RILL" log read "$work/missing"
if grep -q 'no such log directory' "$work/err" && [ ! -e "$work/missing" ]; then
    pass "read names the problem and creates nothing"
else
    fail "read names the problem and creates nothing" "$(cat "$work/err")"
fi
check_exit "dump of a missing path fails with 1" 1 "$RILL" log dump "$work/missing"
check_exit "unknown flag exits 2" 2 "$RILL" log read "$log" --no-such-flag
check_exit "missing flag value exits 2" 2 "$RILL" log read "$log" --count
check_exit "bad --format exits 2" 2 "$RILL" log read "$log" --format '%q'
check_exit "bad --flush exits 2" 2 "$RILL" log append "$work/x" --flush sometimes
check_exit "missing DIR exits 2" 2 "$RILL" log append
check_exit "unknown command exits 2" 2 "$RILL" log frobnicate
check_exit "rill --help exits 0" 0 "$RILL" --help
check_exit "rill log append --help exits 0" 0 "$RILL" log append --help
if grep -q '^usage: rill log append' "$work/out"; then
    pass "--help prints usage to stdout"
else
    fail "--help prints usage to stdout" "$(head -n 2 "$work/out")"
fi
check_exit "rill --version exits 0" 0 "$RILL" --version

echo "test_cli_log: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
