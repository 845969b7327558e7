"""A consumer far behind the page-cache budget: with drop-behind keeping only
the newest 1 MiB of the partition cached, 24 MiB are written, and the broker
evicts the oldest segment from the page cache on its own once the producer
stops (checked with mincore). Then the partition is read from offset 0. Every
record comes back, in order; the broker read the evicted ranges back in on
its pager thread (its log says a fetch waited for cold spans) instead of
faulting them in on the network thread; and a consumer reading the tail
meanwhile is answered. The same after a restart with the segments evicted:
bytes written before the broker started are checked too, and the restart
reads none of them back (the producer state comes from the snapshot taken
when the log rolled and at shutdown, not from a replay of the log). A fetch
whose 1 MiB answer spans several evicted 256 KiB segments has all of them
read in by the pager, not only the first. Last, the broker is
stopped while a reader from offset 0 waits for page-ins: it shuts down
cleanly (under the sanitizers: no use of freed partitions by a fetch resumed
after its page-in, no leak).
"""
import glob
import os
import sys
import threading
import time

import confluent_kafka as ck
import confluent_kafka.admin  # noqa: F401

sys.path.insert(0, os.path.dirname(__file__))
from foundation_wire import connect  # noqa: E402
from harness import Broker, page_cached_bytes  # noqa: E402
from produce_wire import fetch_v4  # noqa: E402

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
        p.produce(TOPIC, value=b"%08d" % RECORDS + b"x" * (VALUE - 8), partition=0)
        assert p.flush(60) == 0, "producer did not deliver everything"
        del p
        snapshots = glob.glob(os.path.join(b.data_dir, TOPIC + "-0", "*.snapshot"))
        assert snapshots, "no producer-state snapshot written when the log rolled"
        first = os.path.join(b.data_dir, TOPIC + "-0", "%020d.log" % 0)
        deadline = time.time() + 30
        while page_cached_bytes(first, 1 << 20) > 64 << 10 and time.time() < deadline:
            time.sleep(0.1)
        cached = page_cached_bytes(first, 1 << 20)
        assert cached <= 64 << 10, "drop-behind left %d bytes of the oldest segment's first MiB cached" % cached
        print("drop-behind evicted the oldest segment once the producer stopped")
        read_back_cold(b, "with 1 MiB cached")

        assert b.stop() == 0
        evict_segments(b.data_dir)
        b.start()
        read_back_cold(b, "after a restart with the segments evicted")
        cross_segment_fetch(b)

        evict_segments(b.data_dir)
        waited = b.output().count("cold span")
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


def read_back_cold(b, when):
    """Every record from offset 0, in order, with at least one fetch waiting for
    the pager, while a consumer of the tail is answered."""
    waited = b.output().count("cold span")
    tail = consume(b.bootstrap, RECORDS, 1)
    assert [o for o, _ in tail] == [RECORDS], "the tail read %r" % (tail,)
    got = consume(b.bootstrap, 0, RECORDS + 1)
    assert len(got) == RECORDS + 1, "read %d of %d records %s" % (len(got), RECORDS + 1, when)
    for i, (offset, value) in enumerate(got):
        assert offset == i and value.startswith(b"%08d" % i), "record %d: offset %d, %r" % (i, offset, value[:8])
    fetches = b.output().count("cold span") - waited
    assert fetches > 0, "no fetch waited for a page-in %s" % when
    print("%d records read back from offset 0 %s; %d fetches waited for a page-in" % (len(got), when, fetches))


def cross_segment_fetch(b):
    """One fetch from offset 0 of a topic of evicted 256 KiB segments: every
    segment its 1 MiB answer reaches is handed to the pager."""
    admin = ck.admin.AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([ck.admin.NewTopic("small", 1, 1, config={"segment.bytes": str(256 << 10)})])["small"] \
        .result(30)
    # Batches smaller than a segment: a larger one would be refused (RECORD_LIST_TOO_LARGE).
    p = ck.Producer({"bootstrap.servers": b.bootstrap, "acks": "1", "linger.ms": 5, "batch.size": 65536})
    failed = []
    for i in range(4096):
        p.produce("small", value=b"%08d" % i + b"s" * (VALUE - 8), partition=0,
                  on_delivery=lambda err, msg: err and failed.append(err))
    assert p.flush(60) == 0 and not failed, "producer did not deliver everything: %r" % failed[:1]
    assert b.stop() == 0
    evict_segments(b.data_dir, "small")
    b.start()
    before = b.output().count("cold span")
    sock = connect(b.port, timeout=30)
    _, data = fetch_v4(sock, "small", 0, 0)
    sock.close()
    assert (1 << 20) * 0.9 < len(data) <= 1 << 20, "the fetch got %d bytes" % len(data)
    waits = [line for line in b.output().splitlines() if "cold span" in line][before:]
    spans = [int(line.split("waits for ")[1].split()[0]) for line in waits]
    assert spans and spans[0] >= 4, "a 1 MiB read over 256 KiB segments paged in %r span(s)" % spans
    print("a fetch over %d evicted segments waited for all of them to be read in" % spans[0])


def evict_segments(data_dir, topic=TOPIC):
    """Drop the topic's segment files from the page cache (clean pages go at once)."""
    for path in glob.glob(os.path.join(data_dir, topic + "-0", "*.log")):
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
