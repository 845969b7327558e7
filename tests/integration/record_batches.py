"""Record batches (magic 2) encoded byte by byte, CRC-32C included, for tests
that must not share Eddy's own record_batch module (and its bugs)."""
import struct

from foundation_wire import uvarint


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def varint(n):
    return uvarint((n << 1) ^ (n >> 63))  # zigzag


def nullable(b):
    return varint(-1) if b is None else varint(len(b)) + b


def record(offset_delta, ts_delta, key, value, headers=()):
    body = bytes([0]) + varint(ts_delta) + varint(offset_delta) + nullable(key) + nullable(value)
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk + nullable(hv)
    return varint(len(body)) + body


def batch(base_offset, base_ts, records, producer_id=-1, base_seq=-1, max_ts=None, epoch=None):
    """records: [(timestamp delta, key, value, headers)]; max_ts and epoch default to what they should be."""
    recs = b"".join(record(i, d, k, v, h) for i, (d, k, v, h) in enumerate(records))
    if max_ts is None:
        max_ts = base_ts + max(r[0] for r in records)
    if epoch is None:
        epoch = -1 if producer_id < 0 else 0
    after_crc = struct.pack(">hiqqqhii", 0, len(records) - 1, base_ts, max_ts, producer_id, epoch,
                            base_seq, len(records)) + recs
    crc = crc32c(after_crc)
    after_length = struct.pack(">ibI", 0, 2, crc) + after_crc
    return struct.pack(">qi", base_offset, len(after_length)) + after_length
