#!/usr/bin/python3
"""kafka-dump-log.sh on hand-built segment and index files.

Broker capability needed: NONE (reads files directly). The segment is
encoded here byte by byte (magic 2 batches, CRC-32C), independently of Eddy's
own record_batch module that the tool uses, so each checks the other.
"""
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from record_batches import batch  # noqa: E402
from tools_common import check, finish, matches, run, show  # noqa: E402


def stored_crc(batch):
    """The CRC-32C a batch header carries (bytes 17..20), as DumpLogSegments prints it."""
    return struct.unpack(">I", batch[17:21])[0]


def main():
    tmp = tempfile.mkdtemp(prefix="eddy-dump-log-")
    log = os.path.join(tmp, "00000000000000000005.log")
    first = batch(5, 1700000000000, [(0, b"k1", b"hello", [(b"h1", b"x")]), (7, None, b"world", [])])
    second = batch(7, 1700000001000, [(0, None, b"third", [])], producer_id=42, base_seq=3)
    with open(log, "wb") as f:
        f.write(first + second)
    index = os.path.join(tmp, "00000000000000000005.index")
    with open(index, "wb") as f:
        f.write(struct.pack(">II", 0, 0) + struct.pack(">II", 2, len(first)) + b"\0" * 64)
    timeindex = os.path.join(tmp, "00000000000000000005.timeindex")
    with open(timeindex, "wb") as f:
        f.write(struct.pack(">qI", 1700000000007, 1) + b"\0" * 24)

    rc, out, err, _ = run("kafka-dump-log", ["--files", log])
    check("dump-log exits 0", rc == 0, show(rc, out, err))
    check("dump-log prints 'Dumping <file>' and the starting offset",
          out.startswith("Dumping %s\nLog starting offset: 5\n" % log), show(rc, out, err))
    check("dump-log batch line in Kafka's layout",
          matches(r"^baseOffset: 5 lastOffset: 6 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 "
                  r"producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false "
                  r"deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000007 size: %d magic: 2 "
                  r"compresscodec: none crc: %d isvalid: true$" % (len(first), stored_crc(first)), out),
          show(rc, out, err))
    check("dump-log second batch with producer fields and position",
          matches(r"^baseOffset: 7 lastOffset: 7 count: 1 baseSequence: 3 lastSequence: 3 producerId: 42 "
                  r"producerEpoch: 0 .* position: %d CreateTime: 1700000001000 size: %d magic: 2 "
                  r"compresscodec: none crc: %d isvalid: true$" % (len(first), len(second), stored_crc(second)),
                  out), show(rc, out, err))
    check("dump-log without --print-data-log prints no records", "| offset:" not in out, show(rc, out, err))

    rc, out, err, _ = run("kafka-dump-log", ["--files", log, "--print-data-log"])
    check("dump-log --print-data-log record with key and header",
          matches(r"^\| offset: 5 CreateTime: 1700000000000 keySize: 2 valueSize: 5 sequence: -1 "
                  r"headerKeys: \[h1\] key: k1 payload: hello$", out), show(rc, out, err))
    check("dump-log --print-data-log record without key",
          matches(r"^\| offset: 6 CreateTime: 1700000000007 keySize: -1 valueSize: 5 sequence: -1 "
                  r"headerKeys: \[\] payload: world$", out), show(rc, out, err))
    check("dump-log record sequence = baseSequence + delta",
          matches(r"^\| offset: 7 CreateTime: 1700000001000 keySize: -1 valueSize: 5 sequence: 3 ", out),
          show(rc, out, err))

    rc, out, err, _ = run("kafka-dump-log", ["--files", "%s,%s" % (index, timeindex)])
    check("dump-log offset index entries",
          "Dumping %s\noffset: 5 position: 0\noffset: 7 position: %d\n" % (index, len(first)) in out,
          show(rc, out, err))
    check("dump-log time index entries", "timestamp: 1700000000007 offset: 6\n" in out, show(rc, out, err))

    corrupt = bytearray(first)
    corrupt[-1] ^= 0xFF
    bad = os.path.join(tmp, "00000000000000000000.log")
    with open(bad, "wb") as f:
        f.write(bytes(corrupt) + b"\x00\x01\x02")
    rc, out, err, _ = run("kafka-dump-log", ["--files", bad])
    check("dump-log flags a bad CRC (stored crc printed, isvalid: false)",
          matches(r"crc: %d isvalid: false$" % stored_crc(first), out), show(rc, out, err))
    check("dump-log reports trailing invalid bytes", "Found 3 invalid bytes at the end of" in out,
          show(rc, out, err))
    finish()


if __name__ == "__main__":
    main()
