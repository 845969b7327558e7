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

from clients_common import Timer, run_check_program
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


def main():
    with Timer("go build sarama_check"):
        build()
    config = {"log.segment.bytes": str(1 << 20), "offsets.topic.num.partitions": "4"}
    run_check_program([BINARY], [
        ("every codec, 20,000 records each", "roundtrip", "20000"),
        ("idempotent producer", "idempotent", "20000"),
        ("consumer group of two", "group"),
        ("admin client", "admin"),
        ("default protocol version refused", "oldformat"),
    ], config)
    print("ok")


if __name__ == "__main__":
    main()
