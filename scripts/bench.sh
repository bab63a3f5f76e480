#!/bin/sh
# Short client benchmarks against a rilld started here (127.0.0.1, port 0, a temporary data
# directory, stopped by its PID): produce, consume and e2e with 100-byte records, as run by
# `make bench`. With gnuplot installed, plots of throughput and latency per second go to
# BUILD/bench/*.png. Extra arguments are passed to every `rill bench` run.
#   scripts/bench.sh BUILD [rill bench options...]
set -eu
build=${1:?usage: scripts/bench.sh BUILD [options]}
shift
rill="$build/rill"
work=$(mktemp -d "${TMPDIR:-/tmp}/rill-bench.XXXXXX")
rilld_pid=""
cleanup() {
    if [ -n "$rilld_pid" ]; then
        kill -TERM "$rilld_pid" 2>/dev/null || true
        wait "$rilld_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$build/rilld" --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$work/data" \
    >"$work/rilld.out" 2>"$work/rilld.err" &
rilld_pid=$!
tries=0
while ! grep -q '^listening ' "$work/rilld.out" && [ $tries -lt 200 ]; do
    tries=$((tries + 1))
    sleep 0.05
done
line=$(grep '^listening ' "$work/rilld.out" | head -n 1) || true
if [ -z "$line" ]; then
    echo "bench.sh: rilld did not start: $(head -c 400 "$work/rilld.err")" >&2
    exit 1
fi
brokers="127.0.0.1:${line##*:}"

plot() {
    if command -v gnuplot >/dev/null 2>&1; then
        mkdir -p "$build/bench"
        echo "--plot $build/bench/$1.png"
    fi
}

echo "== produce: 2,000,000 x 100 B, acks=1, no compression"
# shellcheck disable=SC2046 # plot prints either nothing or two words
"$rill" bench produce -b "$brokers" --topic bench-100 --records 2000000 --size 100 --acks 1 \
    --compression none $(plot produce) "$@"
echo "== consume: the same topic from its start"
# shellcheck disable=SC2046
"$rill" bench consume -b "$brokers" --topic bench-100 $(plot consume) "$@"
echo "== e2e: 100 B at 50,000 records/s for 5 s, acks=all"
# shellcheck disable=SC2046
"$rill" bench e2e -b "$brokers" --topic bench-e2e --duration 5 --rate 50000 --size 100 \
    --acks all --linger-ms 1 --warmup 1s $(plot e2e) "$@"
