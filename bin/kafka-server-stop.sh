#!/bin/sh
# kafka-server-stop.sh - stop the Eddy brokers started from this repository.
# Like Kafka's script it sends SIGTERM (a clean shutdown) and prints
# "No kafka server to stop" with exit 1 when there is none. Only processes
# whose executable is this repo's build/eddy or build-san/eddy are signalled.
repo="$(cd "$(dirname "$0")/.." && pwd -P)"
found=""
for exe in /proc/[0-9]*/exe; do
    target="$(readlink "$exe" 2>/dev/null)" || continue
    case "$target" in
    "$repo/build/eddy" | "$repo/build-san/eddy") ;;
    *) continue ;;
    esac
    pid="${exe#/proc/}"
    pid="${pid%/exe}"
    [ "$pid" = "$$" ] && continue
    found="$found $pid"
done
if [ -z "$found" ]; then
    echo "No kafka server to stop"
    exit 1
fi
kill -s TERM $found
