"""message.max.bytes is the largest record batch (its whole size, base
offset and length fields included, as in Kafka) that Produce accepts.

With message.max.bytes=10000, uncompressed single-record batches whose
value is sized so that the batch is exactly 10000 bytes are accepted, and
batches of 10001 bytes are refused with MESSAGE_TOO_LARGE (10), through:
  - raw Produce v3 and v7 requests (batches built byte by byte, sizes known),
  - kafka-python (the error a user sees is MessageSizeTooLargeError),
  - librdkafka (delivery report MSG_SIZE_TOO_LARGE).
A gzip batch of 50,000 bytes of records that compresses below the limit is
accepted (the limit is on the batch as sent). Then the topic holds exactly
the accepted records, readable even by a consumer whose fetch limits are
smaller than one batch (the first batch is always returned, KIP-74).
"""
import socket
import struct
import sys

import confluent_kafka as ck
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import MessageSizeTooLargeError
from kafka.record.default_records import DefaultRecordBatchBuilder

from clients_common import Broker

LIMIT = 10000
TOPIC = "limit"
MESSAGE_TOO_LARGE = 10
KEY = b"key"
TS = 1_700_000_000_000


def batch_bytes(value, key=KEY):
    """One uncompressed record, no headers, no producer id: what every client here sends."""
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                        producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                        batch_size=1 << 30)
    builder.append(0, timestamp=TS, key=key, value=value, headers=[])
    return bytes(builder.build())


def value_for_batch_size(size):
    """A value such that the single-record batch is exactly `size` bytes."""
    # Overhead is 61 header bytes plus the record's varints, which grow by a
    # byte at a time as the value grows: search downwards from the estimate.
    n = size - 61
    while n > 0 and len(batch_bytes(b"v" * n)) > size:
        n -= 1
    value = b"v" * n
    assert len(batch_bytes(value)) == size, "no value gives a %d-byte batch" % size
    return value


# ---- raw Produce ----
def produce_raw(port, version, records, correlation_id):
    """Send one Produce (acks=1) for partition 0; return (error_code, base_offset)."""
    client = b"eddy-e2e"
    topic = TOPIC.encode()
    body = struct.pack(">h", -1)  # transactional_id: null (v3+)
    body += struct.pack(">hi", 1, 10000)
    body += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic
    body += struct.pack(">i", 1) + struct.pack(">i", 0)
    body += struct.pack(">i", len(records)) + records
    header = struct.pack(">hhih", 0, version, correlation_id, len(client)) + client
    frame = header + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        resp = recv_exact(s, size)
    corr, = struct.unpack_from(">i", resp, 0)
    assert corr == correlation_id
    pos = 4
    n_topics, = struct.unpack_from(">i", resp, pos)
    pos += 4
    assert n_topics == 1
    name_len, = struct.unpack_from(">h", resp, pos)
    pos += 2 + name_len
    n_parts, = struct.unpack_from(">i", resp, pos)
    pos += 4
    assert n_parts == 1
    index, error, base_offset = struct.unpack_from(">ihq", resp, pos)
    assert index == 0
    return error, base_offset


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return buf


def main():
    accepted = []  # values that must be in the log, in order
    with Broker(config={"message.max.bytes": str(LIMIT)}) as broker:
        at_limit = value_for_batch_size(LIMIT)
        over_limit = value_for_batch_size(LIMIT + 1)
        print("  value of %d bytes -> %d-byte batch; %d bytes -> %d-byte batch"
              % (len(at_limit), LIMIT, len(over_limit), LIMIT + 1))

        # kafka-python: creates the topic on first use (Metadata auto-create).
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0, retries=0,
                                 acks=1, max_request_size=1 << 20)
        meta = producer.send(TOPIC, key=KEY, value=b"first", timestamp_ms=TS).get(10)
        accepted.append(b"first")
        assert meta.offset == 0

        # Raw Produce, two versions.
        for version in (3, 7):
            err, offset = produce_raw(broker.port, version, batch_bytes(at_limit), 100 + version)
            assert err == 0, "v%d: %d-byte batch refused with error %d" % (version, LIMIT, err)
            accepted.append(at_limit)
            err, offset = produce_raw(broker.port, version, batch_bytes(over_limit), 200 + version)
            assert err == MESSAGE_TOO_LARGE, "v%d: %d-byte batch got error %d, want %d" % (
                version, LIMIT + 1, err, MESSAGE_TOO_LARGE)
        print("  raw Produce v3, v7: %d bytes accepted, %d refused with MESSAGE_TOO_LARGE"
              % (LIMIT, LIMIT + 1))

        # kafka-python: one record per batch (linger 0, flush after each).
        producer.send(TOPIC, key=KEY, value=at_limit, timestamp_ms=TS).get(10)
        accepted.append(at_limit)
        try:
            producer.send(TOPIC, key=KEY, value=over_limit, timestamp_ms=TS).get(10)
            raise AssertionError("kafka-python: %d-byte batch accepted" % (LIMIT + 1))
        except MessageSizeTooLargeError:
            pass
        producer.close(5)
        print("  kafka-python: accepted at the limit, MessageSizeTooLargeError one byte over")

        # librdkafka: the broker, not the client, must decide.
        reports = []
        rdk = ck.Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0,
                           "message.max.bytes": 1 << 20, "retries": 0,
                           "compression.type": "none"})
        for value in (at_limit, over_limit):
            rdk.produce(TOPIC, key=KEY, value=value, partition=0, timestamp=TS,
                        on_delivery=lambda err, msg: reports.append(err))
            assert rdk.flush(10) == 0
        assert reports[0] is None, "librdkafka: %d-byte batch refused: %s" % (LIMIT, reports[0])
        accepted.append(at_limit)
        assert reports[1] is not None and reports[1].code() == ck.KafkaError.MSG_SIZE_TOO_LARGE, \
            "librdkafka: %d-byte batch got %s" % (LIMIT + 1, reports[1])
        print("  librdkafka: accepted at the limit, MSG_SIZE_TOO_LARGE one byte over")

        # Compression: the limit is on the compressed batch.
        big = b"a" * 50000
        gz = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0, retries=0, acks=1,
                           compression_type="gzip", max_request_size=1 << 20)
        gz.send(TOPIC, key=KEY, value=big, timestamp_ms=TS).get(10)
        gz.close(5)
        accepted.append(big)
        print("  gzip batch of a %d-byte record accepted" % len(big))

        # The log holds exactly the accepted records; fetch limits of 1000
        # bytes still return whole batches, one at a time.
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                                 fetch_max_bytes=1000, max_partition_fetch_bytes=1000)
        tp = TopicPartition(TOPIC, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got = []
        for _ in range(20):
            for records in consumer.poll(500).values():
                got += [(r.offset, r.value) for r in records]
            if len(got) >= len(accepted):
                break
        consumer.close()
        assert got == list(enumerate(accepted)), "log holds %r" % (
            [(o, len(v)) for o, v in got],)
        print("  log holds the %d accepted records" % len(got))
    print("PASS message.max.bytes: exactly %d accepted, %d refused" % (LIMIT, LIMIT + 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
