"""kill -9 of the broker under an idempotent producer.

A librdkafka producer (enable.idempotence=true, acks=all) in its own process
sends 100,000 numbered records to 3 partitions at ~25,000/s. When a quarter,
and again when 60%, are acknowledged the broker is killed with SIGKILL and
restarted on the same data dir and port; at 85% it is stopped cleanly
(SIGTERM: producer state from the snapshot, not a log scan) and restarted.
The producer rides through the three outages and finishes. Then
every partition must hold each record exactly once (no duplicates from the
retried in-flight batches: the producer state survived the crash), in order,
with no gaps, and every acknowledged record at the offset its acknowledgement
gave. A librdkafka consumer reads all along, through the outages: it must
see every record exactly once, in order.
"""
import os
import sys
import threading
import time

import confluent_kafka as ck

from clients_common import (Broker, count_lines, read_acks, read_partition_log,
                            start_crash_producer)

TOPIC = "idem"
COUNT = 100_000
PARTITIONS = 3
RATE = 25_000


def live_consumer(bootstrap, seen, stop, errors):
    """Reads through the outages; seen[p] gets (offset, seq) in arrival order."""
    try:
        c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "live",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 200})
        c.assign([ck.TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
        while not stop.is_set():
            for m in c.consume(1000, 0.05):
                if m.error():
                    if m.error().retriable() or m.error().code() == ck.KafkaError._TRANSPORT:
                        continue  # the broker is down for a moment
                    raise AssertionError("live consumer: %s" % m.error())
                seen[m.partition()].append((m.offset(), int(m.value())))
        c.close()
    except BaseException as e:  # reported by main
        errors.append(e)


def main():
    with Broker(config={"num.partitions": str(PARTITIONS)}) as broker:
        out = os.path.join(broker.tmp, "acks.txt")
        # Topic first, so the consumer can be assigned before the producer starts.
        ck.Producer({"bootstrap.servers": broker.bootstrap}).list_topics(TOPIC, timeout=10)
        seen = {p: [] for p in range(PARTITIONS)}
        stop, consumer_errors = threading.Event(), []
        consumer = threading.Thread(target=live_consumer, daemon=True,
                                    args=(broker.bootstrap, seen, stop, consumer_errors))
        consumer.start()
        producer = start_crash_producer(broker.bootstrap, TOPIC, COUNT, PARTITIONS, RATE, out,
                                        {"enable.idempotence": True})
        try:
            for fraction, how in ((0.25, "kill -9"), (0.6, "kill -9"), (0.85, "SIGTERM")):
                deadline = time.time() + 60
                while count_lines(out) < COUNT * fraction and time.time() < deadline:
                    assert producer.poll() is None, "producer exited early"
                    time.sleep(0.01)
                acked_before = count_lines(out)
                if how == "kill -9":
                    broker.kill9()
                else:
                    rc = broker.stop()
                    assert rc == 0, "eddy exited %s on SIGTERM" % rc
                print("  %s of the broker after %d acknowledgements" % (how, acked_before),
                      flush=True)
                time.sleep(1.0)
                broker.start()
            rc = producer.wait(120)
        finally:
            if producer.poll() is None:
                producer.kill()
                producer.wait()
        deadline = time.time() + 60
        while sum(len(v) for v in seen.values()) < COUNT and time.time() < deadline \
                and not consumer_errors:
            time.sleep(0.1)
        stop.set()
        consumer.join(30)
        assert not consumer_errors, consumer_errors[0]
        for p in range(PARTITIONS):
            want = list(range(p, COUNT, PARTITIONS))
            assert seen[p] == list(enumerate(want)), \
                "live consumer p%d: %d records, want %d; first difference at %s" % (
                    p, len(seen[p]), len(want),
                    next((i for i, (a, b) in enumerate(zip(seen[p], enumerate(want))) if a != b),
                         min(len(seen[p]), len(want))))
        print("  the live consumer saw every record once, in order", flush=True)
        acks, errors, finished = read_acks(out)
        assert rc == 0 and finished, "producer exit %s, finished %s" % (rc, finished)
        assert not errors, "%d records failed, e.g. %s" % (len(errors), errors[:5])
        total = 0
        for p in range(PARTITIONS):
            log = read_partition_log(broker.bootstrap, TOPIC, p)
            seqs = [seq for _, seq in log]
            want = list(range(p, COUNT, PARTITIONS))
            if seqs != want:
                dups = len(seqs) - len(set(seqs))
                missing = sorted(set(want) - set(seqs))
                raise AssertionError("partition %d: %d records, want %d; %d duplicates, "
                                     "missing %s; first difference at index %d" % (
                                         p, len(seqs), len(want), dups, missing[:10],
                                         next(i for i, (a, b) in enumerate(zip(seqs + [None] * len(want), want)) if a != b)))
            offsets = [o for o, _ in log]
            assert offsets == list(range(len(log))), "partition %d: offsets not dense" % p
            by_offset = dict(log)
            for off, seq in acks.get(p, []):
                assert by_offset.get(off) == seq, "partition %d: acknowledged seq %d at offset " \
                    "%d, log has %s" % (p, seq, off, by_offset.get(off))
            total += len(log)
        print("  %d records, each exactly once, in order" % total)
    print("PASS kill -9 under an idempotent producer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
