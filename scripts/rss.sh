#!/bin/sh
# rilld's resident memory with many partitions (issue 5 goal: <= 32 MB idle plus <= 64 KB per
# partition). Starts rilld here (127.0.0.1, port 0, a temporary data directory, stopped by its
# PID) and prints VmRSS (and the peak VmHWM) at each step:
#   start        rilld started, no topic
#   created      one topic of PARTITIONS partitions, before any record
#   load (max)   the highest RSS sampled every 0.2 s while `rill bench produce` writes RECORDS
#                records of SIZE bytes spread over all partitions (null keys: each batch goes
#                to the next partition, round the topic), acks=1, no compression
#   after load   right after the producer finished
#   idle Ns      after IDLE seconds without clients
# One line per step, "step rss_kib hwm_kib", then the figure per partition.
#   scripts/rss.sh BUILD [PARTITIONS [RECORDS [SIZE [IDLE]]]]
set -eu
build=${1:?usage: scripts/rss.sh BUILD [PARTITIONS [RECORDS [SIZE [IDLE]]]]}
partitions=${2:-1000}
records=${3:-2000000}
size=${4:-1024}
idle=${5:-10}
rill="$build/rill"
work=$(mktemp -d "${TMPDIR:-/tmp}/rill-rss.XXXXXX")
rilld_pid=""
bench_pid=""
cleanup() {
    if [ -n "$bench_pid" ]; then
        kill -TERM "$bench_pid" 2>/dev/null || true
        wait "$bench_pid" 2>/dev/null || true
    fi
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
    echo "rss.sh: rilld did not start: $(head -c 400 "$work/rilld.err")" >&2
    exit 1
fi
brokers="127.0.0.1:${line##*:}"

# VmRSS and VmHWM of rilld in KiB.
status_kib() {
    awk -v key="$1:" '$1 == key { print $2 }' "/proc/$rilld_pid/status"
}
report() {
    echo "$1 $(status_kib VmRSS) $(status_kib VmHWM)"
}

sleep 1
report start
# Creating 1,000 partitions can outlast the client's first attempt (its retry then finds the
# topic): what counts is that the topic is there with every partition.
"$rill" topic create -b "$brokers" rss --partitions "$partitions" \
    --config flush=interval:1000 >/dev/null 2>"$work/create.err" || true
if ! "$rill" topic describe -b "$brokers" rss 2>/dev/null | grep -q "^partitions *$partitions\$"; then
    echo "rss.sh: topic rss with $partitions partitions was not created: $(cat "$work/create.err")" >&2
    exit 1
fi
sleep 1
report created
created_kib=$(status_kib VmRSS)

"$rill" bench produce -b "$brokers" --topic rss --records "$records" --size "$size" \
    --acks 1 --compression none --json >"$work/bench.json" &
bench_pid=$!
max_kib=0
while kill -0 "$bench_pid" 2>/dev/null; do
    kib=$(status_kib VmRSS)
    [ "$kib" -gt "$max_kib" ] && max_kib=$kib
    sleep 0.2
done
wait "$bench_pid"
bench_pid=""
echo "load(max) $max_kib $(status_kib VmHWM)"
report after-load
sleep "$idle"
report "idle-${idle}s"
idle_kib=$(status_kib VmRSS)
echo "# produce: $(grep -o '"mb_per_sec": [0-9.]*' "$work/bench.json")"
awk -v p="$partitions" -v c="$created_kib" -v m="$max_kib" -v i="$idle_kib" 'BEGIN {
    printf "# per partition: created %.1f KiB, under load %.1f KiB, idle after load %.1f KiB\n",
        c / p, m / p, i / p }'
