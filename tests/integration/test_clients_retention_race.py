"""Consumers reading while retention deletes the segments under them.

Tiny segments (50 KB) and log.retention.bytes=200 KB, checked every 50 ms:
a producer writes 200,000 records (~20 MB) to one partition over a few
seconds while a librdkafka and a kafka-python consumer read from the start
with auto.offset.reset=earliest, so they keep falling off the front of the
log and being reset. Every record either consumer gets must be intact and
at its own offset (value = offset), positions only move forward except for
resets to the log start, both must reach the end, and the broker must shut
down cleanly (no crash from sending a deleted segment).
"""
import sys
import threading
import time

import confluent_kafka as ck
from kafka import KafkaConsumer, TopicPartition

from clients_common import Broker

TOPIC = "churn"
COUNT = 200_000
PAD = b"." * 80


class Reader:
    def __init__(self, name):
        self.name = name
        self.last = -1
        self.count = 0
        self.resets = 0
        self.error = None

    def add(self, offset, value):
        if value != b"%d" % offset + PAD:
            raise AssertionError("%s: offset %d holds %r" % (self.name, offset, value[:20]))
        if offset <= self.last:
            raise AssertionError("%s: offset %d after %d" % (self.name, offset, self.last))
        if offset != self.last + 1:
            self.resets += 1  # fell off the front: reset to a later log start
        self.last = offset
        self.count += 1


def run_librdkafka(bootstrap, reader, stop):
    try:
        c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "churn-rdk",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "fetch.wait.max.ms": 100})
        c.assign([ck.TopicPartition(TOPIC, 0, ck.OFFSET_BEGINNING)])
        while not stop.is_set() and reader.last < COUNT - 1:
            for m in c.consume(2000, 0.05):
                if m.error():
                    raise AssertionError("librdkafka: %s" % m.error())
                reader.add(m.offset(), m.value())
        c.close()
    except BaseException as e:  # reported by main
        reader.error = e


def run_kafka_python(bootstrap, reader, stop):
    try:
        c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                          auto_offset_reset="earliest", fetch_max_wait_ms=100,
                          max_partition_fetch_bytes=64 * 1024)
        tp = TopicPartition(TOPIC, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        while not stop.is_set() and reader.last < COUNT - 1:
            for records in c.poll(100).values():
                for r in records:
                    reader.add(r.offset, r.value)
        c.close()
    except BaseException as e:  # reported by main
        reader.error = e


def main():
    config = {"log.segment.bytes": "50000", "log.retention.bytes": "200000",
              "log.retention.ms": "-1", "log.retention.check.interval.ms": "50"}
    with Broker(config=config) as broker:
        producer = ck.Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                                "linger.ms": 5, "batch.size": 16384,
                                "queue.buffering.max.messages": 500000})
        producer.produce(TOPIC, value=b"0" + PAD, partition=0)
        assert producer.flush(30) == 0
        readers = [Reader("librdkafka"), Reader("kafka-python")]
        stop = threading.Event()
        threads = [threading.Thread(target=f, args=(broker.bootstrap, r, stop), daemon=True)
                   for f, r in zip((run_librdkafka, run_kafka_python), readers)]
        for t in threads:
            t.start()
        start = time.time()
        for seq in range(1, COUNT):
            producer.produce(TOPIC, value=b"%d" % seq + PAD, partition=0)
            if seq % 2000 == 0:
                producer.poll(0)
                time.sleep(0.01)
        assert producer.flush(30) == 0
        print("  produced %d records in %.1fs" % (COUNT, time.time() - start), flush=True)
        deadline = time.time() + 60
        while time.time() < deadline and any(
                r.error is None and r.last < COUNT - 1 for r in readers):
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(30)
        for r in readers:
            assert r.error is None, r.error
            assert r.last == COUNT - 1, "%s stopped at offset %d" % (r.name, r.last)
            print("  %-12s read %d intact records, reset forward %d times" % (
                r.name, r.count, r.resets), flush=True)
        md = ck.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "churn-md"})
        low, high = md.get_watermark_offsets(ck.TopicPartition(TOPIC, 0), 10, cached=False)
        md.close()
        assert high == COUNT and 0 < low < COUNT, (low, high)
        print("  log now %d..%d" % (low, high))
    print("PASS consumers survive retention deleting segments under them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
