"""Records of every shape a user may send survive the round trip, written by
librdkafka (uncompressed and zstd) and read by librdkafka and kafka-python:
null and empty keys and values (tombstones), a header with a null value,
repeated header names, 100 headers, binary bytes (all 256 values, NULs), a
900 KB record under the default message.max.bytes, timestamps 1 ms and far in
the future, and unicode bytes.
"""
import sys
import time

import confluent_kafka as ck
from kafka import KafkaConsumer, TopicPartition

from clients_common import Broker

BINARY = bytes(range(256)) * 4
SHAPES = [
    # (key, value, headers, timestamp)
    (None, None, None, 1_700_000_000_000),
    (b"", b"", None, 1_700_000_000_001),
    (b"tombstone", None, None, 1_700_000_000_002),
    (None, b"no key", None, 1_700_000_000_003),
    (b"k", b"v", [("null-value", None)], 1_700_000_000_004),
    (b"k", b"v", [("dup", b"1"), ("dup", b"2"), ("dup", b"")], 1_700_000_000_005),
    (b"k", b"v", [("h%03d" % i, b"%d" % i) for i in range(100)], 1_700_000_000_006),
    (BINARY, BINARY, [("bin", BINARY)], 1_700_000_000_007),
    (b"big", bytes(i * 7 % 251 for i in range(900_000)), None, 1_700_000_000_008),
    (b"epoch", b"1 ms after the epoch", None, 1),  # 0 means "now" to librdkafka
    (b"future", b"year 2200", None, 7_258_118_400_000),
    ("ключ-キー".encode(), "значение-値-🙂".encode(), [("ヘッダ", "値".encode())],
     1_700_000_000_009),
]


def norm_headers(h):
    return [(k, None if v is None else bytes(v)) for k, v in (h or [])]


def produce(bootstrap, topic, codec):
    producer = ck.Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                            "linger.ms": 5, "message.max.bytes": 1_000_000})
    errors = []
    for key, value, headers, ts in SHAPES:
        kwargs = {"key": key, "value": value, "timestamp": ts, "partition": 0,
                  "on_delivery": lambda err, msg: err and errors.append(err)}
        if headers is not None:
            kwargs["headers"] = headers
        producer.produce(topic, **kwargs)
    assert producer.flush(30) == 0
    assert not errors, errors


def check(got, who, topic):
    assert len(got) == len(SHAPES), "%s %s: %d records, want %d" % (who, topic, len(got),
                                                                   len(SHAPES))
    for i, ((key, value, headers, ts), (gk, gv, gh, gts)) in enumerate(zip(SHAPES, got)):
        where = "%s %s record %d" % (who, topic, i)
        assert gk == key, "%s: key %r, want %r" % (where, gk and gk[:40], key and key[:40])
        assert gv == value, "%s: value differs (%s vs %s bytes)" % (
            where, gv and len(gv), value and len(value))
        assert norm_headers(gh) == norm_headers(headers), "%s: headers %r" % (where, gh)
        assert gts == ts, "%s: timestamp %d, want %d" % (where, gts, ts)


def read_librdkafka(bootstrap, topic):
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "shapes"})
    consumer.assign([ck.TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.time() + 30
    while len(got) < len(SHAPES) and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert not msg.error(), msg.error()
        got.append((msg.key(), msg.value(), msg.headers(), msg.timestamp()[1]))
    consumer.close()
    return got


def read_kafka_python(bootstrap, topic):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = []
    deadline = time.time() + 30
    while len(got) < len(SHAPES) and time.time() < deadline:
        for records in consumer.poll(500).values():
            got += [(r.key, r.value, r.headers, r.timestamp) for r in records]
    consumer.close()
    return got


def main():
    with Broker() as broker:
        for codec in ("none", "zstd"):
            topic = "shapes-" + codec
            produce(broker.bootstrap, topic, codec)
            check(read_librdkafka(broker.bootstrap, topic), "librdkafka", topic)
            check(read_kafka_python(broker.bootstrap, topic), "kafka-python", topic)
            print("  %s: %d shapes read back by librdkafka and kafka-python" % (
                topic, len(SHAPES)), flush=True)
    print("PASS record shapes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
