#!/bin/sh
# test_cli_log.sh - `rill log append|read|dump` end to end through the CLI binary in $RILL:
# round trips (plain, keyed, lz4), offsets, --from/--count, read --json (JSON Lines checked
# line by line by a JSON parser, text and base64), dump on a healthy and on a damaged segment,
# and the exit codes scripts rely on (0 ok, 1 failure, 2 bad command line).
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

# --- --json -----------------------------------------------------------------------------------
# Keys (one null, one empty), a quote, a backslash, control characters, and bytes that are not
# UTF-8 (\377\376) beside valid UTF-8 (\303\251). Newlines in values and headers cannot come
# from line-based append: test_cli_json covers them, and test_cli_broker covers headers.
json_log=$work/json
printf 'user1:hello\nno key here\nq:say "hi" \\ back\001slash\ttab\177\nbin:\377\376 caf\303\251\n:empty key\n' \
    >"$work/json-input"
check "append the JSON test records" "appended 5 records at offsets 0..4" \
    "$("$RILL" log append "$json_log" --key-separator : <"$work/json-input" 2>&1)"
check_exit "read --json exits 0" 0 "$RILL" log read "$json_log" --json
cp "$work/out" "$work/json-text"
jsonl "--json: one object per line with offset, timestamp, key, value, headers" \
    "$work/json-text" \
    'len(rows) == 5 and
     all(sorted(r) == ["headers", "key", "offset", "timestamp", "value"] for r in rows) and
     [r["offset"] for r in rows] == list(range(5)) and
     all(isinstance(r["timestamp"], int) and r["timestamp"] > 1500000000000 and
         r["headers"] == [] for r in rows)'
jsonl "--json: keys and values, escapes, null key, U+FFFD" "$work/json-text" \
    '[(r["key"], r["value"]) for r in rows] == [
        ("user1", "hello"), (None, "no key here"),
        ("q", "say \"hi\" \\ back\x01slash\ttab\x7f"),
        ("bin", "\ufffd\ufffd caf\u00e9"), ("", "empty key")]'
jsonl "--json is compact and escapes control bytes" "$work/json-text" \
    'all(b": " not in line and b"\x01" not in line and b"\x7f" not in line for line in lines)
     and b"\\u0001" in lines[2] and b"\\u007f" in lines[2]'
if grep -q 'not valid UTF-8.*--json-encoding base64' "$work/err" &&
    [ "$(grep -c 'not valid UTF-8' "$work/err")" -eq 1 ]; then
    pass "replaced bytes are noted on stderr, once"
else
    fail "replaced bytes are noted on stderr, once" "stderr: $(cat "$work/err")"
fi
check_exit "read --json --json-encoding base64 exits 0" 0 "$RILL" log read "$json_log" --json \
    --json-encoding base64
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
    assert row["headers"] == [], row
PY
then
    pass "--json-encoding base64 gives every byte back"
else
    fail "--json-encoding base64 gives every byte back" "$(tail -n 5 "$work/check.err")"
fi
check "base64 prints no note" "" "$(cat "$work/err")"
check_exit "read --json --from 2 --count 2" 0 "$RILL" log read "$json_log" --json --from 2 \
    --count 2
jsonl "--from and --count apply to --json" "$work/out" '[r["offset"] for r in rows] == [2, 3]'
check "--json --count 0 prints nothing" "" "$("$RILL" log read "$json_log" --json --count 0)"
check_exit "read --json of 1000 lines" 0 "$RILL" log read "$log" --json -J
jsonl "every one of the 1002 records is a JSON line" "$work/out" \
    'len(rows) == 1002 and rows[7]["value"] == "line 7 with some text 49" and
     rows[-1]["value"] == "b"'
{
    "$RILL" log read "$log" --json
    echo $? >"$work/status"
} | head -n 1 >"$work/head"
check "read --json into a pipe closed early exits 0" 0 "$(cat "$work/status")"
jsonl "and the line read is whole" "$work/head" 'len(rows) == 1 and rows[0]["offset"] == 0'
if [ -w /dev/full ]; then
    # shellcheck disable=SC2016 # $1 and $2 are expanded by the inner sh
    check_exit "read --json onto a full device fails with 1" 1 sh -c \
        '"$1" log read "$2" --json >/dev/full' sh "$RILL" "$log"
fi
check_exit "--json with --format exits 2" 2 "$RILL" log read "$json_log" --json --format '%v'
if grep -q -e '--json and --format exclude each other' "$work/err" && [ ! -s "$work/out" ]; then
    pass "--json with --format is explained, nothing printed"
else
    fail "--json with --format is explained, nothing printed" "$(cat "$work/err")"
fi
check_exit "--json-encoding hex exits 2" 2 "$RILL" log read "$json_log" --json --json-encoding hex
check_exit "--json-encoding without --json exits 2" 2 "$RILL" log read "$json_log" \
    --json-encoding base64
check_exit "read --help exits 0" 0 "$RILL" log read --help
if grep -q -e '--json ' "$work/out" && grep -q -e '--json-encoding' "$work/out"; then
    pass "read --help documents --json and --json-encoding"
else
    fail "read --help documents --json and --json-encoding" "$(head -n 3 "$work/out")"
fi

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
