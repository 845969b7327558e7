"""Hand-encoded Produce, InitProducerId and Fetch for tests that need what
no client sends on purpose: an idempotent batch retried at a chosen moment,
a batch of a chosen shape. Batches themselves come from record_batches.py.
"""
import itertools
import struct

from foundation_wire import Reader, compact_string, connect, frame, i8, i16, i32, recv_response, \
    request_header, string, uvarint

_correlation = itertools.count(1000)


def i64(v):
    return struct.pack(">q", v)


def compact_bytes(b):
    return uvarint(0) if b is None else uvarint(len(b) + 1) + b


def produce_request(version, correlation_id, topic, partition, records, acks=-1, timeout_ms=5000):
    flexible = version >= 9
    if flexible:
        body = (compact_string(None) + i16(acks) + i32(timeout_ms) + uvarint(2) + compact_string(topic) +
                uvarint(2) + i32(partition) + compact_bytes(records) + b"\x00" + b"\x00" + b"\x00")
    else:
        body = (string(None) + i16(acks) + i32(timeout_ms) + i32(1) + string(topic) + i32(1) + i32(partition) +
                (i32(-1) if records is None else i32(len(records)) + records))
    return frame(request_header(0, version, correlation_id, "produce-wire", flexible) + body)


def parse_produce_response(version, body):
    """The first partition's answer: error, base_offset, log_append_time, log_start_offset."""
    r = Reader(body)
    flexible = version >= 9
    if flexible:
        r.skip_tags()

    def count():
        return r.uvarint() - 1 if flexible else r.i32()

    def text():
        if not flexible:
            return r.string()
        n = r.uvarint() - 1
        return None if n < 0 else r.take(n).decode()

    def record_error():
        index, message = r.i32(), text()
        if flexible:
            r.skip_tags()  # each element of an array of structs has its own
        return index, message

    assert count() == 1
    text()
    assert count() == 1
    out = dict(index=r.i32(), error=r.i16(), base_offset=r.i64(), log_append_time=r.i64())
    out["log_start_offset"] = r.i64() if version >= 5 else None
    if version >= 8:
        out["record_errors"] = [record_error() for _ in range(count())]
        out["error_message"] = text()
    return out


def produce(sock, topic, partition, records, version=9, acks=-1, timeout_ms=5000):
    """Send one partition's records; the answer as a dict, None for acks=0."""
    cid = next(_correlation)
    sock.sendall(produce_request(version, cid, topic, partition, records, acks, timeout_ms))
    if acks == 0:
        return None
    got = recv_response(sock)
    if got is None:
        raise ConnectionError("broker closed the connection")
    assert got[0] == cid, (got[0], cid)
    return parse_produce_response(version, got[1])


def init_producer_id(sock):
    """InitProducerId v4 without a transactional id -> (error, producer id, epoch)."""
    cid = next(_correlation)
    body = compact_string(None) + i32(60000) + i64(-1) + i16(-1) + b"\x00"
    sock.sendall(frame(request_header(22, 4, cid, "produce-wire", True) + body))
    _, resp = recv_response(sock)
    r = Reader(resp)
    r.skip_tags()
    r.i32()
    return r.i16(), r.i64(), r.i16()


def fetch_batches(port, topic, partition=0):
    """Every batch header of a partition, read from offset 0 with Fetch v4
    requests (64 MiB each) until the high watermark, as a consumer reads:
    a response may carry less than asked for."""
    sock = connect(port, timeout=30)
    out, offset = [], 0
    while True:
        high_watermark, data = fetch_v4(sock, topic, partition, offset)
        pos = 0
        while pos + 61 <= len(data):
            base_offset, length = struct.unpack(">qi", data[pos:pos + 12])
            if pos + 12 + length > len(data):
                break
            attributes, _, _, max_ts, pid, _, seq, count = struct.unpack(">hiqqqhii", data[pos + 21:pos + 61])
            out.append(dict(base_offset=base_offset, producer_id=pid, base_sequence=seq, count=count,
                            size=12 + length, max_timestamp=max_ts, codec=attributes & 7))
            offset = base_offset + count
            pos += 12 + length
        if pos == 0 or offset >= high_watermark:
            sock.close()
            return out


def fetch_v4(sock, topic, partition, offset):
    """One Fetch v4 of one partition, 64 MiB asked: (high watermark, record bytes)."""
    cid = next(_correlation)
    body = (i32(-1) + i32(100) + i32(1) + i32(64 << 20) + i8(0) + i32(1) + string(topic) + i32(1) +
            i32(partition) + i64(offset) + i32(64 << 20))
    sock.sendall(frame(request_header(1, 4, cid, "produce-wire") + body))
    _, resp = recv_response(sock)
    r = Reader(resp)
    r.i32()
    assert r.i32() == 1
    r.string()
    assert r.i32() == 1
    r.i32()
    error = r.i16()
    assert error == 0, "fetch error %d" % error
    high_watermark = r.i64()
    r.i64()
    for _ in range(max(r.i32(), 0)):
        r.i64()
        r.i64()
    return high_watermark, r.take(max(r.i32(), 0))
