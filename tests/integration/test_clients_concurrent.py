"""A producer and consumers running at the same time.

librdkafka produces 60,000 keyed records to 3 partitions at a steady rate
(~10 s) while two consumers read them as they arrive: a librdkafka group
member (subscribe) and a kafka-python consumer (assign). Each consumer must
see every record exactly once, in order per partition, most of them while
the producer is still running, with low delivery latency. Then, with both
consumers idle in a long poll (fetch wait 5 s), one more record must reach
them well before the poll would time out: the broker wakes waiting fetches
when data is appended.
"""
import sys
import threading
import time

import confluent_kafka as ck
from kafka import KafkaConsumer, TopicPartition

from clients_common import Broker

TOPIC = "live"
PARTITIONS = 3
COUNT = 60_000
BURST = 300          # records per burst
BURST_GAP_S = 0.05   # => ~6,000 records/s
LATE_WAIT_MS = 5000  # consumers' fetch max wait while idle


def key_of(i):
    return b"k%d" % (i % 97)


class Seen:
    """What one consumer received: per partition, (seq, latency) in arrival order."""

    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.by_partition = {p: [] for p in range(PARTITIONS)}
        self.count = 0
        self.late_latency = None

    def add(self, partition, offset, value, now):
        seq_s, sent_s = value.split(b"|")
        seq, sent = int(seq_s), float(sent_s)
        with self.lock:
            self.by_partition[partition].append((offset, seq, now - sent))
            self.count += 1
            if seq == COUNT:
                self.late_latency = now - sent


def librdkafka_consumer(bootstrap, seen, stop, ready):
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "live-rdk",
                            "auto.offset.reset": "earliest", "enable.auto.commit": True,
                            "fetch.wait.max.ms": LATE_WAIT_MS, "fetch.min.bytes": 1})

    def on_assign(c, parts):
        ready.set()

    consumer.subscribe([TOPIC], on_assign=on_assign)
    try:
        while not stop.is_set():
            # consume() returns when it has 1000 records or at the timeout.
            for msg in consumer.consume(1000, 0.02):
                if msg.error():
                    raise AssertionError("librdkafka consumer: %s" % msg.error())
                seen.add(msg.partition(), msg.offset(), msg.value(), time.time())
    finally:
        consumer.close()


def kafka_python_consumer(bootstrap, seen, stop, ready):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=LATE_WAIT_MS, max_poll_records=2000)
    parts = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ready.set()
    try:
        while not stop.is_set():
            for tp, records in consumer.poll(200).items():
                now = time.time()
                for r in records:
                    seen.add(tp.partition, r.offset, r.value, now)
    finally:
        consumer.close()


def run_thread(target, *args):
    errors = []

    def body():
        try:
            target(*args)
        except BaseException as e:  # reported by main
            errors.append(e)
    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, errors


def produce(producer, seq):
    producer.produce(TOPIC, key=key_of(seq), value=b"%d|%.6f" % (seq, time.time()))


def check(seen, produced_at_end):
    """produced_at_end: how many records this consumer had when the producer finished."""
    total = sum(len(v) for v in seen.by_partition.values())
    assert total == COUNT + 1, "%s: %d records, want %d" % (seen.name, total, COUNT + 1)
    seqs = set()
    latencies = []
    for p, got in seen.by_partition.items():
        first = 1 if p == 0 else 0  # offset 0 of partition 0 is the warm-up record
        for want, (offset, seq, _) in enumerate(got, first):
            assert offset == want, "%s: partition %d: record %d (seq %d) has offset %d" % (
                seen.name, p, want, seq, offset)
        part_seqs = [s for _, s, _ in got]
        assert part_seqs == sorted(part_seqs), "%s: partition %d out of order" % (seen.name, p)
        seqs.update(part_seqs)
        latencies += [lat for _, _, lat in got]
    assert seqs == set(range(COUNT + 1)), "%s: missing or duplicate records" % seen.name
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[len(latencies) * 99 // 100]
    print("  %-12s live: %5.1f%% seen before the producer finished; latency p50 %.0f ms, "
          "p99 %.0f ms; late record after %.0f ms" % (
              seen.name, 100.0 * produced_at_end / COUNT, p50 * 1000, p99 * 1000,
              seen.late_latency * 1000), flush=True)
    assert produced_at_end >= COUNT // 2, "%s: only %d records seen while producing" % (
        seen.name, produced_at_end)
    assert p50 < 1.0, "%s: median delivery latency %.2fs" % (seen.name, p50)
    # A woken long poll answers at once; a broker that did not wake it would
    # answer after LATE_WAIT_MS.
    assert seen.late_latency < LATE_WAIT_MS / 2000.0, "%s: late record took %.2fs" % (
        seen.name, seen.late_latency)


def main():
    with Broker(config={"num.partitions": str(PARTITIONS),
                        "group.initial.rebalance.delay.ms": "0"}) as broker:
        producer = ck.Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5,
                                "acks": "all"})
        # Create the topic first so both consumers start on an existing topic.
        producer.produce(TOPIC, key=b"warm-up", value=b"-1|0", partition=0)
        assert producer.flush(30) == 0
        stop = threading.Event()
        consumers = [Seen("librdkafka"), Seen("kafka-python")]
        readies = [threading.Event(), threading.Event()]
        threads = [run_thread(librdkafka_consumer, broker.bootstrap, consumers[0], stop,
                              readies[0]),
                   run_thread(kafka_python_consumer, broker.bootstrap, consumers[1], stop,
                              readies[1])]
        for r in readies:
            assert r.wait(30), "consumer never got its partitions"
        # Forget the warm-up record (offset 0 of partition 0) once both have it.
        deadline = time.time() + 30
        while any(c.count < 1 for c in consumers) and time.time() < deadline:
            time.sleep(0.05)
        for c in consumers:
            with c.lock:
                assert c.count == 1, "%s: %d records before producing" % (c.name, c.count)
                c.by_partition[0] = []
                c.count = 0

        # ---- the live part ----
        start = time.time()
        for seq in range(COUNT):
            produce(producer, seq)
            if seq % BURST == BURST - 1:
                producer.poll(0)
                time.sleep(BURST_GAP_S)
        assert producer.flush(30) == 0
        at_end = [c.count for c in consumers]
        print("  produced %d records in %.1fs" % (COUNT, time.time() - start), flush=True)

        # Wait for both consumers to catch up, then let them sit in a long poll.
        deadline = time.time() + 30
        while any(c.count < COUNT for c in consumers) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)
        produce(producer, COUNT)
        assert producer.flush(10) == 0
        deadline = time.time() + 10
        while any(c.late_latency is None for c in consumers) and time.time() < deadline:
            time.sleep(0.01)
        stop.set()
        for t, errors in threads:
            t.join(30)
            assert not errors, errors[0]
        for c, n in zip(consumers, at_end):
            check(c, n)
    print("PASS concurrent produce/consume: 2 consumers x %d records, live" % COUNT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
