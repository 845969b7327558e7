#!/bin/sh
# Installs what Eddy needs to build and test on Debian bookworm (run as root).
# Only missing packages are installed, so a second run costs a second.
set -e
cd "$(dirname "$0")/.."

PKGS="build-essential clang pkg-config zlib1g-dev libzstd-dev liblz4-dev libsnappy-dev
libssl-dev librdkafka-dev kcat python3 python3-kafka python3-confluent-kafka
python3-snappy python3-lz4 python3-zstandard nodejs npm procps iproute2 strace
golang-go golang-github-shopify-sarama-dev"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# nodejs may come from another source than Debian (it brings its own npm).
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    missing=$(echo "$missing" | tr ' ' '\n' | grep -v -x -e nodejs -e npm | tr '\n' ' ')
fi
if [ -n "$(echo $missing)" ]; then
    echo "setup: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing
fi

# kafkajs for the integration tests (npm registry), pinned in tests/js/package.json.
if [ ! -f tests/js/node_modules/.package-lock.json ] ||
   [ tests/js/package-lock.json -nt tests/js/node_modules/.package-lock.json ]; then
    (cd tests/js && npm install --no-audit --no-fund --silent)
fi
