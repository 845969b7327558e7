"""What Kafka refuses in a Produce request, Eddy refuses with the same code,
per partition (each case a hand-made batch no client sends on purpose):

- two batches for one partition, or none: INVALID_RECORD (Produce v3+ holds
  exactly one); a base offset other than 0: INVALID_RECORD; magic 3:
  CORRUPT_MESSAGE; an idempotent batch without a sequence: INVALID_RECORD;
- timestamps, checked for every record against the topic's own
  message.timestamp.before.max.ms / after.max.ms: INVALID_TIMESTAMP; a
  producer that sets the LogAppendTime flag on a CreateTime topic:
  INVALID_TIMESTAMP; a keyless record on a compacted topic: INVALID_RECORD;
  each of these names the offending records in record_errors (KIP-467); a batch whose maxTimestamp understates its records is
  stored with the records' maximum, which ListOffsets MAX_TIMESTAMP and
  time-based retention rely on;
- an idempotent producer the partition has no state for may start at any
  sequence (Kafka since KIP-360), but on a partition that never held a
  record only at 0: OUT_OF_ORDER_SEQUENCE_NUMBER otherwise (Kafka 4.5,
  KAFKA-15591);
- one partition named twice in a request: both batches are appended, in
  the request's order, and each is answered (Kafka keeps only the last);
- acks=0: a failed request closes the connection (the client's only way
  to notice), a good one leaves it open;
- a topic's compression.type other than "producer" stores batches in that
  codec, recompressing what comes in another (read back intact); at the
  level its compression.<codec>.level sets (KIP-390: the same batch stored
  zstd at level 19 is smaller than at level 1, DescribeConfigs shows the
  levels, out-of-range levels are refused with INVALID_CONFIG).
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation_wire import Reader, connect, frame, i16, i32, recv_response, request_header, string, \
    wait_closed  # noqa: E402
from harness import Broker, check  # noqa: E402
from produce_wire import fetch_batches, produce  # noqa: E402
from record_batches import batch, crc32c  # noqa: E402

CORRUPT_MESSAGE = 2
INVALID_TIMESTAMP = 32
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_RECORD = 87
MINUTE = 60_000


def records(*deltas):
    return [(d, b"k%d" % i, b"v", ()) for i, d in enumerate(deltas)]


def now_ms():
    return int(time.time() * 1000)


def patched(data, offset, fmt, value):
    """The batch with one header field changed and its CRC recomputed."""
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into(">I", b, 17, crc32c(bytes(b[21:])))
    return bytes(b)


def error_of(sock, topic, data, **kw):
    return produce(sock, topic, 0, data, **kw)["error"]


def produce_partition_twice(sock, topic, first, second):
    """Produce v7 naming partition 0 of topic twice -> [(error, base_offset)] per entry."""
    entry = i32(0) + i32(len(first)) + first + i32(0) + i32(len(second)) + second
    body = string(None) + i16(1) + i32(5000) + i32(1) + string(topic) + i32(2) + entry
    sock.sendall(frame(request_header(0, 7, 77, "twice", False) + body))
    _, resp = recv_response(sock)
    r = Reader(resp)
    r.i32()
    r.string()
    out = []
    for _ in range(r.i32()):
        r.i32()
        error, base_offset = r.i16(), r.i64()
        r.i64()
        r.i64()
        out.append((error, base_offset))
    return out


def compression_scenario(b, admin):
    import confluent_kafka as ck
    from confluent_kafka.admin import NewTopic
    for name, codec in (("to-gzip", "gzip"), ("to-plain", "uncompressed")):
        admin.create_topics([NewTopic(name, 1, 1, config={"compression.type": codec})])[name].result(30)
    sent = [b"value-%d-" % i + b"x" * (i % 50) for i in range(500)]
    for topic, producer_codec in (("to-gzip", "none"), ("to-plain", "lz4")):
        p = ck.Producer({"bootstrap.servers": b.bootstrap, "compression.type": producer_codec, "linger.ms": 20})
        for i, v in enumerate(sent):
            p.produce(topic, key=b"k%d" % i, value=v, headers=[("h", b"%d" % i)], partition=0)
        assert p.flush(30) == 0
    check({x["codec"] for x in fetch_batches(b.port, "to-gzip")} == {1},
          "compression.type=gzip: uncompressed batches are stored gzip'd")
    check({x["codec"] for x in fetch_batches(b.port, "to-plain")} == {0},
          "compression.type=uncompressed: lz4 batches are stored uncompressed")
    for topic in ("to-gzip", "to-plain"):
        c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "read-" + topic, "auto.offset.reset": "earliest"})
        c.assign([ck.TopicPartition(topic, 0, 0)])
        got = []
        while len(got) < len(sent):
            m = c.poll(10)
            assert m is not None and not m.error(), "consumer got %s" % (m and m.error())
            got.append((m.key(), m.value(), m.headers()))
        c.close()
        check(got == [(b"k%d" % i, v, [("h", b"%d" % i)]) for i, v in enumerate(sent)],
              "%s: every record read back with its key, value and header" % topic)


def compression_level_scenario(b, admin):
    from confluent_kafka.admin import ConfigResource, NewTopic
    from confluent_kafka import KafkaException
    levels = {"zstd-1": "1", "zstd-19": "19"}
    for name, level in levels.items():
        config = {"compression.type": "zstd", "compression.zstd.level": level}
        admin.create_topics([NewTopic(name, 1, 1, config=config)])[name].result(30)
    # One uncompressed batch of text-like values, the same to both topics.
    words = [b"kafka", b"eddy", b"broker", b"segment", b"offset", b"batch", b"record", b"zstd"]
    recs = [(0, b"k%d" % i, b" ".join(words[(i * j) % 8] for j in range(40)), ()) for i in range(400)]
    s = connect(b.port, timeout=30)
    sizes = {}
    for name in levels:
        answer = produce(s, name, 0, batch(0, now_ms(), recs))
        check(answer["error"] == 0, "%s: the batch was accepted" % name)
        stored = fetch_batches(b.port, name)
        check([x["codec"] for x in stored] == [4], "%s: stored as one zstd batch" % name)
        sizes[name] = stored[0]["size"]
    s.close()
    check(sizes["zstd-19"] < sizes["zstd-1"],
          "compression.zstd.level: the same batch takes %d bytes at level 19, %d at level 1" %
          (sizes["zstd-19"], sizes["zstd-1"]))
    described = admin.describe_configs([ConfigResource("topic", "zstd-19")])
    entries = list(described.values())[0].result(30)
    check(entries["compression.zstd.level"].value == "19" and entries["compression.gzip.level"].value == "-1" and
          entries["compression.lz4.level"].value == "9",
          "DescribeConfigs: compression.zstd.level=19 as set, gzip -1 and lz4 9 by default")
    for key, value in (("compression.gzip.level", "0"), ("compression.zstd.level", "23"),
                       ("compression.lz4.level", "18")):
        try:
            admin.create_topics([NewTopic("bad-level", 1, 1, config={key: value})])["bad-level"].result(30)
            refused = None
        except KafkaException as e:
            refused = e.args[0].code()
        check(refused == 40, "%s=%s refused with INVALID_CONFIG (got %s)" % (key, value, refused))


def main():
    with Broker() as b:
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        bounds = {"message.timestamp.before.max.ms": str(MINUTE), "message.timestamp.after.max.ms": str(MINUTE)}
        for name, config in (("v", {}), ("ts", bounds)):
            admin.create_topics([NewTopic(name, 1, 1, config=config)])[name].result(30)
        s = connect(b.port, timeout=30)
        good = batch(0, now_ms(), records(0, 1))

        check(error_of(s, "v", good + good) == INVALID_RECORD, "two batches for one partition: INVALID_RECORD")
        check(error_of(s, "v", b"") == INVALID_RECORD, "no batch: INVALID_RECORD")
        check(error_of(s, "v", batch(5, now_ms(), records(0))) == INVALID_RECORD, "base offset 5: INVALID_RECORD")
        check(error_of(s, "v", patched(good, 16, ">b", 3)) == CORRUPT_MESSAGE, "magic 3: CORRUPT_MESSAGE")
        no_sequence = batch(0, now_ms(), records(0), producer_id=77, base_seq=-1, epoch=0)
        check(error_of(s, "v", no_sequence) == INVALID_RECORD, "idempotent batch without a sequence: INVALID_RECORD")

        back = batch(0, now_ms(), records(0, -10 * MINUTE))
        check(error_of(s, "ts", back) == INVALID_TIMESTAMP,
              "a record 10 min old on a topic allowing 1 min: INVALID_TIMESTAMP (its batch's base was fine)")
        ahead = batch(0, now_ms(), records(0, 10 * MINUTE), max_ts=now_ms())
        check(error_of(s, "ts", ahead) == INVALID_TIMESTAMP,
              "a record 10 min ahead, hidden by the batch's maxTimestamp: INVALID_TIMESTAMP")
        check(error_of(s, "v", back) == 0, "the same record on a topic with the default bounds is taken")
        mixed = produce(s, "ts", 0, batch(0, now_ms(), records(0, -10 * MINUTE, 0, 10 * MINUTE)))
        check(mixed["error"] == INVALID_TIMESTAMP and [i for i, _ in mixed["record_errors"]] == [1, 3] and
              all("out of the range" in m for _, m in mixed["record_errors"]),
              "record_errors name the two records out of range, by index: %r" % (mixed["record_errors"],))
        log_append = patched(good, 21, ">h", 0x08)
        flagged = produce(s, "v", 0, log_append)
        check(flagged["error"] == INVALID_TIMESTAMP and [i for i, _ in flagged["record_errors"]] == [0, 1],
              "the LogAppendTime flag from a producer on a CreateTime topic: INVALID_TIMESTAMP, every record named")
        admin.create_topics([NewTopic("compacted", 1, 1, config={"cleanup.policy": "compact"})])["compacted"].result(30)
        keyless = batch(0, now_ms(), [(0, b"k0", b"v", ()), (0, None, b"v", ()), (0, b"k2", b"v", ())])
        refused = produce(s, "compacted", 0, keyless)
        check(refused["error"] == INVALID_RECORD and [i for i, _ in refused["record_errors"]] == [1],
              "a keyless record on a compacted topic: INVALID_RECORD, record_errors [1]")
        check(produce(s, "v", 0, good + good)["record_errors"] == [],
              "a refusal of the whole batch names no record")
        base = now_ms() - 5000
        understated = batch(0, base, records(0, 3000), max_ts=base)
        r = produce(s, "v", 0, understated)
        stored = [x for x in fetch_batches(b.port, "v") if x["base_offset"] == r["base_offset"]]
        check(r["error"] == 0 and stored[0]["max_timestamp"] == base + 3000,
              "an understated maxTimestamp is stored as the records' maximum")

        admin.create_topics([NewTopic("twice", 1, 1)])["twice"].result(30)
        answers = produce_partition_twice(s, "twice", batch(0, now_ms(), records(0)), batch(0, now_ms(), records(0, 1)))
        stored = [x["count"] for x in fetch_batches(b.port, "twice")]
        check(answers == [(0, 0), (0, 1)] and stored == [1, 2],
              "one partition named twice: both batches appended in order and answered: %r, stored %r"
              % (answers, stored))

        fresh = batch(0, now_ms(), records(0), producer_id=4242, base_seq=17, epoch=0)
        check(error_of(s, "v", fresh) == 0, "an idempotent producer unknown here may start at sequence 17")
        admin.create_topics([NewTopic("empty", 1, 1)])["empty"].result(30)
        check(error_of(s, "empty", fresh) == OUT_OF_ORDER_SEQUENCE_NUMBER,
              "... but not on a partition that never held a record: OUT_OF_ORDER_SEQUENCE_NUMBER")
        first = batch(0, now_ms(), records(0), producer_id=4242, base_seq=0, epoch=0)
        check(error_of(s, "empty", first) == 0 and error_of(s, "empty", fresh) == OUT_OF_ORDER_SEQUENCE_NUMBER,
              "there it starts at 0, and 17 is still out of order after it")

        quiet = connect(b.port, timeout=30)
        produce(quiet, "v", 0, good, acks=0)
        check(not wait_closed(quiet, 1.0), "acks=0 with a good batch: the connection stays open")
        produce(quiet, "v", 0, good + good, acks=0)
        check(wait_closed(quiet, 5.0), "acks=0 with a refused batch: the connection is closed")
        compression_scenario(b, admin)
        compression_level_scenario(b, admin)
    print("PASS")


if __name__ == "__main__":
    main()
