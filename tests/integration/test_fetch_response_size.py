"""How big a fetch response is, and that a consumer still reads everything.

A topic of 4 partitions holds 3 MiB of 1 KiB records in each (batches of
about 64 KiB). Raw Fetch v4 requests ask for 64 MiB, 16 MiB a partition:
  - by default (eddy.fetch.response.bytes = 1 MiB on a loopback round trip)
    the answer carries at most 1 MiB of whole batches, and fetching again
    from where it ended walks every partition to its high watermark;
  - a fetch whose min_bytes (3 MiB) is above that limit is answered at once
    with at least min_bytes, not held until max_wait_ms (10 s);
  - librdkafka and kafka-python consumers read all 4 x 3,072 records back,
    each partition in order, none twice;
  - with eddy.fetch.response.bytes=-1 the answer is as large as asked (all
    12 MiB), as in Kafka;
  - with the broker's fetch.max.bytes=200000 the answer stays within 200000
    bytes, but a first batch larger than that (500 KB) still comes whole
    (KIP-74).
"""
import itertools
import os
import struct
import sys
import time

import confluent_kafka as ck
import confluent_kafka.admin  # noqa: F401
from kafka import KafkaConsumer, TopicPartition

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation_wire import Reader, connect, frame, i8, i32, recv_response, request_header, string  # noqa: E402
from harness import Broker, check  # noqa: E402

TOPIC = "wide"
PARTITIONS = 4
RECORDS = 3072  # per partition
VALUE = 1024
MIB = 1 << 20
_correlation = itertools.count(1)


def i64(v):
    return struct.pack(">q", v)


def fetch(sock, topic, offsets, max_bytes=64 * MIB, partition_max=16 * MIB, min_bytes=1, max_wait_ms=100):
    """One Fetch v4 of the partitions in `offsets` ({partition: offset}).
    Returns {partition: (high watermark, [(base_offset, last_offset, size)])},
    whole batches only."""
    parts = b"".join(i32(p) + i64(o) + i32(partition_max) for p, o in sorted(offsets.items()))
    body = (i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(0) + i32(1) + string(topic) +
            i32(len(offsets)) + parts)
    sock.sendall(frame(request_header(1, 4, next(_correlation), "fetch-size") + body))
    _, resp = recv_response(sock)
    r = Reader(resp)
    r.i32()  # throttle
    out = {}
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            partition, error = r.i32(), r.i16()
            assert error == 0, "fetch error %d on partition %d" % (error, partition)
            high_watermark = r.i64()
            r.i64()  # last stable offset
            for _ in range(max(r.i32(), 0)):
                r.i64()
                r.i64()
            data = r.take(max(r.i32(), 0))
            out[partition] = (high_watermark, batches_in(data))
    return out


def batches_in(data):
    batches, pos = [], 0
    while pos + 61 <= len(data):
        base_offset, length = struct.unpack(">qi", data[pos:pos + 12])
        if pos + 12 + length > len(data):
            break
        last_delta, = struct.unpack(">i", data[pos + 23:pos + 27])
        batches.append((base_offset, base_offset + last_delta, 12 + length))
        pos += 12 + length
    return batches


def response_bytes(answer):
    return sum(size for _, batches in answer.values() for _, _, size in batches)


def fill(bootstrap):
    admin = ck.admin.AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([ck.admin.NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC].result(30)
    p = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 65536})
    for i in range(RECORDS):
        for partition in range(PARTITIONS):
            value = b"%d:%06d:" % (partition, i)
            while True:
                try:
                    p.produce(TOPIC, value=value + b"f" * (VALUE - len(value)), partition=partition)
                    break
                except BufferError:
                    p.poll(0.05)
    check(p.flush(60) == 0, "%d KiB records written to each of %d partitions" % (RECORDS, PARTITIONS))


def walk_all(port):
    """Fetch from offset 0 until every partition is at its high watermark;
    the largest answer seen."""
    sock = connect(port, timeout=30)
    offsets = {p: 0 for p in range(PARTITIONS)}
    largest, rounds = 0, 0
    while any(o < RECORDS for o in offsets.values()):
        rounds += 1
        assert rounds < 1000, "no progress: %r" % offsets
        answer = fetch(sock, TOPIC, {p: o for p, o in offsets.items() if o < RECORDS})
        largest = max(largest, response_bytes(answer))
        for partition, (high_watermark, batches) in answer.items():
            assert high_watermark == RECORDS, "high watermark %d" % high_watermark
            for base, last, _ in batches:
                assert base <= offsets[partition] <= last, "partition %d: batch %d-%d after offset %d" % (
                    partition, base, last, offsets[partition])
                offsets[partition] = last + 1
    sock.close()
    return largest, rounds


