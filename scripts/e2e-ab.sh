#!/bin/sh
# scripts/e2e-ab.sh OLD_BUILD NEW_BUILD [ROUNDS] - end-to-end latency of two builds side by side.
# Each round runs, for OLD then NEW, a fresh rilld (port 0, temp dir, stopped by PID) and
# `rill bench e2e` at 100,000 records/s of 100 B, acks=all, topic flush=always, 8 s after 1 s of
# warm-up, and prints the build, the round and the latency percentiles (microseconds).
set -eu
old=$1
new=$2
rounds=${3:-3}
run() {
    build=$1 tag=$2 round=$3
    dir=$(mktemp -d)
    "$build/rilld" --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$dir/data" >"$dir/out" 2>"$dir/err" &
    pid=$!
    tries=0
    while ! grep -q '^listening' "$dir/out" && [ $tries -lt 100 ]; do
        sleep 0.05
        tries=$((tries + 1))
    done
    port=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/out")
    "$build/rill" bench e2e -b "127.0.0.1:$port" --topic e2e --topic-config flush=always \
        --rate 100000 --duration 8 --warmup 1s --size 100 --acks all --json 2>/dev/null >"$dir/json" || true
    python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(sys.argv[2], sys.argv[3], d['latency_us'])" \
        "$dir/json" "$tag" "$round" || echo "$tag $round failed"
    kill "$pid"
    wait "$pid" || true
    rm -rf "$dir"
}
i=1
while [ $i -le "$rounds" ]; do
    run "$old" old $i
    run "$new" new $i
    i=$((i + 1))
done
