"""Two different clients share one consumer group and split a topic.

A librdkafka consumer and a kafka-python consumer join group "mixed" on a
4-partition topic (their only protocol in common is "range"). Once the group
is stable with two partitions each, 20,000 records are produced: together
they must read every record exactly once, each partition wholly by one
member, in order, committing as they go. Then the librdkafka member commits
and leaves; kafka-python must take over all four partitions from the
committed offsets, and read 10,000 more records, and nothing twice.
"""
import sys
import threading
import time

import confluent_kafka as ck
from kafka import KafkaConsumer

from clients_common import Broker

TOPIC = "shared"
GROUP = "mixed"
PARTITIONS = 4
FIRST = 20_000
SECOND = 10_000


class Member:
    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.assigned = set()
        self.records = []  # (partition, offset, seq)
        self.error = None

    def add(self, partition, offset, value):
        with self.lock:
            self.records.append((partition, offset, int(value)))

    def count(self):
        with self.lock:
            return len(self.records)


def run_librdkafka(bootstrap, member, stop):
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                            "auto.offset.reset": "earliest", "enable.auto.commit": False,
                            "partition.assignment.strategy": "range",
                            "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})

    def on_assign(c, parts):
        member.assigned = {p.partition for p in parts}

    def on_revoke(c, parts):
        member.assigned = set()

    consumer.subscribe([TOPIC], on_assign=on_assign, on_revoke=on_revoke)
    try:
        while not stop.is_set():
            msgs = consumer.consume(1000, 0.05)
            for msg in msgs:
                if msg.error():
                    raise AssertionError("librdkafka: %s" % msg.error())
                member.add(msg.partition(), msg.offset(), msg.value())
            if msgs:
                consumer.commit(asynchronous=False)
    except BaseException as e:  # reported by main
        member.error = e
    finally:
        consumer.close()  # LeaveGroup


def run_kafka_python(bootstrap, member, stop):
    try:
        consumer = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=GROUP,
                                 auto_offset_reset="earliest", enable_auto_commit=False,
                                 session_timeout_ms=10000, heartbeat_interval_ms=500,
                                 max_poll_records=2000)
        while not stop.is_set():
            batch = consumer.poll(100)
            for tp, records in batch.items():
                for r in records:
                    member.add(tp.partition, r.offset, r.value)
            if batch:
                consumer.commit()
            member.assigned = {tp.partition for tp in consumer.assignment()}
        consumer.close()
    except BaseException as e:  # reported by main
        member.error = e


def wait_for(cond, what, timeout=40):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def produce(bootstrap, first, count):
    producer = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for seq in range(first, first + count):
        producer.produce(TOPIC, value=b"%d" % seq, partition=seq % PARTITIONS)
    assert producer.flush(30) == 0


def check_partitions(records, seqs, what):
    """records: (partition, offset, seq); each seq once, dense offsets per partition."""
    got = sorted(s for _, _, s in records)
    assert got == sorted(seqs), "%s: %d records (%d distinct), want %d" % (
        what, len(got), len(set(got)), len(seqs))
    for p in range(PARTITIONS):
        mine = [(o, s) for q, o, s in records if q == p]
        assert [s for _, s in mine] == sorted(s for _, s in mine), "%s: p%d out of order" % (
            what, p)
        offsets = [o for o, _ in mine]
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets))) if offsets else True, \
            "%s: p%d offsets not dense" % (what, p)


def main():
    with Broker(config={"num.partitions": str(PARTITIONS),
                        "group.initial.rebalance.delay.ms": "0"}) as broker:
        # Create the topic (a producer's Metadata request auto-creates it).
        md = ck.Producer({"bootstrap.servers": broker.bootstrap}).list_topics(TOPIC, timeout=10)
        assert len(md.topics[TOPIC].partitions) == PARTITIONS, md.topics[TOPIC].error
        rdk, kpy = Member("librdkafka"), Member("kafka-python")
        stop_rdk, stop_kpy = threading.Event(), threading.Event()
        threads = [threading.Thread(target=run_librdkafka, args=(broker.bootstrap, rdk, stop_rdk)),
                   threading.Thread(target=run_kafka_python, args=(broker.bootstrap, kpy, stop_kpy))]
        for t in threads:
            t.daemon = True
            t.start()
        try:
            wait_for(lambda: len(rdk.assigned) == 2 and len(kpy.assigned) == 2
                     and not rdk.assigned & kpy.assigned, "a stable 2-member group")
            print("  group stable: librdkafka has %s, kafka-python has %s" % (
                sorted(rdk.assigned), sorted(kpy.assigned)), flush=True)
            split = (set(rdk.assigned), set(kpy.assigned))
            produce(broker.bootstrap, 0, FIRST)
            wait_for(lambda: rdk.count() + kpy.count() >= FIRST, "the first records")
            time.sleep(0.5)
            for m, parts in zip((rdk, kpy), split):
                assert m.error is None, m.error
                assert {p for p, _, _ in m.records} == parts, "%s read partitions %s" % (
                    m.name, sorted({p for p, _, _ in m.records}))
            check_partitions(rdk.records + kpy.records, range(FIRST), "first round")
            print("  %d records split %d / %d, each once" % (FIRST, rdk.count(), kpy.count()),
                  flush=True)

            stop_rdk.set()
            threads[0].join(30)
            assert rdk.error is None, rdk.error
            wait_for(lambda: len(kpy.assigned) == PARTITIONS, "kafka-python to take over")
            before = kpy.count()
            produce(broker.bootstrap, FIRST, SECOND)
            wait_for(lambda: kpy.count() >= before + SECOND, "the second records")
            time.sleep(0.5)
            assert kpy.error is None, kpy.error
            second = kpy.records[before:]
            check_partitions(second, range(FIRST, FIRST + SECOND), "after takeover")
            print("  librdkafka left; kafka-python took all %d partitions and read the %d new "
                  "records once" % (PARTITIONS, SECOND), flush=True)
        finally:
            stop_rdk.set()
            stop_kpy.set()
            for t in threads:
                t.join(30)
    print("PASS mixed-client consumer group")
    return 0


if __name__ == "__main__":
    sys.exit(main())