def consume_librdkafka(bootstrap):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "size-rdkafka", "enable.auto.commit": False,
                     "enable.partition.eof": False})
    c.assign([ck.TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    seen = {p: [] for p in range(PARTITIONS)}
    deadline = time.time() + 60
    while sum(map(len, seen.values())) < PARTITIONS * RECORDS and time.time() < deadline:
        for m in c.consume(1000, 1.0):
            assert not m.error(), m.error()
            seen[m.partition()].append((m.offset(), m.value()[:12]))
    c.close()
    return seen


def consume_kafka_python(bootstrap):
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    seen = {p: [] for p in range(PARTITIONS)}
    deadline = time.time() + 60
    while sum(map(len, seen.values())) < PARTITIONS * RECORDS and time.time() < deadline:
        for tp, records in c.poll(1000).items():
            seen[tp.partition] += [(r.offset, r.value[:12]) for r in records]
    c.close()
    return seen


def check_complete(seen, who):
    for partition, got in seen.items():
        want = [(i, (b"%d:%06d:" % (partition, i)).ljust(12, b"f")[:12]) for i in range(RECORDS)]
        if got != want:
            raise AssertionError("%s: partition %d read %d records, first wrong at %r" % (
                who, partition, len(got), next(((i, g) for i, (g, w) in enumerate(zip(got, want)) if g != w),
                                                  None)))
    check(True, "%s read all %d records, each partition in order, none twice" % (who, PARTITIONS * RECORDS))


def default_limit():
    with Broker() as b:
        fill(b.bootstrap)
        sock = connect(b.port, timeout=30)
        answer = fetch(sock, TOPIC, {p: 0 for p in range(PARTITIONS)})
        size = response_bytes(answer)
        check(0.9 * MIB < size <= MIB, "a 64 MiB fetch on loopback is answered with %d bytes (at most 1 MiB)" % size)

        start = time.time()
        answer = fetch(sock, TOPIC, {p: 0 for p in range(PARTITIONS)}, min_bytes=3 * MIB, max_wait_ms=10000)
        took = time.time() - start
        size = response_bytes(answer)
        check(size >= 3 * MIB and took < 2, "min_bytes of 3 MiB: %d bytes after %.2f s, not after max_wait_ms" % (
            size, took))
        sock.close()

        largest, rounds = walk_all(b.port)
        check(largest <= MIB, "fetching on from where each answer ended reaches every high watermark "
              "(%d fetches, largest answer %d bytes)" % (rounds, largest))
        check_complete(consume_librdkafka(b.bootstrap), "librdkafka")
        check_complete(consume_kafka_python(b.bootstrap), "kafka-python")


def kafka_sized_answers():
    with Broker(config={"eddy.fetch.response.bytes": "-1"}) as b:
        fill(b.bootstrap)
        sock = connect(b.port, timeout=30)
        answer = fetch(sock, TOPIC, {p: 0 for p in range(PARTITIONS)})
        size = response_bytes(answer)
        check(size > 11 * MIB and all(batches[-1][1] == RECORDS - 1 for _, batches in answer.values()),
              "eddy.fetch.response.bytes=-1: one fetch returns all four partitions (%d bytes)" % size)
        sock.close()


def broker_fetch_max_bytes():
    with Broker(config={"fetch.max.bytes": "200000", "eddy.fetch.response.bytes": "-1"}) as b:
        fill(b.bootstrap)
        sock = connect(b.port, timeout=30)
        size = response_bytes(fetch(sock, TOPIC, {p: 0 for p in range(PARTITIONS)}))
        check(100000 < size <= 200000, "fetch.max.bytes=200000: a 64 MiB fetch gets %d bytes" % size)

        p = ck.Producer({"bootstrap.servers": b.bootstrap})
        p.produce("big", value=b"b" * 500000)
        check(p.flush(30) == 0, "a 500 KB record written to topic big")
        batches = fetch(sock, "big", {0: 0})[0][1]
        check(len(batches) == 1 and batches[0][2] > 500000,
              "the first batch, larger than fetch.max.bytes, still comes whole (%d bytes)" % batches[0][2])
        sock.close()


def main():
    print("default: 1 MiB answers on loopback")
    default_limit()
    print("eddy.fetch.response.bytes=-1")
    kafka_sized_answers()
    print("fetch.max.bytes")
    broker_fetch_max_bytes()
    print("PASS fetch response size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
