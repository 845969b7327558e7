"""Well-formed requests with adversarial values, each of which used to stop
the broker (UBSan: signed overflow) before it answered:

- Produce v7 of a batch whose maxTimestamp is INT64_MIN;
- Produce v7 of an idempotent batch whose sequence runs past INT32_MAX
  (Kafka wraps sequences to 0; a long-lived idempotent producer gets there);
- OffsetCommit v2 with a retention time of INT64_MAX.

Each gets an answer, and the broker keeps serving. Found by an audit with
the sanitizer build; under the plain build the overflow went unnoticed.
"""
import struct
import time

from foundation_wire import (Reader, assert_alive, connect, frame, i16, i32, metadata_roundtrip, recv_response,
                             request_header, string)
from harness import Broker
from record_batches import batch

TOPIC = "hostile"
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
INT32_MAX = (1 << 31) - 1


def i64(v):
    return struct.pack(">q", v)


def roundtrip(port, api_key, version, body, corr=7):
    with connect(port, timeout=10) as s:
        s.sendall(frame(request_header(api_key, version, corr) + body))
        got = recv_response(s)
    assert got is not None, "api %d v%d: the broker closed the connection" % (api_key, version)
    assert got[0] == corr
    return Reader(got[1])


def produce_v7(port, records_bytes):
    body = i16(-1) + i16(1) + i32(10000) + i32(1) + string(TOPIC) + i32(1) + i32(0)
    body += i32(len(records_bytes)) + records_bytes
    r = roundtrip(port, 0, 7, body)
    assert r.i32() == 1 and r.string() == TOPIC and r.i32() == 1
    assert r.i32() == 0
    return r.i16()


def init_producer_id(port):
    r = roundtrip(port, 22, 0, i16(-1) + i32(60000))
    r.i32()  # throttle
    assert r.i16() == 0
    return r.i64(), r.i16()


def offset_commit_v2(port, retention_ms):
    body = string("hostile-group") + i32(-1) + string("") + i64(retention_ms)
    body += i32(1) + string(TOPIC) + i32(1) + i32(0) + i64(1) + string("")
    r = roundtrip(port, 8, 2, body)
    assert r.i32() == 1 and r.string() == TOPIC and r.i32() == 1 and r.i32() == 0
    return r.i16()


def main():
    with Broker(config={"num.partitions": "1"}) as b:
        metadata_roundtrip(b.port, [TOPIC])  # auto-creates the topic
        now = int(time.time() * 1000)
        assert produce_v7(b.port, batch(0, now, [(0, None, b"ok", [])])) == 0

        err = produce_v7(b.port, batch(0, now, [(0, None, b"v", [])], max_ts=INT64_MIN))
        print("  maxTimestamp INT64_MIN: error %d" % err)
        assert_alive(b, "a batch with maxTimestamp INT64_MIN")

        pid, epoch = init_producer_id(b.port)
        wrapping = batch(0, now, [(0, None, b"a", []), (1, None, b"b", [])], producer_id=pid,
                         base_seq=INT32_MAX, epoch=epoch)
        err = produce_v7(b.port, wrapping)
        print("  idempotent batch from sequence INT32_MAX: error %d" % err)
        assert_alive(b, "a batch whose sequence wraps")

        err = offset_commit_v2(b.port, INT64_MAX)
        assert err == 0, "OffsetCommit with retention INT64_MAX: error %d" % err
        assert_alive(b, "an OffsetCommit with retention INT64_MAX")
        print("  OffsetCommit v2 with retention INT64_MAX: accepted")
    print("ok")


if __name__ == "__main__":
    main()
