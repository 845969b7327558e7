"""@platformatic/kafka (pure JavaScript, written for Kafka 3.5-4.1) end to end.

It sends the newest request versions (Fetch v12-17 with topic ids,
ListOffsets v9, JoinGroup v9, OffsetCommit v9, ConsumerGroupHeartbeat),
those a current Java client sends and the other clients here never do.
tests/js/platformatic_check.mjs checks: four codecs (10,000 records each,
keys, headers and timestamps read back exactly, in order; zstd needs
node:zlib's zstd, which Node 20 lacks), the idempotent producer, a
two-member classic group and a two-member KIP-848 group with committed
offsets, and the admin client.

The package needs Node.js 20.19.4 or later. Debian bookworm's own nodejs is
18; on such a machine this test exits 77 and the runner reports it as
skipped, with the reason.
"""
import os
import subprocess
import sys

from clients_common import run_check_program
from harness import ROOT

SCRIPT = os.path.join(ROOT, "tests", "js", "platformatic_check.mjs")
NODE_NEEDED = (20, 19, 4)
SKIP = 77


def node_version():
    try:
        out = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout
    except FileNotFoundError:
        return None
    return tuple(int(x) for x in out.strip().lstrip("v").split(".")[:3])


def main():
    version = node_version()
    if version is None or version < NODE_NEEDED:
        print("SKIP: @platformatic/kafka needs Node.js >= %s, this machine has %s" %
              (".".join(map(str, NODE_NEEDED)), ".".join(map(str, version)) if version else "none"))
        return SKIP
    config = {"log.segment.bytes": str(1 << 20), "offsets.topic.num.partitions": "4",
              "group.initial.rebalance.delay.ms": "0"}
    run_check_program(["node", SCRIPT], [
        ("four codecs, 10,000 records each", "roundtrip", "10000"),
        ("idempotent producer", "idempotent", "10000"),
        ("classic consumer group of two", "group"),
        ("KIP-848 consumer group of two", "kip848"),
        ("admin client", "admin"),
    ], config)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
