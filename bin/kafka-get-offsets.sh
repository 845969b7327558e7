#!/bin/sh
# kafka-get-offsets.sh - Kafka's command of the same name, implemented by build/kafka-get-offsets
# (src/tools/kafka-get-offsets.c). Builds the tool first if it is missing. $EDDY_BUILD
# (e.g. build-san, used by the test runner) selects another build directory.
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${EDDY_BUILD:-$repo/build}"
tool="$build/kafka-get-offsets"
if [ ! -x "$tool" ]; then
    case "$build" in
    *build-san) make -s -C "$repo" SAN=1 "build-san/kafka-get-offsets" >&2 || exit 1 ;;
    *) make -s -C "$repo" "build/kafka-get-offsets" >&2 || exit 1 ;;
    esac
fi
exec "$tool" "$@"
