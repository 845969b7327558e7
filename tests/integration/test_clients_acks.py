"""acks=0, 1 and all, as users set them, with librdkafka and kafka-python:
20,000 records each, all read back exactly. acks=0 gets no response at all
(Kafka sends none), so also: on one connection, a pipelined acks=0 Produce,
an acks=1 Produce and a Metadata request get exactly two responses, with the
right correlation ids, in order.
"""
import socket
import struct
import sys
import time

import confluent_kafka as ck
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.record.default_records import DefaultRecordBatchBuilder

from clients_common import Broker, Timer, check_record, record_headers, record_key, \
    record_timestamp, record_value

COUNT = 20_000


def produce_librdkafka(bootstrap, topic, acks):
    failures = []
    producer = ck.Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 10})
    for i in range(COUNT):
        producer.produce(topic, key=record_key(topic, i), value=record_value(topic, i),
                         headers=record_headers(topic, i), timestamp=record_timestamp(i),
                         on_delivery=lambda err, msg: err and failures.append(err))
        if i % 5000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    assert not failures, failures[:3]


def produce_kafka_python(bootstrap, topic, acks):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=acks, linger_ms=10,
                             batch_size=64 * 1024)
    futures = [producer.send(topic, key=record_key(topic, i), value=record_value(topic, i),
                             headers=record_headers(topic, i), timestamp_ms=record_timestamp(i))
               for i in range(COUNT)]
    producer.flush(30)
    for f in futures:
        f.get(0)
    producer.close(10)


def read_back(bootstrap, topic):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             max_poll_records=10000)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    seen = 0
    deadline = time.time() + 30
    while seen < COUNT and time.time() < deadline:
        for records in consumer.poll(500).values():
            for r in records:
                check_record(topic, seen, r.offset, r.key, r.value, r.headers, r.timestamp)
                seen += 1
    assert seen == COUNT, "%s: read %d of %d" % (topic, seen, COUNT)
    assert consumer.end_offsets([tp])[tp] == COUNT
    consumer.close()


# ---- raw pipelined requests ----
def frame(api_key, version, correlation_id, body):
    client = b"acks-test"
    payload = struct.pack(">hhih", api_key, version, correlation_id, len(client)) + client + body
    return struct.pack(">i", len(payload)) + payload


def produce_body(topic, acks, value):
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                        producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                        batch_size=1 << 20)
    builder.append(0, timestamp=record_timestamp(0), key=None, value=value, headers=[])
    records = bytes(builder.build())
    t = topic.encode()
    return (struct.pack(">hhi", -1, acks, 10000) + struct.pack(">ih", 1, len(t)) + t
            + struct.pack(">ii", 1, 0) + struct.pack(">i", len(records)) + records)


def read_frame(sock):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf
    size, = struct.unpack(">i", exact(4))
    return exact(size)


def check_pipelined_acks0(port, topic, end_offset):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(frame(0, 7, 1, produce_body(topic, 0, b"acks0"))
                  + frame(0, 7, 2, produce_body(topic, 1, b"acks1"))
                  + frame(3, 1, 3, struct.pack(">i", 0)))  # Metadata v1, no topics
        first = read_frame(s)
        second = read_frame(s)
        assert struct.unpack_from(">i", first)[0] == 2, "first response is for %d" % (
            struct.unpack_from(">i", first)[0])
        assert struct.unpack_from(">i", second)[0] == 3, "second response is for %d" % (
            struct.unpack_from(">i", second)[0])
        # acks=1 response: topic, partition 0, no error, offset right after the acks=0 record.
        pos = 4 + 4
        name_len, = struct.unpack_from(">h", first, pos)
        pos += 2 + name_len + 4
        _, err, base = struct.unpack_from(">ihq", first, pos)
        assert (err, base) == (0, end_offset + 1), "acks=1 after acks=0: error %d, offset %d" % (err, base)
        s.settimeout(0.5)
        try:
            extra = s.recv(1)
            raise AssertionError("unexpected bytes after the responses: %r" % extra)
        except socket.timeout:
            pass


def main():
    with Broker() as broker:
        for name, produce in (("rdk", produce_librdkafka), ("kpy", produce_kafka_python)):
            for acks in (0, 1, -1):
                topic = "acks-%s-%s" % (name, "all" if acks == -1 else acks)
                with Timer("%s acks=%s produce+read %d" % (name, acks, COUNT)):
                    if name == "kpy" and acks == -1:
                        acks = "all"
                    produce(broker.bootstrap, topic, acks)
                    read_back(broker.bootstrap, topic)
        # The topic must exist before the raw Produce (auto-created via Metadata).
        produce_librdkafka(broker.bootstrap, "acks-raw", 1)
        check_pipelined_acks0(broker.port, "acks-raw", COUNT)
        print("  pipelined acks=0, acks=1, Metadata: two responses, in order")
    print("PASS acks 0/1/all: librdkafka and kafka-python")
    return 0


if __name__ == "__main__":
    sys.exit(main())
