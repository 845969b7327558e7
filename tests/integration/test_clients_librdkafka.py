"""librdkafka (python3-confluent-kafka) end to end: for every compression
codec, produce 100,000 records with keys, headers and CreateTime timestamps,
then read them all back and check each one, in order. Then the same with
enable.idempotence=true (InitProducerId + sequenced batches). Also checks
that the compressed codecs really compressed what the broker stored.
Segments are 1 MiB, so reads cross many segment boundaries.
"""
import sys
import time

import confluent_kafka as ck

from clients_common import (CODECS, Broker, Timer, check_compressed, check_record,
                            log_bytes, record_headers, record_key, record_timestamp,
                            record_value, segment_count)

COUNT = 100_000
IDEMPOTENT_COUNT = 100_000


def produce(bootstrap, topic, tag, codec, count, extra=None):
    failures = []

    def on_delivery(err, msg):
        if err is not None:
            failures.append(err)

    conf = {"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20,
            "batch.num.messages": 10000, "queue.buffering.max.messages": 200000}
    conf.update(extra or {})
    producer = ck.Producer(conf)
    for i in range(count):
        producer.produce(topic, key=record_key(tag, i), value=record_value(tag, i),
                         headers=record_headers(tag, i), timestamp=record_timestamp(i),
                         on_delivery=on_delivery)
        if i % 5000 == 0:
            producer.poll(0)
    left = producer.flush(60)
    assert left == 0, "%d records never delivered" % left
    assert not failures, "delivery failed: %s (and %d more)" % (failures[0], len(failures) - 1)


def consume_and_check(bootstrap, topic, tag, count):
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "check-" + topic,
                            "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.assign([ck.TopicPartition(topic, 0, 0)])
    seen = 0
    deadline = time.time() + 60
    try:
        while seen < count and time.time() < deadline:
            for msg in consumer.consume(10000, 1.0):
                if msg.error():
                    raise AssertionError("consume error: %s" % msg.error())
                ts_type, ts = msg.timestamp()
                assert ts_type == ck.TIMESTAMP_CREATE_TIME, ts_type
                check_record(tag, seen, msg.offset(), msg.key(), msg.value(),
                             msg.headers(), ts)
                seen += 1
        assert seen == count, "read %d of %d records" % (seen, count)
        # Nothing more: the log holds exactly what was produced.
        low, high = consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), 10)
        assert (low, high) == (0, count), (low, high)
        extra = consumer.consume(10, 0.5)
        assert not [m for m in extra if not m.error()], "records past the end"
    finally:
        consumer.close()


def run(broker, label, count, extra=None):
    sizes = {}
    for codec in CODECS:
        topic = "rdk-%s-%s" % (label, codec)
        with Timer("%s %s produce %d" % (label, codec, count)):
            produce(broker.bootstrap, topic, topic, codec, count, extra)
        with Timer("%s %s consume+check" % (label, codec)):
            consume_and_check(broker.bootstrap, topic, topic, count)
        sizes[codec] = log_bytes(broker, topic)
    print("  log bytes per codec:", sizes, flush=True)
    check_compressed(broker, sizes)
    assert segment_count(broker, "rdk-%s-none" % label) >= 2, "segments did not roll"


def main():
    with Broker(config={"log.segment.bytes": str(1 << 20)}) as broker:
        run(broker, "plain", COUNT)
        run(broker, "idem", IDEMPOTENT_COUNT, {"enable.idempotence": True, "acks": "all"})
    print("PASS librdkafka: 5 codecs x %d records, and x %d idempotent" % (COUNT, IDEMPOTENT_COUNT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
