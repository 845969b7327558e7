"""ListOffsets as users call it: earliest, latest and by timestamp, through
kafka-python (beginning_offsets, end_offsets, offsets_for_times) and
librdkafka (get_watermark_offsets, offsets_for_times), before and after a
kill -9 and restart (the time index must come back), plus kcat -Q.

Data: topic "times" with 2 partitions. Partition p gets 10 batches of 100
records; record j of batch k has CreateTime BASE + 1000*k + 10*j + p, except
one record (batch 2, j=10) stamped far ahead at BASE + 7500 + p. By Kafka's
rule (the earliest offset whose timestamp is >= the target), every target
in (BASE+2990+p, BASE+7500+p] therefore answers offset 210, not an offset in
batch 3..7. Batches are lz4-compressed, so seeking to a looked-up offset
lands inside a compressed batch: the consumer must start exactly there.
A consumer assigned past the end (OFFSET_OUT_OF_RANGE) resets to earliest.
"""
import subprocess
import sys
import time

import confluent_kafka as ck
from kafka import KafkaConsumer, TopicPartition

from clients_common import Broker

TOPIC = "times"
PARTITIONS = 2
BATCHES = 10
PER_BATCH = 100
COUNT = BATCHES * PER_BATCH
BASE = 1_700_000_000_000
FUTURE_OFFSET = 210
FUTURE_TS = BASE + 7500


def timestamp(p, offset):
    if offset == FUTURE_OFFSET:
        return FUTURE_TS + p
    k, j = divmod(offset, PER_BATCH)
    return BASE + 1000 * k + 10 * j + p


def expected_offset(p, target):
    """Kafka's rule, computed from the data: (offset, timestamp) or None."""
    for off in range(COUNT):
        if timestamp(p, off) >= target:
            return off, timestamp(p, off)
    return None


def targets(p):
    out = [0, BASE - 1, BASE + p, BASE + p + 1, BASE + 2990 + p, BASE + 2991 + p,
           BASE + 3005 + p, BASE + 7500 + p, BASE + 7501 + p, BASE + 8000 + p,
           BASE + 9990 + p, BASE + 9991 + p, BASE + 10**9]
    out += [BASE + 1000 * k + 10 * j + p for k in (0, 1, 8, 9) for j in (0, 1, 50, 99)]
    return out


def produce(bootstrap):
    producer = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 1000,
                            "batch.num.messages": PER_BATCH, "acks": "all",
                            "compression.type": "lz4"})
    for k in range(BATCHES):
        for p in range(PARTITIONS):
            for j in range(PER_BATCH):
                off = k * PER_BATCH + j
                producer.produce(TOPIC, value=b"%d" % off, partition=p,
                                 timestamp=timestamp(p, off))
        assert producer.flush(30) == 0  # one batch per partition per k


def check_kafka_python(bootstrap):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    assert consumer.beginning_offsets(tps) == {tp: 0 for tp in tps}
    assert consumer.end_offsets(tps) == {tp: COUNT for tp in tps}
    checked = 0
    for p, tp in enumerate(tps):
        for target in targets(p):
            got = consumer.offsets_for_times({tp: target})[tp]
            want = expected_offset(p, target)
            got_pair = (got.offset, got.timestamp) if got is not None else None
            assert got_pair == want, "kafka-python p%d target %d: got %s, want %s" % (
                p, target, got_pair, want)
            checked += 1
    # Seek to a looked-up offset inside a compressed batch and read from there.
    tp = tps[1]
    found = consumer.offsets_for_times({tp: BASE + 4321})[tp]
    consumer.assign([tp])
    consumer.seek(tp, found.offset)
    first = None
    for _ in range(20):
        recs = consumer.poll(500, max_records=1).get(tp)
        if recs:
            first = recs[0]
            break
    assert first is not None and (first.offset, int(first.value), first.timestamp) == (
        found.offset, found.offset, found.timestamp), "kafka-python seek to %d read %s" % (
        found.offset, first)
    consumer.close()
    return checked + 1


def check_librdkafka(bootstrap):
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "times"})
    checked = 0
    for p in range(PARTITIONS):
        tp = ck.TopicPartition(TOPIC, p)
        wm = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
        assert wm == (0, COUNT), "librdkafka p%d watermarks %s" % (p, wm)
        ts_list = targets(p)
        for target in ts_list:
            got = consumer.offsets_for_times([ck.TopicPartition(TOPIC, p, target)], timeout=10)
            assert got[0].error is None, got[0].error
            want = expected_offset(p, target)
            want_offset = want[0] if want else ck.OFFSET_END
            assert got[0].offset == want_offset, "librdkafka p%d target %d: got %d, want %d" % (
                p, target, got[0].offset, want_offset)
            checked += 1
    # Assign at a looked-up offset inside a compressed batch.
    found = consumer.offsets_for_times([ck.TopicPartition(TOPIC, 0, BASE + 5555)], timeout=10)[0]
    consumer.assign([found])
    msg = first_message(consumer)
    assert (msg.offset(), int(msg.value())) == (found.offset, found.offset), \
        "librdkafka assign at %d read offset %d" % (found.offset, msg.offset())
    consumer.close()
    # Past the end: OFFSET_OUT_OF_RANGE, then auto.offset.reset=earliest.
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "times-reset",
                            "auto.offset.reset": "earliest"})
    consumer.assign([ck.TopicPartition(TOPIC, 1, COUNT + 500)])
    msg = first_message(consumer)
    assert msg.offset() == 0, "reset to earliest read offset %d" % msg.offset()
    consumer.close()
    return checked + 2


def first_message(consumer):
    deadline = time.time() + 20
    while time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert not msg.error(), msg.error()
        return msg
    raise AssertionError("no message within 20 s")


def check_kcat(bootstrap):
    """kcat -Q -t topic:partition:timestamp prints the offset per partition."""
    checked = 0
    for p in range(PARTITIONS):
        for target in (BASE + 3005 + p, BASE + 8000 + p):
            res = subprocess.run(["kcat", "-Q", "-b", bootstrap, "-t",
                                  "%s:%d:%d" % (TOPIC, p, target)],
                                 capture_output=True, timeout=30)
            assert res.returncode == 0, res.stderr
            want = expected_offset(p, target)[0]
            assert (" [%d] offset %d" % (p, want)).encode() in res.stdout, \
                "kcat -Q p%d %d: %r, want offset %d" % (p, target, res.stdout, want)
            checked += 1
    return checked


def check_all(bootstrap, when):
    n = check_kafka_python(bootstrap)
    n += check_librdkafka(bootstrap)
    n += check_kcat(bootstrap)
    print("  %s: %d lookups right" % (when, n), flush=True)


def main():
    with Broker(config={"num.partitions": str(PARTITIONS)}) as broker:
        produce(broker.bootstrap)
        check_all(broker.bootstrap, "after produce")
        broker.kill9()
        broker.start()
        check_all(broker.bootstrap, "after kill -9 and restart")
    print("PASS ListOffsets: earliest, latest, by timestamp (kafka-python, librdkafka, kcat)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
