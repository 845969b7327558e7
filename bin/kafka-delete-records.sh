#!/bin/sh
# kafka-delete-records.sh - Kafka's command of the same name, implemented by build/kafka-delete-records
# (src/tools/kafka-delete-records.c). Builds the tool first if it is missing. $EDDY_BUILD
# (e.g. build-san, used by the test runner) selects another build directory.
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${EDDY_BUILD:-$repo/build}"
tool="$build/kafka-delete-records"
if [ ! -x "$tool" ]; then
    case "$build" in
    *build-san) make -s -C "$repo" SAN=1 "build-san/kafka-delete-records" >&2 || exit 1 ;;
    *) make -s -C "$repo" "build/kafka-delete-records" >&2 || exit 1 ;;
    esac
fi
exec "$tool" "$@"
