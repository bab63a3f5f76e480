#!/bin/sh
# What `make demo` shows: the embedded partition log driven from the command line (no broker).
# It works in ./rill-demo, away from the broker's ./rill-data.
#   scripts/demo.sh path/to/rill
set -eu
rill=${1:?usage: scripts/demo.sh RILL_BINARY}
dir=./rill-demo/log

bold='' plain=''
if [ -t 1 ]; then
    bold=$(printf '\033[1m') plain=$(printf '\033[0m')
fi

say() {
    printf '\n%s# %s%s\n' "$bold" "$*" "$plain"
}

# Shows a command as one would type it (quoted where needed, "rill" for the binary), runs it.
run() {
    line='$'
    for word in "$@"; do
        case $word in
        "$rill") word=rill ;;
        *[!A-Za-z0-9_./:=-]*) word="'$word'" ;;
        esac
        line="$line $word"
    done
    printf '%s\n' "$line"
    "$@"
}

rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
lines='alice:signed up
bob:signed up
alice:bought a kite
carol:signed up'
say "Append four records to a new log in $dir: one per line, the key before the first ':'"
echo "$lines"
printf '$ rill log append %s --key-separator : < (the lines above)\n' "$dir"
echo "$lines" | "$rill" log append "$dir" --key-separator :

say "Read them back, with offset, timestamp and key"
run "$rill" log read "$dir" --format '%o  %T  %k -> %v\n'

say "Start at offset 2"
run "$rill" log read "$dir" --from 2

say "Inspect and verify the files on disk (every batch checksum, every index)"
run "$rill" log dump "$dir"

say "More: rill --help, rill log read --help, rill bench log --bytes 64m ($rill)"
