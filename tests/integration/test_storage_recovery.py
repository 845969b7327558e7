"""Damaged segment files found at start-up: a torn tail and bytes flipped in
the middle. The broker cuts the log at the first bad batch, says in its log
what it cut, and serves every record before the cut, in order.
"""
import glob
import os
import sys

import confluent_kafka as ck

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402

RECORDS = 3000


def produce(bootstrap, topic):
    p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
                     "batch.num.messages": 100})
    for i in range(RECORDS):
        p.produce(topic, value=b"%08d" % i)
    assert p.flush(30) == 0


def read_all(bootstrap, topic):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "recovery-" + topic,
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     "enable.partition.eof": True})
    c.subscribe([topic])
    got = []
    while True:
        m = c.poll(5.0)
        assert m is not None, "no end of partition reached"
        if m.error():
            if m.error().code() == ck.KafkaError._PARTITION_EOF:
                break
            raise AssertionError(m.error())
        got.append(int(m.value()))
    c.close()
    return got


def segment_of(data_dir, topic):
    files = sorted(glob.glob(os.path.join(data_dir, topic + "-0", "*.log")))
    assert files, "no segment for " + topic
    return files[-1]


def batch_starts(path):
    """File positions of every batch (baseOffset i64 + batchLength i32 framing)."""
    starts, pos = [], 0
    data = open(path, "rb").read()
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos + 8:pos + 12], "big")
        if length <= 0:
            break
        starts.append(pos)
        pos += 12 + length
    return starts, len(data)


def main():
    with Broker() as b:
        produce(b.bootstrap, "torn")
        produce(b.bootstrap, "flipped")
        b.stop()
        marker = os.path.join(b.data_dir, ".kafka_cleanshutdown")
        # Torn tail: cut the last batch in half.
        torn = segment_of(b.data_dir, "torn")
        starts, size = batch_starts(torn)
        with open(torn, "r+b") as f:
            f.truncate(starts[-1] + (size - starts[-1]) // 2)
        # Flipped bytes in the middle: corrupt a record inside a middle batch.
        flipped = segment_of(b.data_dir, "flipped")
        starts_f, _ = batch_starts(flipped)
        middle = starts_f[len(starts_f) // 2]
        with open(flipped, "r+b") as f:
            f.seek(middle + 70)
            byte = f.read(1)
            f.seek(middle + 70)
            f.write(bytes([byte[0] ^ 0xFF]))
        if os.path.exists(marker):
            os.unlink(marker)  # as after a crash: the broker must check its segments

        b.start()
        torn_got = read_all(b.bootstrap, "torn")
        flipped_got = read_all(b.bootstrap, "flipped")
        log = b.output()
        assert torn_got == list(range(len(torn_got))), "torn: not a clean prefix"
        assert 0 < len(torn_got) < RECORDS, "torn: expected a cut, got %d records" % len(torn_got)
        assert flipped_got == list(range(len(flipped_got))), "flipped: not a clean prefix"
        assert 0 < len(flipped_got) < RECORDS, "flipped: expected a cut, got %d" % len(flipped_got)
        for topic in ("torn-0", "flipped-0"):
            lines = [l for l in log.splitlines() if topic in l and ("trunc" in l.lower() or "cut" in l.lower())]
            assert lines, "no log line about what was cut in %s:\n%s" % (topic, log[-3000:])
            print(lines[0])
        # Writes continue after the cut, at the next offset.
        p = ck.Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
        p.produce("torn", value=b"%08d" % len(torn_got))
        assert p.flush(10) == 0
        assert read_all(b.bootstrap, "torn") == list(range(len(torn_got) + 1))
        print("torn: kept %d of %d records; flipped: kept %d" % (len(torn_got), RECORDS, len(flipped_got)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
