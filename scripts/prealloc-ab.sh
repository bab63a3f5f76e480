#!/bin/sh
# scripts/prealloc-ab.sh BUILD [ROUNDS] - segment.preallocate.bytes off (0) against on (the
# default), alternating, with one build: docs/benchmarks.md "Segment preallocation".
# Each round runs, for off then on, each workload on a fresh rilld (port 0, temp dir, stopped by
# PID) and prints one line per run: workload, setting, round, the client's latency percentiles
# (us) or throughput, and the broker's rill_log_sync_seconds quantiles (us) read from /metrics
# after the run (linear interpolation inside the bucket, like Prometheus histogram_quantile).
#   produce  rill bench produce at 100,000 records/s of 100 B, acks=all, 8 s after 1 s warm-up
#   e2e      rill bench e2e, the same options
#   tput100  rill bench produce --records 3000000 --size 100 --acks all --compression none
#   tput1k   rill bench produce --records 1000000 --size 1024 --acks all --compression none
# All on a topic with flush=always. WORKLOADS="produce e2e" limits the set.
set -eu
build=$1
rounds=${2:-3}
workloads=${WORKLOADS:-produce e2e tput100 tput1k}
quantiles='
import re, sys
text = open(sys.argv[1]).read()
rows = [(float("inf") if le == "+Inf" else float(le), float(v)) for le, v in
        re.findall(r"^rill_log_sync_seconds_bucket\{le=\"([^\"]+)\"\} (\S+)$", text, re.M)]
total = rows[-1][1]
out = ["syncs=%d" % total]
for q in (0.5, 0.99, 0.999):
    rank, low, below = q * total, 0.0, 0.0
    for le, count in rows:
        if count >= rank:
            high = le if le != float("inf") else low
            value = low + (high - low) * ((rank - below) / (count - below) if count > below else 0)
            out.append("sync_p%g=%.0f" % (q * 100, value * 1e6))
            break
        low, below = le, count
print(" ".join(out))
'
run() {
    workload=$1 setting=$2 round=$3
    dir=$(mktemp -d)
    "$build/rilld" --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$dir/data" >"$dir/out" 2>"$dir/err" &
    pid=$!
    tries=0
    while ! grep -q '^http' "$dir/out" && [ $tries -lt 100 ]; do
        sleep 0.05
        tries=$((tries + 1))
    done
    port=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/out")
    http=$(sed -n 's/^http 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/out")
    config="--topic t --topic-config flush=always --topic-config segment.preallocate.bytes=$setting"
    case $workload in
    produce) args="produce $config --rate 100000 --duration 8 --warmup 1s --size 100 --acks all" ;;
    e2e) args="e2e $config --rate 100000 --duration 8 --warmup 1s --size 100 --acks all" ;;
    tput100) args="produce $config --records 3000000 --size 100 --acks all --compression none" ;;
    tput1k) args="produce $config --records 1000000 --size 1024 --acks all --compression none" ;;
    esac
    # shellcheck disable=SC2086
    "$build/rill" bench $args -b "127.0.0.1:$port" --json 2>/dev/null >"$dir/json" || true
    curl -s "127.0.0.1:$http/metrics" >"$dir/metrics" || true
    client=$(python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print('records_per_s=%.0f' % d['records_per_sec'], ' '.join('%s=%s' % (k, v) for k, v in d['latency_us'].items()))" "$dir/json" 2>/dev/null || echo "client=failed")
    sync=$(python3 -c "$quantiles" "$dir/metrics" 2>/dev/null || echo "sync=failed")
    echo "$workload $setting $round $client $sync"
    kill "$pid"
    wait "$pid" || true
    rm -rf "$dir"
}
i=1
while [ "$i" -le "$rounds" ]; do
    for workload in $workloads; do
        run "$workload" 0 "$i"
        run "$workload" 8m "$i"
    done
    i=$((i + 1))
done
