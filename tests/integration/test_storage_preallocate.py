"""Segment preallocation, as an operator sees it on disk (`du`, `ls`), driven
by librdkafka's Python client. With 4 MiB segments and 24 MiB produced in
1 MiB steps: the active segment holds its 4 MiB of blocks before it is full
(prepared ahead, renamed in by the roll); every rolled segment gives back
what it did not use (allocated is about its size); a topic created with
preallocate=false never gets more blocks than data; DescribeConfigs shows
preallocate=true as the default and false where it was set. Every record
comes back in order. Then kill -9 while a prepared next-segment.log.tmp
exists: the restart removes it (the file there after it, if any, is newer)
and every acknowledged record is there.
"""
import glob
import os
import sys
import time

import confluent_kafka as ck
import confluent_kafka.admin as cka

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker, check  # noqa: E402

SEGMENT = 4 << 20
VALUE = 1024
PREPARED = "next-segment.log.tmp"


def produce_mib(bootstrap, topic, first, mib, pause):
    """mib MiB of 1 KiB records numbered from `first`, acks=1, a pause after each MiB."""
    p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 5})
    n = first
    for _ in range(mib):
        for _ in range(1024):
            p.produce(topic, value=b"%08d" % n + b"x" * (VALUE - 8), partition=0)
            n += 1
        p.poll(0)
        assert p.flush(30) == 0, "producer did not deliver everything"
        time.sleep(pause)
    return n


def segments(data_dir, topic):
    """(base, size, allocated) of each .log file, oldest first."""
    out = []
    for path in sorted(glob.glob(os.path.join(data_dir, topic + "-0", "*.log"))):
        st = os.stat(path)
        out.append((int(os.path.basename(path)[:20]), st.st_size, st.st_blocks * 512))
    return out


def wait_trimmed(data_dir, topic, timeout=20):
    """The rolled segments once each holds about its size in blocks (the flush after a roll trims)."""
    deadline = time.time() + timeout
    while True:
        rolled = segments(data_dir, topic)[:-1]
        if all(alloc <= size + (64 << 10) for _, size, alloc in rolled) or time.time() > deadline:
            return rolled
        time.sleep(0.2)


def read_all(bootstrap, topic, count):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "pre-%f" % time.time(),
                     "enable.auto.commit": False})
    c.assign([ck.TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.time() + 60
    while len(got) < count and time.time() < deadline:
        for m in c.consume(1000, 1.0):
            assert not m.error(), m.error()
            got.append(int(m.value()[:8]))
    c.close()
    return got


def main():
    config = {"log.segment.bytes": str(SEGMENT), "num.partitions": "1"}
    with Broker(config=config) as b:
        admin = cka.AdminClient({"bootstrap.servers": b.bootstrap})
        futures = admin.create_topics([cka.NewTopic("pre", 1, 1),
                                       cka.NewTopic("nopre", 1, 1, config={"preallocate": "false"})])
        for f in futures.values():
            f.result(30)
        res = admin.describe_configs([cka.ConfigResource("topic", "pre"), cka.ConfigResource("topic", "nopre")])
        values = {r.name: v["preallocate"].value for r, fut in res.items() for v in [fut.result(30)]}
        check(values == {"pre": "true", "nopre": "false"},
              "DescribeConfigs: preallocate=true by default, false where set (%s)" % values)

        total = produce_mib(b.bootstrap, "pre", 0, 24, 0.3)
        produce_mib(b.bootstrap, "nopre", 0, 24, 0.0)

        segs = segments(b.data_dir, "pre")
        base, size, alloc = segs[-1]
        check(len(segs) >= 6, "24 MiB in 4 MiB segments made %d segments" % len(segs))
        check(size < SEGMENT and alloc >= SEGMENT,
              "the active segment holds %d bytes of data in %d bytes of blocks allocated ahead" % (size, alloc))
        rolled = wait_trimmed(b.data_dir, "pre")
        worst = max(alloc - size for _, size, alloc in rolled)
        check(worst <= 64 << 10, "every rolled segment gave back what it did not use "
              "(at most %d bytes beyond its data)" % worst)
        extra = max(alloc - size for _, size, alloc in segments(b.data_dir, "nopre"))
        check(extra <= 64 << 10 and not os.path.exists(os.path.join(b.data_dir, "nopre-0", PREPARED)),
              "preallocate=false: no segment has more blocks than data (at most %d beyond)" % extra)
        got = read_all(b.bootstrap, "pre", total)
        check(got == list(range(total)), "all %d records read back in order" % total)

        # Fill the active segment past half, until the next one is prepared, then crash.
        path = os.path.join(b.data_dir, "pre-0", PREPARED)
        deadline = time.time() + 30
        while not os.path.exists(path) and time.time() < deadline:
            total = produce_mib(b.bootstrap, "pre", total, 1, 0.2)
        check(os.path.exists(path), "a next segment is prepared ahead (%s)" % PREPARED)
        b.kill9()
        restart = time.time()
        b.start()
        got = read_all(b.bootstrap, "pre", total)  # the broker has loaded its logs once this answers
        check(got == list(range(total)), "after kill -9 all %d acknowledged records are there, in order" % total)
        # It may have prepared a fresh one since (its active segment is past half).
        st = os.stat(path) if os.path.exists(path) else None
        check(st is None or st.st_mtime >= restart - 0.01,
              "the restart after kill -9 removed the prepared file the crash left")


if __name__ == "__main__":
    main()
