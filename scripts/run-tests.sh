#!/bin/sh
# Runs every test binary in BUILD/tests (unit, fault, fuzz replays) and every integration
# script in tests/integration under a timeout, then prints one line "N passed, N failed, N
# skipped" and exits non-zero on any failure. Binaries count their cases; a script counts one.
#   scripts/run-tests.sh BUILD [PATTERN]
set -u
build=$1
pattern=${2:-}
timeout_s=${RILL_TEST_TIMEOUT:-600}
passed=0 failed=0 skipped=0
failures=""
out=$(mktemp)
trap 'rm -f "$out"' EXIT

count() {
    # $1 name, $2 exit status, $3 output file
    line=$(grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$3" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
        s=$(echo "$line" | sed -E 's/.* ([0-9]+) skipped.*/\1/')
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
        if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
            failed=$((failed + 1))
        fi
    elif [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
    elif [ "$2" -eq 77 ]; then
        skipped=$((skipped + 1))
    else
        failed=$((failed + 1))
    fi
    if [ "$2" -ne 0 ] && [ "$2" -ne 77 ]; then
        failures="$failures $1"
        echo "---- $1 failed (exit $2):"
        tail -n 40 "$3"
    fi
}

for bin in "$build"/tests/*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    case "$name" in *"$pattern"*) ;; *) continue ;; esac
    case "$name" in
    *_replay)
        target=${name%_replay}
        timeout "$timeout_s" "$bin" "tests/fuzz/corpus/$target" >"$out" 2>&1
        ;;
    *)
        timeout "$timeout_s" "$bin" >"$out" 2>&1
        ;;
    esac
    rc=$?
    echo "$(tail -n 1 "$out" | grep -E 'passed|replayed' || echo "$name: exit $rc")"
    count "$name" "$rc" "$out"
done

for script in tests/integration/*.sh; do
    [ -f "$script" ] || continue
    name=$(basename "$script" .sh)
    case "$name" in *"$pattern"*) ;; *) continue ;; esac
    RILL="$build/rill" timeout "$timeout_s" sh "$script" >"$out" 2>&1
    rc=$?
    echo "$(tail -n 1 "$out")"
    count "$name" "$rc" "$out"
done

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
