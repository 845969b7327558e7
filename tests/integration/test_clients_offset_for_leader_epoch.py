"""OffsetForLeaderEpoch (key 23) as a consumer uses it to check its position
after a leader change (KIP-320), on the wire at v3 (hand-encoded): the
current epoch ends at the log end; an epoch above every known one is
unknown (-1, -1); a current_leader_epoch newer than the leader's is
UNKNOWN_LEADER_EPOCH and an older one FENCED_LEADER_EPOCH; an unknown
partition is UNKNOWN_TOPIC_OR_PARTITION; and the answers hold after a
restart. The epoch comes from Metadata v7+, as clients take it.
"""
import os
import struct
import sys

import confluent_kafka as ck

sys.path.insert(0, os.path.dirname(__file__))
from foundation_wire import connect, frame, i16, i32, recv_response, request_header, string  # noqa: E402
from harness import Broker  # noqa: E402

TOPIC = "epochs"
UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH = 3, 74, 75


def produce(bootstrap, count):
    p = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        p.produce(TOPIC, value=b"%d" % i, partition=0)
    assert p.flush(30) == 0


def leader_epoch(port):
    """The partition's leader epoch from Metadata v7 (topics: [TOPIC])."""
    s = connect(port)
    body = i32(1) + string(TOPIC) + b"\x00"  # topics, allow_auto_topic_creation false
    s.sendall(frame(request_header(3, 7, 5) + body))
    _, resp = recv_response(s)
    s.close()
    pos = 4  # throttle
    (nbrokers,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    for _ in range(nbrokers):
        pos += 4
        (hl,) = struct.unpack_from(">h", resp, pos)
        pos += 2 + hl + 4
        (rl,) = struct.unpack_from(">h", resp, pos)
        pos += 2 + max(rl, 0)
    (cl,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + max(cl, 0) + 4 + 4  # cluster id, controller, topics count
    _err, nl = struct.unpack_from(">hh", resp, pos)
    pos += 4 + nl + 1 + 4  # name, is_internal, partitions count
    _perr, _index, _leader, epoch = struct.unpack_from(">hiii", resp, pos)
    return epoch


def offset_for_leader_epoch(port, partition, current_leader_epoch, epoch):
    """-> (error, leader_epoch, end_offset) from OffsetForLeaderEpoch v3."""
    s = connect(port)
    body = (i32(-1) + i32(1) + string(TOPIC) + i32(1) + i32(partition) + i32(current_leader_epoch) + i32(epoch))
    s.sendall(frame(request_header(23, 3, 9) + body))
    _, resp = recv_response(s)
    s.close()
    pos = 4 + 4  # throttle, topics count
    (nl,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + nl + 4
    err, index, leader_epoch_out, end = struct.unpack_from(">hiiq", resp, pos)
    assert index == partition
    return err, leader_epoch_out, end


def check(port, end):
    epoch = leader_epoch(port)
    assert epoch >= 0, "no leader epoch in Metadata"
    got = offset_for_leader_epoch(port, 0, epoch, epoch)
    assert got == (0, epoch, end), "current epoch %d: %r, want (0, %d, %d)" % (epoch, got, epoch, end)
    got = offset_for_leader_epoch(port, 0, -1, epoch + 5)
    assert got == (0, -1, -1), "an epoch above every known one: %r" % (got,)
    got = offset_for_leader_epoch(port, 0, epoch + 1, epoch)
    assert got[0] == UNKNOWN_LEADER_EPOCH, "a newer current_leader_epoch: %r" % (got,)
    if epoch > 0:
        got = offset_for_leader_epoch(port, 0, epoch - 1, epoch)
        assert got[0] == FENCED_LEADER_EPOCH, "an older current_leader_epoch: %r" % (got,)
    got = offset_for_leader_epoch(port, 7, -1, epoch)
    assert got[0] == UNKNOWN_TOPIC_OR_PARTITION, "an unknown partition: %r" % (got,)
    return epoch


def main():
    with Broker(config={"num.partitions": "1"}) as b:
        produce(b.bootstrap, 50)
        epoch = check(b.port, 50)
        print("leader epoch %d ends at 50; above it unknown; fencing errors as Kafka" % epoch)
        assert b.stop() == 0
        b.start()
        produce(b.bootstrap, 10)
        check(b.port, 60)
        print("after a restart and 10 more records: ends at 60")
    return 0


if __name__ == "__main__":
    sys.exit(main())
