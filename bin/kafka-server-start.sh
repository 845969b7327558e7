#!/bin/sh
# Starts an Eddy node, as Kafka's script of the same name starts a broker:
#   bin/kafka-server-start.sh [-daemon] [config/server.properties]
# Builds build/eddy first if it is missing.
set -e
root="$(cd "$(dirname "$0")/.." && pwd)"
daemon=0
if [ "$1" = "-daemon" ]; then
    daemon=1
    shift
fi
case "$1" in
    -h|--help) echo "USAGE: $0 [-daemon] [server.properties]"; exit 0 ;;
esac
if [ $# -gt 1 ]; then
    echo "USAGE: $0 [-daemon] [server.properties]" >&2
    exit 1
fi
if [ $# -eq 1 ] && [ ! -r "$1" ]; then
    echo "Config file $1 not found or not readable" >&2
    exit 1
fi
[ -x "$root/build/eddy" ] || make -s -C "$root" build/eddy >&2
if [ $daemon -eq 1 ]; then
    mkdir -p "$root/logs"
    nohup "$root/build/eddy" server "$@" >> "$root/logs/server.log" 2>&1 &
    exit 0
fi
exec "$root/build/eddy" server "$@"
