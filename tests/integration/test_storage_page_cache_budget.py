"""The page-cache budget (eddy.log.page.cache.bytes) holds with many
partitions, as an operator checks it with fincore: with an 8 MiB budget,
48 MiB go to a one-partition topic, then 96 MiB of keyless records to a
64-partition topic through librdkafka's Python client, whose sticky
partitioner sends each partition a burst and then nothing for a while.
Afterwards the segment files of both topics hold about the budget in the
page cache (and what was appended since the last drop-behind pass), plus
the 128 KiB minimum of each partition: the first topic, idle since, came
down to that minimum instead of keeping its share, and it kept nothing
cached far behind its end (every drop used to leave behind the folio
across its end).
Every record is there (the high watermarks add up).
"""
import glob
import os
import sys
import time

import confluent_kafka as ck
import confluent_kafka.admin as cka

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker, check, page_cached_bytes  # noqa: E402

BUDGET = 8 << 20
PASS = 8 << 20  # appended between two drop-behind passes
MINIMUM = 128 << 10
PARTITIONS = 64
VALUE = 1024


def cached_in_topic(data_dir, topic):
    return sum(page_cached_bytes(p) for p in glob.glob(os.path.join(data_dir, topic + "-*", "*.log")))


def cached_behind(data_dir, topic, newest):
    """Cached bytes of a one-segment partition more than `newest` bytes behind its end."""
    path, = glob.glob(os.path.join(data_dir, topic + "-0", "*.log"))
    return page_cached_bytes(path, max(0, os.path.getsize(path) - newest))


def wait_cached(data_dir, topics, limit, timeout=20):
    """The topics' cached log bytes once at most `limit` (the flusher's timer
    finishes the last passes after appends stop), or at the timeout."""
    deadline = time.time() + timeout
    while True:
        cached = sum(cached_in_topic(data_dir, t) for t in topics)
        if cached <= limit or time.time() > deadline:
            return cached
        time.sleep(0.25)


def produce(bootstrap, topic, mib, partition=None):
    """mib MiB of 1 KiB records, keyless (sticky partitioner) unless a partition is given."""
    p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 5})
    value = b"v" * VALUE
    for i in range(mib * 1024):
        while True:
            try:
                if partition is None:
                    p.produce(topic, value=value)
                else:
                    p.produce(topic, value=value, partition=partition)
                break
            except BufferError:
                p.poll(0.05)
        if i % 1024 == 0:
            p.poll(0)
    check(p.flush(60) == 0, "the producer delivered everything to %s" % topic)
    return mib * 1024


def high_watermarks(bootstrap, topic, partitions):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "budget"})
    total = sum(c.get_watermark_offsets(ck.TopicPartition(topic, i), timeout=10)[1] for i in range(partitions))
    c.close()
    return total


def main():
    config = {"eddy.log.page.cache.bytes": str(BUDGET), "num.partitions": "1"}
    with Broker(config=config) as b:
        one = produce(b.bootstrap, "one", 48, partition=0)
        cached_one = wait_cached(b.data_dir, ["one"], BUDGET + PASS + (2 << 20))
        behind = cached_behind(b.data_dir, "one", BUDGET + PASS)
        print("  one partition, 48 MiB written: %.1f MiB cached, %d KiB of it more than %d MiB behind the end"
              % (cached_one / 2**20, behind // 1024, (BUDGET + PASS) >> 20))
        check(cached_one <= BUDGET + PASS + (2 << 20),
              "a lone partition holds about the budget: %d bytes cached" % cached_one)
        # every drop used to leave the folio across its end behind for good
        check(behind <= 256 << 10, "nothing is left cached far behind the end: %d bytes" % behind)

        admin = cka.AdminClient({"bootstrap.servers": b.bootstrap})
        admin.create_topics([cka.NewTopic("many", PARTITIONS, 1)])["many"].result(30)
        many = produce(b.bootstrap, "many", 96)
        # the budget and the appends since the last pass; each partition: the
        # minimum, up to one release step (64 KiB) not yet dropped and its
        # partial pages; then 1 MiB of slack
        limit = BUDGET + PASS + (PARTITIONS + 1) * (MINIMUM + (64 << 10) + 2 * 4096) + (1 << 20)
        total = wait_cached(b.data_dir, ["one", "many"], limit)
        cached_one = wait_cached(b.data_dir, ["one"], 3 * MINIMUM)
        print("  then 96 MiB to %d partitions: %.1f MiB cached in all (limit %.1f), %.0f KiB of the idle topic"
              % (PARTITIONS, total / 2**20, limit / 2**20, cached_one / 1024))
        check(total <= limit, "the page cache holds %d bytes of the logs, at most %d" % (total, limit))
        check(cached_one <= 3 * MINIMUM, "the idle partition came down to %d bytes cached" % cached_one)

        got = high_watermarks(b.bootstrap, "one", 1) + high_watermarks(b.bootstrap, "many", PARTITIONS)
        check(got == one + many, "high watermarks add up to the %d acknowledged records" % (one + many))
        print("  all %d records are there" % got)
        b.check_clean()
    print("test_storage_page_cache_budget: ok")


if __name__ == "__main__":
    main()
