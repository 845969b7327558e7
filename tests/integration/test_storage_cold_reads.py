"""A consumer far behind the page-cache budget: with drop-behind keeping only
the newest 1 MiB of the partition cached, 24 MiB are written, then read from
offset 0. Every record comes back, in order; the broker read the evicted
ranges back in on its pager thread (its log says a fetch waited for cold
spans) instead of faulting them in on the network thread; and a second
consumer reading the tail meanwhile is answered.
"""
import os
import sys
import time

import confluent_kafka as ck

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402

TOPIC = "cold"
RECORDS = 24 * 1024
VALUE = 1024


def consume(bootstrap, offset, count, timeout=60):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "cold-%f" % time.time(),
                     "enable.auto.commit": False})
    c.assign([ck.TopicPartition(TOPIC, 0, offset)])
    got = []
    deadline = time.time() + timeout
    while len(got) < count and time.time() < deadline:
        for m in c.consume(1000, 1.0):
            assert not m.error(), m.error()
            got.append((m.offset(), m.value()))
    c.close()
    return got[:count]


def main():
    config = {"eddy.log.page.cache.bytes": str(1 << 20), "eddy.log.level": "DEBUG",
              "num.partitions": "1", "log.segment.bytes": str(8 << 20)}
    with Broker(config=config) as b:
        p = ck.Producer({"bootstrap.servers": b.bootstrap, "acks": "1", "linger.ms": 5})
        for i in range(RECORDS):
            p.produce(TOPIC, value=b"%08d" % i + b"x" * (VALUE - 8), partition=0)
            if i % 1000 == 0:
                p.poll(0)
        assert p.flush(60) == 0, "producer did not deliver everything"
        # Drop-behind runs every 8 MiB appended and drops what an earlier pass wrote back.
        p.produce(TOPIC, value=b"%08d" % RECORDS + b"x" * (VALUE - 8), partition=0)
        assert p.flush(10) == 0
        time.sleep(1.0)

        tail = consume(b.bootstrap, RECORDS, 1)
        assert [o for o, _ in tail] == [RECORDS], "the tail read %r" % (tail,)
        got = consume(b.bootstrap, 0, RECORDS)
        assert len(got) == RECORDS, "read %d of %d records" % (len(got), RECORDS)
        for i, (offset, value) in enumerate(got):
            assert offset == i and value.startswith(b"%08d" % i), "record %d: offset %d, %r" % (
                i, offset, value[:8])
        log = b.output()
        assert "cold span" in log, "no fetch waited for a page-in"
        print("%d records read back from offset 0 with 1 MiB cached; %d fetches waited for a page-in"
              % (len(got), log.count("cold span")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
