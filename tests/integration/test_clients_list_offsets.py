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
No client here asks for the max timestamp (-3, ListOffsets v7+, Java's
OffsetSpec.maxTimestamp) or earliest-local (-4, v8+), so a raw flexible
ListOffsets v8 does; it also names a partition twice, which Kafka refuses
with INVALID_REQUEST in every copy, and asks for the max timestamp of an
lz4 batch whose newest timestamp is not on its last record, and of a
LogAppendTime batch (the first record carrying it / the base offset).

Then, on a broker with small segments and log.retention.bytes, once
retention has deleted old segments: earliest is the new log start offset
for both clients, a consumer from the beginning starts there, a timestamp
older than everything left answers the log start, and a consumer at offset
0 (now out of range) resets to it.
"""
import socket
import struct
import subprocess
import sys
import time

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, TopicPartition

from clients_common import Broker, log_bytes
from produce_wire import produce as produce_batch
from record_batches import batch

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


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def read_uvarint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def list_offsets_v8(port, partition, timestamp):
    """Raw flexible ListOffsets v8 for one partition -> (error, timestamp, offset)."""
    (index, error, ts, offset), = list_offsets_v8_many(port, [(partition, timestamp)])
    assert index == partition
    return error, ts, offset


def list_offsets_v8_many(port, queries, topic=TOPIC):
    """Raw flexible ListOffsets v8, queries [(partition, timestamp)] of one
    topic -> [(partition, error, timestamp, offset)] in answer order."""
    name = topic.encode()
    body = struct.pack(">ib", -1, 0) + uvarint(2) + uvarint(len(name) + 1) + name + uvarint(len(queries) + 1)
    for partition, timestamp in queries:
        body += struct.pack(">iiq", partition, -1, timestamp) + b"\0"
    body += b"\0" + b"\0"
    client = b"eddy-e2e"
    header = struct.pack(">hhih", 2, 8, 77, len(client)) + client + b"\0"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        resp = recv_exact(s, size)
    corr, = struct.unpack_from(">i", resp, 0)
    assert corr == 77
    _, pos = read_uvarint(resp, 4)          # response header tags
    pos += 4                                # throttle_time_ms
    n_topics, pos = read_uvarint(resp, pos)
    assert n_topics - 1 == 1
    name_len, pos = read_uvarint(resp, pos)
    pos += name_len - 1
    n_parts, pos = read_uvarint(resp, pos)
    answers = []
    for _ in range(n_parts - 1):
        index, error, ts, offset, _epoch = struct.unpack_from(">ihqqi", resp, pos)
        _, pos = read_uvarint(resp, pos + 26)  # partition tags
        answers.append((index, error, ts, offset))
    return answers


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return buf


def check_raw(port):
    checked = 0
    for p in range(PARTITIONS):
        newest = max(range(COUNT), key=lambda off: (timestamp(p, off), -off))
        got = list_offsets_v8(port, p, -3)
        assert got == (0, timestamp(p, newest), newest), "max timestamp p%d: %s, want %s" % (
            p, got, (0, timestamp(p, newest), newest))
        got = list_offsets_v8(port, p, -4)
        assert got[0] == 0 and got[2] == 0, "earliest-local p%d: %s" % (p, got)
        got = list_offsets_v8(port, p, -2)
        assert got[0] == 0 and got[2] == 0, "earliest p%d: %s" % (p, got)
        got = list_offsets_v8(port, p, -1)
        assert got[0] == 0 and got[2] == COUNT, "latest p%d: %s" % (p, got)
        checked += 4
    return checked


INVALID_REQUEST = 42


def check_duplicates(port):
    """A partition named twice in one ListOffsets (v1+) is refused in every
    copy with INVALID_REQUEST, as Kafka does (Eddy answered each copy); the
    other partitions are answered as usual."""
    got = list_offsets_v8_many(port, [(0, -2), (1, -1), (0, -1)])
    want = [(0, INVALID_REQUEST, -1, -1), (1, 0, -1, COUNT), (0, INVALID_REQUEST, -1, -1)]
    assert got == want, "duplicate partition: %r, want %r" % (got, want)
    return 1


def produce_one_batch(bootstrap, topic, timestamps):
    producer = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 1000, "compression.type": "lz4"})
    for i, ts in enumerate(timestamps):
        producer.produce(topic, value=b"%d" % i, partition=0, timestamp=ts)
    assert producer.flush(30) == 0


def check_max_timestamp_record(broker):
    """MAX_TIMESTAMP is the first record carrying the newest timestamp, here
    inside an lz4 batch, and a LogAppendTime batch's base offset (Kafka's
    RecordBatch.offsetOfMaxTimestamp); Eddy answered the batch's last offset.
    (Offset 1 is the answer however librdkafka splits the first topic's
    records into batches; the second topic gets one hand-made batch.)"""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topics = [NewTopic("newest", 1, 1),
              NewTopic("appended", 1, 1, config={"message.timestamp.type": "LogAppendTime"})]
    for future in admin.create_topics(topics).values():
        future.result(30)
    produce_one_batch(broker.bootstrap, "newest", [BASE + 10, BASE + 20, BASE + 20, BASE + 5])
    (index, error, ts, offset), = list_offsets_v8_many(broker.port, [(0, -3)], topic="newest")
    assert (error, ts, offset) == (0, BASE + 20, 1), "max timestamp in an lz4 batch: %r" % (
        (error, ts, offset),)
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
        got = produce_batch(sock, "appended", 0, batch(0, BASE, [(d, None, b"v", ()) for d in range(3)]))
        assert got["error"] == 0 and got["base_offset"] == 0, got
    (index, error, ts, offset), = list_offsets_v8_many(broker.port, [(0, -3)], topic="appended")
    assert error == 0 and offset == 0 and ts > BASE + 10**9, "max timestamp, LogAppendTime: %r" % (
        (error, ts, offset),)
    print("  max timestamp: the first record carrying it (lz4 batch, LogAppendTime batch)", flush=True)


def check_all(broker, when):
    bootstrap = broker.bootstrap
    n = check_kafka_python(bootstrap)
    n += check_librdkafka(bootstrap)
    n += check_kcat(bootstrap)
    n += check_raw(broker.port)
    n += check_duplicates(broker.port)
    print("  %s: %d lookups right" % (when, n), flush=True)


def check_retention():
    # Time retention off: the records' CreateTimes are years old.
    config = {"log.segment.bytes": "100000", "log.retention.bytes": "300000",
              "log.retention.ms": "-1", "log.retention.check.interval.ms": "200"}
    topic, count = "retained", 30000
    with Broker(config=config) as broker:
        producer = ck.Producer({"bootstrap.servers": broker.bootstrap, "batch.size": 16384,
                                "linger.ms": 5})
        for i in range(count):
            producer.produce(topic, value=b"%d" % i + b"." * 80, partition=0,
                             timestamp=BASE + i)
            if i % 5000 == 0:
                producer.poll(0)
        assert producer.flush(30) == 0
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
        tp = TopicPartition(topic, 0)
        deadline = time.time() + 20
        start = 0
        while start == 0 and time.time() < deadline:
            start = consumer.beginning_offsets([tp])[tp]
            time.sleep(0.1)
        assert 0 < start < count, "log start offset %d after retention" % start
        time.sleep(1)  # let retention finish deleting
        start = consumer.beginning_offsets([tp])[tp]
        kept = log_bytes(broker, topic)
        # Kafka deletes a whole old segment only while what stays is still
        # at least retention.bytes.
        assert 300000 <= kept < 300000 + 100000 + 20000, "retention kept %d bytes" % kept
        assert consumer.end_offsets([tp])[tp] == count
        # Timestamp of record 0, long deleted: the first record left.
        found = consumer.offsets_for_times({tp: BASE})[tp]
        assert (found.offset, found.timestamp) == (start, BASE + start), found
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        recs = []
        for _ in range(20):
            recs = consumer.poll(500, max_records=1).get(tp)
            if recs:
                break
        assert recs and recs[0].offset == start and recs[0].value.startswith(b"%d." % start), \
            "from the beginning read %s, log start %d" % (recs[:1], start)
        consumer.close()

        rdk = ck.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "retained",
                           "auto.offset.reset": "earliest"})
        low, high = rdk.get_watermark_offsets(ck.TopicPartition(topic, 0), 10, cached=False)
        assert (low, high) == (start, count), (low, high, start)
        rdk.assign([ck.TopicPartition(topic, 0, 0)])  # below the log start: out of range
        msg = first_message(rdk)
        assert msg.offset() == start, "reset from 0 read offset %d, log start %d" % (
            msg.offset(), start)
        rdk.close()
        print("  retention: log start %d of %d (%d bytes kept); earliest, timestamps and "
              "resets follow it" % (start, count, kept), flush=True)


def main():
    with Broker(config={"num.partitions": str(PARTITIONS)}) as broker:
        produce(broker.bootstrap)
        check_all(broker, "after produce")
        check_max_timestamp_record(broker)
        broker.kill9()
        broker.start()
        check_all(broker, "after kill -9 and restart")
    check_retention()
    print("PASS ListOffsets: earliest, latest, by timestamp (kafka-python, librdkafka, kcat)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
