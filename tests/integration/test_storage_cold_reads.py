"""A consumer far behind the page-cache budget: with drop-behind keeping only
the newest 1 MiB of the partition cached, 24 MiB are written, then read from
offset 0. Every record comes back, in order; the broker read the evicted
ranges back in on its pager thread (its log says a fetch waited for cold
spans) instead of faulting them in on the network thread; and a second
consumer reading the tail meanwhile is answered. Then, with the segment
evicted from the page cache again, the broker is stopped while a reader from
offset 0 waits for page-ins: it shuts down cleanly (under the sanitizers: no
use of freed partitions by a fetch resumed after its page-in, no leak).
"""
import glob
import os
import sys
import threading
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
        # Drop-behind cannot drop pages still under writeback (a busy disk, a busy
        # CI machine): finish that here so what it gave up on is out of the cache.
        evict_segments(b.data_dir)

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

        evict_segments(b.data_dir)
        waited = log.count("cold span")
        reader = threading.Thread(target=consume_quietly, args=(b.bootstrap,), daemon=True)
        reader.start()
        deadline = time.time() + 30
        while b.output().count("cold span") == waited and time.time() < deadline:
            time.sleep(0.005)
        assert b.output().count("cold span") > waited, "the second reader never waited for a page-in"
        rc = b.stop()
        assert rc == 0, "eddy exited %s when stopped during page-ins" % rc
        assert "shut down cleanly" in b.output()
        reader.join(30)
        print("stopped cleanly while a fetch waited for a page-in")
    return 0


def evict_segments(data_dir):
    """Drop the topic's segment files from the page cache (clean pages go at once)."""
    for path in glob.glob(os.path.join(data_dir, TOPIC + "-0", "*.log")):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def consume_quietly(bootstrap):
    """Read from offset 0 until the broker goes away."""
    try:
        consume(bootstrap, 0, RECORDS, timeout=10)
    except Exception:  # noqa: BLE001 - the broker stops under it on purpose
        pass


if __name__ == "__main__":
    sys.exit(main())
