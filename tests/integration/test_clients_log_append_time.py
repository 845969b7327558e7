"""log.message.timestamp.type=LogAppendTime: the broker stamps each batch
with its own clock, whatever the producer set.

librdkafka produces 1,000 records per codec (none, gzip, zstd) with
CreateTimes from 2020; the delivery reports, a librdkafka consumer and a
kafka-python consumer must all see LogAppendTime timestamps within the
produce window (compressed batches too: their CRC must still verify, which
both clients check), and offsets_for_times must search by those times.

An idempotent batch sent twice (raw Produce v9) is acknowledged the second
time with the first time's offset and log_append_time; on a CreateTime topic
both answers carry log_append_time -1.
"""
import sys
import time

import confluent_kafka as ck
import confluent_kafka.admin  # noqa: F401
from kafka import KafkaConsumer, TopicPartition

from clients_common import Broker
from foundation_wire import connect
from produce_wire import init_producer_id, produce as produce_raw
from record_batches import batch

COUNT = 1000
OLD_TS = 1_600_000_000_000


def produce(bootstrap, topic, codec):
    reports = []
    producer = ck.Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                            "linger.ms": 5})
    for i in range(COUNT):
        producer.produce(topic, value=b"%d" % i, timestamp=OLD_TS + i, partition=0,
                         on_delivery=lambda err, msg: reports.append((err, msg.timestamp())))
    assert producer.flush(10) == 0
    return reports


def duplicate_answers(broker, topic, config=None):
    """(first, retry) Produce answers of one idempotent batch sent twice."""
    admin = ck.admin.AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([ck.admin.NewTopic(topic, 1, 1, config=config or {})])[topic].result(30)
    sock = connect(broker.port, timeout=30)
    err, pid, _ = init_producer_id(sock)
    assert err == 0, "InitProducerId: %d" % err
    records = batch(0, OLD_TS, [(0, b"k", b"v", ())], producer_id=pid, base_seq=0)
    first = produce_raw(sock, topic, 0, records)
    time.sleep(0.05)  # a retry's own append time would differ
    retry = produce_raw(sock, topic, 0, records)
    sock.close()
    return first, retry


def check_duplicates(broker):
    first, retry = duplicate_answers(broker, "dup-lat")
    assert first["error"] == 0 and first["log_append_time"] > OLD_TS, first
    assert (retry["error"], retry["base_offset"], retry["log_append_time"]) == \
        (0, first["base_offset"], first["log_append_time"]), "retry answered %r, first %r" % (retry, first)
    first, retry = duplicate_answers(broker, "dup-create", {"message.timestamp.type": "CreateTime"})
    assert first["log_append_time"] == -1 and retry["log_append_time"] == -1 and \
        retry["base_offset"] == first["base_offset"], (first, retry)
    print("  a retried idempotent batch gets the first answer's offset and log_append_time "
          "(-1 on a CreateTime topic)", flush=True)


def main():
    with Broker(config={"log.message.timestamp.type": "LogAppendTime"}) as broker:
        for codec in ("none", "gzip", "zstd"):
            topic = "lat-" + codec
            t0 = int(time.time() * 1000)
            reports = produce(broker.bootstrap, topic, codec)
            t1 = int(time.time() * 1000)
            ok = lambda ts: t0 <= ts <= t1  # noqa: E731
            assert len(reports) == COUNT and all(
                err is None and kind == ck.TIMESTAMP_LOG_APPEND_TIME and ok(ts)
                for err, (kind, ts) in reports), "%s delivery reports: %s" % (codec, reports[:3])

            consumer = ck.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "lat",
                                    "check.crcs": True})
            consumer.assign([ck.TopicPartition(topic, 0, 0)])
            got = []
            deadline = time.time() + 20
            while len(got) < COUNT and time.time() < deadline:
                for m in consumer.consume(1000, 0.5):
                    assert not m.error(), m.error()
                    got.append((m.offset(), m.timestamp()))
            consumer.close()
            assert [o for o, _ in got] == list(range(COUNT)), "%s: librdkafka read %d" % (
                codec, len(got))
            assert all(kind == ck.TIMESTAMP_LOG_APPEND_TIME and ok(ts) for _, (kind, ts) in got), \
                "%s: librdkafka timestamps %s" % (codec, got[:3])
            rdk_times = [ts for _, (_, ts) in got]

            kc = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                               check_crcs=True)
            tp = TopicPartition(topic, 0)
            kc.assign([tp])
            kc.seek_to_beginning(tp)
            got = []
            deadline = time.time() + 20
            while len(got) < COUNT and time.time() < deadline:
                for recs in kc.poll(500).values():
                    got += [(r.timestamp_type, r.timestamp) for r in recs]
            assert len(got) == COUNT, "%s: kafka-python read %d" % (codec, len(got))
            assert [ts for _, ts in got] == rdk_times and all(kind == 1 for kind, _ in got), \
                "%s: kafka-python timestamps differ: %s" % (codec, got[:3])
            # By time: the producer's CreateTimes are gone; the broker's count.
            found = kc.offsets_for_times({tp: OLD_TS})[tp]
            assert found is not None and found.offset == 0, "%s: by old time %s" % (codec, found)
            assert kc.offsets_for_times({tp: t1 + 60_000})[tp] is None
            last = rdk_times[-1]
            found = kc.offsets_for_times({tp: last})[tp]
            assert found is not None and found.timestamp == last and \
                rdk_times[found.offset] == last and (found.offset == 0 or
                                                     rdk_times[found.offset - 1] < last), \
                "%s: by time %d: %s" % (codec, last, found)
            kc.close()
            print("  %s: %d records stamped by the broker (%d..%d ms)" % (
                codec, COUNT, rdk_times[0] - t0, rdk_times[-1] - t0), flush=True)
        check_duplicates(broker)
    print("PASS LogAppendTime")
    return 0


if __name__ == "__main__":
    sys.exit(main())
