"""Producer-state snapshots bound the replay after a crash.

An idempotent producer (confluent-kafka, enable.idempotence) writes 80 MiB
to one partition; the broker snapshots its producer state beside the
segments after every 64 MiB of idempotent batches (and every minute), so a
snapshot near the end exists before any shutdown. The broker is then killed
with SIGKILL and restarted: a new idempotent producer's record lands at the
next offset, the log holds every record once, and the broker log reports no
unreadable snapshot. A partition written only by a plain producer gets
snapshots too (here at each roll of its 8 MiB segments), so that its first
use after the crash does not replay its whole log.
"""
import glob
import os
import sys

import confluent_kafka as ck
import confluent_kafka.admin  # noqa: F401

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402

TOPIC = "snaps"
RECORDS = 80 * 1024
VALUE = 1024


def produce(bootstrap, first, count, topic=TOPIC, idempotent=True, fill=b"s"):
    p = ck.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": idempotent, "linger.ms": 5})
    for i in range(first, first + count):
        while True:
            try:
                p.produce(topic, value=b"%08d" % i + fill * (VALUE - 8), partition=0)
                break
            except BufferError:
                p.poll(0.05)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(60) == 0, "producer did not deliver everything"


def snapshot_offsets(data_dir, topic=TOPIC):
    return sorted(int(os.path.basename(p).split(".")[0])
                  for p in glob.glob(os.path.join(data_dir, topic + "-0", "*.snapshot")))


def produce_plain(bootstrap, topic, count):
    admin = ck.admin.AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([ck.admin.NewTopic(topic, 1, 1, config={"segment.bytes": str(8 << 20)})])
    futures[topic].result(30)
    produce(bootstrap, 0, count, topic=topic, idempotent=False, fill=b"p")


def end_offset(bootstrap):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "snaps-check"})
    low, high = c.get_watermark_offsets(ck.TopicPartition(TOPIC, 0), timeout=10)
    c.close()
    return low, high


def main():
    with Broker(config={"num.partitions": "1"}) as b:
        produce(b.bootstrap, 0, RECORDS)
        offsets = snapshot_offsets(b.data_dir)
        assert offsets and offsets[-1] >= 60000, "no snapshot after 64 MiB: %r" % offsets
        print("snapshots while running (no shutdown yet): %r" % offsets)
        produce_plain(b.bootstrap, "plain", 20 * 1024)
        plain = snapshot_offsets(b.data_dir, "plain")
        assert plain and plain[-1] >= 15000, "no snapshot of a plain producer's partition at its rolls: %r" % plain
        print("snapshots of a partition with no idempotent producer: %r" % plain)

        b.kill9()
        b.start()
        produce(b.bootstrap, RECORDS, 1)
        assert end_offset(b.bootstrap) == (0, RECORDS + 1)
        assert "unreadable" not in b.output()
        print("after kill -9 and restart: %d records, the new one at offset %d" % (RECORDS + 1, RECORDS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
