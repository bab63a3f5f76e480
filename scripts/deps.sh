#!/bin/sh
# Make sure the build dependencies are installed; called by the Makefile before it reads
# pkg-config. On a fresh Debian 12 machine this installs the -dev packages with apt-get when
# run as root; otherwise it prints the exact command to run and fails.
#   scripts/deps.sh            libraries needed to build and test
#   scripts/deps.sh fuzz       also clang and the libFuzzer runtime
#   scripts/deps.sh compare    also the peers of bench/compare: redis-server, nats-server and
#                              their C clients (libhiredis-dev, libnats-dev)
#   scripts/deps.sh bench      also gnuplot, for the plots of make bench (never needed by tests)
set -eu
need=""
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
for pair in liburing:liburing-dev liblz4:liblz4-dev libxxhash:libxxhash-dev msgpack:libmsgpack-dev; do
    pc=${pair%%:*}
    pkg=${pair#*:}
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$pc"; then
        need="$need $pkg"
    fi
done
command -v timeout >/dev/null 2>&1 || need="$need coreutils"
if [ "${1:-}" = fuzz ]; then
    command -v clang >/dev/null 2>&1 || need="$need clang"
    [ -n "$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] ||
        need="$need libclang-rt-14-dev"
fi
if [ "${1:-}" = compare ]; then
    command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
    command -v nats-server >/dev/null 2>&1 || need="$need nats-server"
    for pair in hiredis:libhiredis-dev libnats:libnats-dev; do
        if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "${pair%%:*}"; then
            need="$need ${pair#*:}"
        fi
    done
    command -v python3 >/dev/null 2>&1 || need="$need python3"
fi
if [ "${1:-}" = bench ]; then
    command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox"
fi
[ -z "$need" ] && exit 0
cmd="apt-get update && apt-get install -y --no-install-recommends$need"
if [ "$(id -u)" -ne 0 ]; then
    echo "rill: missing build dependencies:$need" >&2
    echo "rill: install them with: sudo sh -c '$cmd'" >&2
    exit 1
fi
echo "rill: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends $need >&2
