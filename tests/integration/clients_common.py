"""Shared pieces of the test_clients_* end-to-end tests.

Every client test produces the same deterministic records (key, value,
headers, timestamp all derived from the record's sequence number and a
tag naming the run) so that reading them back can check each field
exactly, and so that one client can read what another wrote.
"""
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402,F401  (re-exported for the tests)

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
BASE_TS = 1_700_000_000_000
# Compressible filler: a codec that is really used shrinks the log a lot.
FILLER = b"abcdefghij" * 6


def record_key(tag, i):
    return b"%s-key-%06d" % (tag.encode(), i)


def record_value(tag, i):
    return b"%s-value-%06d-" % (tag.encode(), i) + FILLER[: i % 60]


def record_headers(tag, i):
    return [("seq", b"%d" % i), ("run", tag.encode())]


def record_timestamp(i):
    return BASE_TS + i


class Mismatch(AssertionError):
    pass


def check_record(tag, i, offset, key, value, headers, timestamp, check_ts=True):
    """Raise Mismatch unless the i-th record read back is exactly the i-th written."""
    if offset != i:
        raise Mismatch("record %d read at offset %d" % (i, offset))
    if key != record_key(tag, i):
        raise Mismatch("offset %d: key %r, want %r" % (i, key, record_key(tag, i)))
    if value != record_value(tag, i):
        raise Mismatch("offset %d: value %r, want %r" % (i, value, record_value(tag, i)))
    want_h = [(k, v) for k, v in record_headers(tag, i)]
    got_h = [(k, bytes(v) if v is not None else None) for k, v in (headers or [])]
    if got_h != want_h:
        raise Mismatch("offset %d: headers %r, want %r" % (i, got_h, want_h))
    if check_ts and timestamp != record_timestamp(i):
        raise Mismatch("offset %d: timestamp %r, want %r" % (i, timestamp, record_timestamp(i)))


def log_bytes(broker, topic, partition=0):
    """Bytes of segment data the broker holds for one partition."""
    pattern = os.path.join(broker.data_dir, "%s-%d" % (topic, partition), "*.log")
    return sum(os.path.getsize(p) for p in glob.glob(pattern))


def segment_count(broker, topic, partition=0):
    pattern = os.path.join(broker.data_dir, "%s-%d" % (topic, partition), "*.log")
    return len(glob.glob(pattern))


def check_compressed(broker, sizes):
    """sizes: codec -> log bytes for the same records; every codec must shrink them."""
    plain = sizes.get("none")
    if not plain:
        return
    for codec, size in sizes.items():
        if codec != "none" and size > plain // 2:
            raise AssertionError("%s log is %d bytes vs %d uncompressed: codec not used?"
                                 % (codec, size, plain))


class Timer:
    def __init__(self, what):
        self.what = what

    def __enter__(self):
        self.start = time.time()
        return self

    def __exit__(self, *exc):
        self.took = time.time() - self.start
        if exc[0] is None:
            print("  %-40s %6.2fs" % (self.what, self.took), flush=True)
        return False


# ---- check programs in other languages (Go, JavaScript) ----

def run_check_program(command, steps, config=None):
    """Start a broker and run `command + [bootstrap, check, *args]` for each
    (label, check, *args) of steps, timed; the program prints what it did
    and exits non-zero with the first mismatch."""
    import subprocess
    with Broker(config=config) as b:
        for label, check, *args in steps:
            with Timer(label):
                res = subprocess.run(command + [b.bootstrap, check] + list(args),
                                     capture_output=True, timeout=240)
                sys.stdout.write(res.stdout.decode(errors="replace"))
                assert res.returncode == 0, "%s %s failed:\n%s" % (
                    os.path.basename(command[-1]), check, res.stderr.decode(errors="replace")[-3000:])


# ---- kill -9 tests: a producer in its own process, and the check after ----
#
# The producer writes one line "partition offset seq" per acknowledged record
# to a file (line-buffered, so the test can watch progress) and, at the end,
# "error seq code" lines for records that failed. Record values are the
# decimal sequence number (after an optional "_value_prefix" given in the
# extra settings); sequence i goes to partition i % partitions.

def crash_producer_main(bootstrap, topic, count, partitions, rate, out_path, extra_json):
    import json
    import confluent_kafka as ck
    conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
            "message.timeout.ms": 60000, "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 200, "queue.buffering.max.messages": 1000000}
    extra = json.loads(extra_json)
    prefix = extra.pop("_value_prefix", "").encode()  # not a librdkafka setting
    conf.update(extra)
    out = open(out_path, "w", buffering=1)
    errors = []

    def on_delivery(err, msg):
        seq = int(msg.value()[len(prefix):])
        if err is not None:
            errors.append((seq, err))
        else:
            out.write("%d %d %d\n" % (msg.partition(), msg.offset(), seq))

    producer = ck.Producer(conf)
    burst = max(1, rate // 100)
    for seq in range(count):
        producer.produce(topic, value=prefix + b"%d" % seq, partition=seq % partitions,
                         on_delivery=on_delivery)
        if seq % burst == burst - 1:
            producer.poll(0.01)
    left = producer.flush(120)
    for seq, err in errors:
        out.write("error %d %s\n" % (seq, err.name()))
    out.write("done %d unflushed\n" % left)
    out.close()
    return 0


def start_crash_producer(bootstrap, topic, count, partitions, rate, out_path, extra=None):
    import json
    import subprocess
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "crash-producer",
                             bootstrap, topic, str(count), str(partitions), str(rate), out_path,
                             json.dumps(extra or {})])


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def read_acks(path):
    """-> (acks {partition: [(offset, seq)]}, errors [(seq, name)], finished)"""
    acks, errors, finished = {}, [], False
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "error":
                errors.append((int(parts[1]), parts[2]))
            elif parts[0] == "done":
                finished = int(parts[1]) == 0
            else:
                p, off, seq = map(int, parts)
                acks.setdefault(p, []).append((off, seq))
    return acks, errors, finished


def read_partition_log(bootstrap, topic, partition, timeout=60):
    """Every record of a partition as [(offset, seq)], read with librdkafka."""
    import confluent_kafka as ck
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "verify",
                            "enable.auto.commit": False, "enable.partition.eof": True,
                            "isolation.level": "read_uncommitted"})
    low, high = consumer.get_watermark_offsets(ck.TopicPartition(topic, partition), 10)
    consumer.assign([ck.TopicPartition(topic, partition, low)])
    got = []
    deadline = time.time() + timeout
    while (not got or got[-1][0] < high - 1) and high > low and time.time() < deadline:
        for msg in consumer.consume(10000, 1.0):
            if msg.error():
                if msg.error().code() == ck.KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError("consume: %s" % msg.error())
            got.append((msg.offset(), int(msg.value())))
    consumer.close()
    assert not got or got[-1][0] == high - 1, "read up to %s of %d" % (got[-1:], high)
    return got


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "crash-producer":
    a = sys.argv[2:]
    sys.exit(crash_producer_main(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), a[5], a[6]))
