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
