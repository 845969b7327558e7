#!/bin/sh
# bench/run.sh - run every benchmark and print one readable report
# (`make bench` calls it after building).
#
#   bench/run.sh            full run, about 5 minutes
#   bench/run.sh --quick    about 30 seconds, small sizes
#
# 1. build/bench/broker_perf: producer, consumer and end-to-end latency on
#    librdkafka against Eddy (build/eddy, started afresh per run on a free
#    127.0.0.1 port with a temp data dir under the work dir below) and
#    librdkafka's in-memory mock cluster, side by side, Eddy/mock ratios and
#    the DESIGN.md targets marked PASS/MISS.
# 2. build/bench/log_append: the storage engine alone against raw write().
# 3. build/bench/machine_floor: the least any broker must do here (loopback
#    read + pwrite, CRC, sendfile) with no Kafka protocol, to read the CPU
#    figures of 1. against.
# 4. bench/create_stall.py: a steady producer's latency while three
#    1,000-partition topics are created and deleted (librdkafka's Python client).
#
# Sizes: see the EDDY_BENCH_* variables at the top of bench/broker_perf.c.
# EDDY_BENCH_DIR chooses the work dir (default: a new dir under $TMPDIR or
# /tmp, removed at the end). Figures are informational: this script fails
# only when a benchmark could not run at all.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${EDDY_BUILD:-$ROOT/build}
QUICK=
case "${1:-}" in
    --quick) QUICK=--quick ;;
    "") ;;
    *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac

for bin in "$BUILD/eddy" "$BUILD/bench/broker_perf" "$BUILD/bench/log_append" "$BUILD/bench/machine_floor"; do
    if [ ! -x "$bin" ]; then
        echo "bench/run.sh: $bin is missing; run make first" >&2
        exit 1
    fi
done

if [ -n "${EDDY_BENCH_DIR:-}" ]; then
    WORK=$EDDY_BENCH_DIR
    mkdir -p "$WORK"
    KEEP_WORK=1
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/eddy-bench.XXXXXX")
    KEEP_WORK=
fi
cleanup() {
    if [ -z "$KEEP_WORK" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CPUS=$(nproc 2>/dev/null || echo '?')
MEM=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
START=$(date +%s)

echo "Eddy benchmarks  $(date -u '+%Y-%m-%d %H:%M UTC')  commit $COMMIT${QUICK:+  (quick)}"
echo "machine: $CPUS vCPU ${MODEL:-unknown CPU}, $MEM RAM, kernel $(uname -r), librdkafka $(dpkg-query -W -f '${Version}' librdkafka1 2>/dev/null || echo '?')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other processes share the CPUs: figures above ~$CPUS are noisy)"
echo "work dir: $WORK ($(df -h "$WORK" | awk 'NR == 2 {print $4 " free on " $1}'))"
echo

status=0
echo "== Broker: Eddy vs librdkafka mock cluster (build/bench/broker_perf) =="
"$BUILD/bench/broker_perf" $QUICK "$BUILD/eddy" "$WORK/broker" || status=1
echo

echo "== Storage engine (build/bench/log_append) =="
if [ -n "$QUICK" ]; then
    "$BUILD/bench/log_append" "$WORK/log" 64 8 || status=1
else
    "$BUILD/bench/log_append" "$WORK/log" || status=1
fi
echo

echo "== Machine floor (build/bench/machine_floor) =="
"$BUILD/bench/machine_floor" $QUICK "$WORK/floor" || status=1
echo

echo "== Topic creation and deletion under load (bench/create_stall.py) =="
if /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null; then
    /usr/bin/python3 "$ROOT/bench/create_stall.py" "$BUILD/eddy" "$WORK/create" 2>/dev/null || status=1
else
    echo "skipped: /usr/bin/python3 has no confluent_kafka (apt-get install python3-confluent-kafka)"
fi
echo

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench/run.sh: done in $(( $(date +%s) - START )) s"
exit $status
