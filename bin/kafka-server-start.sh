#!/bin/sh
# Starts an Eddy node, as Kafka's script of the same name starts a broker:
#   bin/kafka-server-start.sh [-daemon] server.properties [--override property=value]*
# Builds build/eddy first if it is missing.
set -e
root="$(cd "$(dirname "$0")/.." && pwd)"
usage="USAGE: $0 [-daemon] server.properties [--override property=value]*"
daemon=0
if [ "$1" = "-daemon" ]; then
    daemon=1
    shift
fi
case "$1" in
    -h|--help) echo "$usage"; exit 0 ;;
esac
# Kafka's script: the config file is required, USAGE on stdout, exit 1.
if [ $# -lt 1 ]; then
    echo "$usage"
    exit 1
fi
config="$1"
shift
if [ ! -r "$config" ]; then
    echo "Config file $config not found or not readable" >&2
    exit 1
fi
overrides=""
while [ $# -gt 0 ]; do
    case "$1" in
        --override)
            case "$2" in
                *=*) overrides="$overrides$2
" ;;
                *) echo "Invalid --override '$2': expected property=value" >&2; echo "$usage" >&2; exit 1 ;;
            esac
            shift 2 ;;
        *) echo "$usage" >&2; exit 1 ;;
    esac
done
[ -x "$root/build/eddy" ] || make -s -C "$root" build/eddy >&2
# With overrides the config is the file followed by them (a later key wins),
# handed to eddy on fd 3, so no temporary file is left behind; without, the
# file itself, so that errors name it.
source="$config"
if [ -n "$overrides" ]; then
    exec 3<<CONFIG
$(cat "$config")
$overrides
CONFIG
    source=/dev/fd/3
fi
if [ $daemon -eq 1 ]; then
    mkdir -p "$root/logs"
    nohup "$root/build/eddy" server "$source" >> "$root/logs/server.log" 2>&1 &
    exit 0
fi
exec "$root/build/eddy" server "$source"
