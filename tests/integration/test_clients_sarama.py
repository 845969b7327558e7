"""Sarama (Go, Debian's golang-github-shopify-sarama-dev 1.22) end to end.

Sarama implements the protocol on its own, with other habits than
librdkafka, kafka-python and kafkajs. tests/integration/go/sarama_check
(built here with Debian's Go, offline, from /usr/share/gocode) checks:
every codec (20,000 records each, keys, headers and timestamps read back
exactly, in order), the idempotent producer, a two-member consumer group
with committed offsets, the admin client, and that Sarama's default
protocol version (message format v0) is refused with UNSUPPORTED_VERSION.
"""
import os
import subprocess
import sys

from clients_common import Broker, Timer
from harness import EDDY_BUILD, ROOT

SOURCE = os.path.join(ROOT, "tests", "integration", "go", "sarama_check")
BINARY = os.path.join(EDDY_BUILD, "itest", "sarama_check")


def build():
    env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode",
               GOCACHE=os.path.join(EDDY_BUILD, "go-cache"), GOFLAGS="",
               CGO_CFLAGS="-O2 -Wno-deprecated-declarations")
    os.makedirs(os.path.dirname(BINARY), exist_ok=True)
    try:
        res = subprocess.run(["go", "build", "-o", BINARY, "."], cwd=SOURCE, env=env,
                             capture_output=True, timeout=600)
    except FileNotFoundError:
        raise AssertionError("go is not installed: run scripts/setup.sh")
    assert res.returncode == 0, "go build failed:\n%s" % res.stderr.decode(errors="replace")[-3000:]


def run_check(bootstrap, check, *args):
    res = subprocess.run([BINARY, bootstrap, check] + list(args), capture_output=True, timeout=240)
    sys.stdout.write(res.stdout.decode(errors="replace"))
    assert res.returncode == 0, "sarama_check %s failed:\n%s" % (
        check, res.stderr.decode(errors="replace")[-3000:])


def main():
    with Timer("go build sarama_check"):
        build()
    config = {"log.segment.bytes": str(1 << 20), "offsets.topic.num.partitions": "4"}
    with Broker(config=config) as b:
        with Timer("every codec, 20,000 records each"):
            run_check(b.bootstrap, "roundtrip", "20000")
        with Timer("idempotent producer"):
            run_check(b.bootstrap, "idempotent", "20000")
        with Timer("consumer group of two"):
            run_check(b.bootstrap, "group")
        with Timer("admin client"):
            run_check(b.bootstrap, "admin")
        with Timer("default protocol version refused"):
            run_check(b.bootstrap, "oldformat")
    print("ok")


if __name__ == "__main__":
    main()
