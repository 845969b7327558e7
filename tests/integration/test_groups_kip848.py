"""KIP-848 consumer groups with raw frames: ConsumerGroupHeartbeat (join,
incremental hand-over of partitions between two members, fencing, leave)
and ConsumerGroupDescribe, plus offset commits checked against the member
epoch and ListGroups' group type. No client in this environment speaks
KIP-848 (only the Java client does, opt-in), hence raw frames.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from test_groups_protocol import Conn, Reader, check, commit, i16, i32, metadata  # noqa: E402

FENCED_MEMBER_EPOCH = 110
UNKNOWN_MEMBER_ID = 25
STALE_MEMBER_EPOCH = 113
UNSUPPORTED_ASSIGNOR = 112
INVALID_REQUEST = 42


# ---- flexible (compact) encoding ----
def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cstring(s):
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def carray(items):
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b"".join(items)


TAGS = b"\x00"


class FlexReader(Reader):
    def uvarint(self):
        shift = n = 0
        while True:
            b = self.d[self.p]
            self.p += 1
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7

    def cstring(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def carray(self, fn):
        n = self.uvarint()
        return None if n == 0 else [fn(self) for _ in range(n - 1)]

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def flex_call(c, key, version, body):
    c.cid += 1
    hdr = i16(key) + i16(version) + i32(c.cid) + struct.pack(">h", len(c.client_id)) + c.client_id.encode() + TAGS
    frame = hdr + body
    c.s.sendall(i32(len(frame)) + frame)
    size = struct.unpack(">i", c._read(4))[0]
    data = c._read(size)
    assert struct.unpack(">i", data[:4])[0] == c.cid
    r = FlexReader(data[4:])
    r.tags()
    return r


def heartbeat(c, group, member, epoch, topics=None, owned=None, assignor=None, rebalance_ms=30000, regex=None,
              version=None):
    """owned: {topic id: [partitions]}, None sends a null list (what "unchanged" is after a join)."""
    owned_items = None
    if owned is not None:
        owned_items = [tid + carray([i32(p) for p in parts]) + TAGS for tid, parts in owned.items()]
    if version is None:
        version = 1 if regex is not None else 0
    body = (cstring(group) + cstring(member) + i32(epoch) + cstring(None) + cstring(None) + i32(rebalance_ms) +
            carray(None if topics is None else [cstring(t) for t in topics]) +
            (cstring(regex) if version >= 1 else b"") + cstring(assignor) + carray(owned_items) + TAGS)
    r = flex_call(c, 68, version, body)
    r.i32()
    res = dict(error=r.i16(), message=r.cstring(), member=r.cstring(), epoch=r.i32(), interval=r.i32())
    present = r.i8()
    res["assignment"] = None
    if present >= 0:
        parts = r.carray(lambda x: (x.take(16), x.carray(lambda y: y.i32()), x.tags())[:2])
        r.tags()
        res["assignment"] = {tid: sorted(p) for tid, p in parts}
    r.tags()
    return res


def describe(c, group):
    r = flex_call(c, 69, 0, carray([cstring(group)]) + b"\x00" + TAGS)
    r.i32()

    def assignment(x):
        parts = x.carray(lambda y: (y.take(16), y.cstring(), y.carray(lambda z: z.i32()), y.tags()))
        x.tags()
        return parts

    def member(x):
        m = dict(member=x.cstring(), instance=x.cstring(), rack=x.cstring(), epoch=x.i32(), client_id=x.cstring(),
                 client_host=x.cstring(), topics=x.carray(lambda y: y.cstring()), regex=x.cstring())
        m["assignment"] = assignment(x)
        m["target"] = assignment(x)
        x.tags()
        return m

    def group(x):
        g = dict(error=x.i16(), message=x.cstring(), group=x.cstring(), state=x.cstring(), epoch=x.i32(),
                 assignment_epoch=x.i32(), assignor=x.cstring(), members=x.carray(member), ops=x.i32())
        x.tags()
        return g
    return r.carray(group)[0]


def describe_classic(c, group, version):
    """DescribeGroups (the classic API) at v0 or v5: (error, state, protocol type, members), every byte read."""
    if version == 0:
        r = c.call(15, 0, i32(1) + struct.pack(">h", len(group)) + group.encode())
        (g,) = r.array(lambda x: (x.i16(), x.string(), x.string(), x.string(), x.string(),
                                  x.array(lambda y: y.string())))
        assert r.p == len(r.d), "DescribeGroups v0: trailing bytes"
        return g[0], g[2], g[3], g[5]
    r = flex_call(c, 15, 5, carray([cstring(group)]) + b"\x00" + TAGS)
    r.i32()
    (g,) = r.carray(lambda x: (x.i16(), x.cstring(), x.cstring(), x.cstring(), x.cstring(),
                               x.carray(lambda y: y.cstring()), x.i32(), x.tags()))
    r.tags()
    assert r.p == len(r.d), "DescribeGroups v5: trailing bytes"
    return g[0], g[2], g[3], g[5]


def count(assignment):
    return sum(len(p) for p in assignment.values()) if assignment else 0


def flat(assignment):
    return {(tid, p) for tid, ps in (assignment or {}).items() for p in ps}


def check_validation(c):
    """Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid: INVALID_REQUEST with its message."""
    for what, kwargs, message in (
            ("v1 with an empty member id", dict(member="", version=1, owned={}), "MemberId can't be empty."),
            ("a join without a rebalance timeout", dict(rebalance_ms=-1, owned={}),
             "RebalanceTimeoutMs must be provided in first request."),
            ("a join with null TopicPartitions", dict(owned=None), "TopicPartitions must be empty when (re-)joining.")):
        args = dict(member="", topics=["k848"])
        args.update(kwargs)
        r = heartbeat(c, "g848-invalid", args.pop("member"), 0, **args)
        check((r["error"], r["message"], r["member"], r["epoch"]) == (INVALID_REQUEST, message, None, 0),
              "ConsumerGroupHeartbeat %s: INVALID_REQUEST %r" % (what, message))


def main():
    with Broker(config={"num.partitions": "6", "offsets.topic.num.partitions": "3"}) as b:
        c = Conn(b.port, "kip848-client")
        metadata(c, ["k848"])
        a = heartbeat(c, "g848", "", 0, topics=["k848"], owned={})
        check(a["error"] == 0 and a["epoch"] == 1 and count(a["assignment"]) == 6, "first member gets all 6 partitions")
        check(a["interval"] == 5000, "heartbeat interval from group.consumer.heartbeat.interval.ms")
        ida = a["member"]
        bm = heartbeat(c, "g848", "", 0, topics=["k848"], owned={})
        idb = bm["member"]
        check(bm["error"] == 0 and bm["epoch"] == 2 and count(bm["assignment"]) == 0,
              "second member waits for partitions the first still holds")
        a = heartbeat(c, "g848", ida, 1)
        check(a["epoch"] == 1 and count(a["assignment"]) == 3, "first member is asked to revoke half")
        a = heartbeat(c, "g848", ida, 1, owned=a["assignment"])
        check(a["error"] == 0 and a["epoch"] == 2, "revocation confirmed: first member moves to epoch 2")
        bm = heartbeat(c, "g848", idb, 2)
        check(bm["error"] == 0 and count(bm["assignment"]) == 3 and not (flat(a["assignment"]) & flat(bm["assignment"])),
              "second member gets the released partitions, no overlap")
        d = describe(c, "g848")
        check(d["error"] == 0 and d["state"] == "Stable" and d["epoch"] == 2 and len(d["members"]) == 2,
              "ConsumerGroupDescribe: Stable at epoch 2 with two members")
        check(d["assignor"] == "uniform" and d["members"][0]["assignment"][0][1] == "k848", "describe names topics")
        for version in (0, 5):
            check(describe_classic(c, "g848", version) == (0, "Dead", "", []),
                  "DescribeGroups v%d of the consumer group: Dead, no members (not a classic group)" % version)
        check(heartbeat(c, "g848", idb, 1)["error"] == FENCED_MEMBER_EPOCH, "stale epoch fenced")
        check(heartbeat(c, "g848", "ghost", 3)["error"] == UNKNOWN_MEMBER_ID, "unknown member")
        refused = heartbeat(c, "g848x", "", 0, topics=["k848"], owned={}, assignor="sticky")
        check(refused["error"] == UNSUPPORTED_ASSIGNOR, "unknown server assignor refused")
        check_validation(c)
        res = commit(c, "g848", 1, ida, {("k848", 0): 5})
        check(res[("k848", 0)] == STALE_MEMBER_EPOCH, "commit with an old member epoch refused")
        res = commit(c, "g848", 2, ida, {("k848", 0): 5})
        check(res[("k848", 0)] == 0, "commit with the member epoch accepted")
        r = c.call(16, 2, b"")
        r.i32()
        r.i16()
        groups = dict(r.array(lambda x: (x.string(), x.string())))
        check(groups.get("g848") == "consumer", "ListGroups lists the consumer group")
        # The group survives a broker crash: members keep their ids, epochs and partitions.
        c.close()
        b.kill9()
        b.start()
        c = Conn(b.port, "kip848-client")
        a2 = heartbeat(c, "g848", ida, 2, owned=a["assignment"])
        check(a2["error"] == 0 and a2["epoch"] >= 2 and flat(a2["assignment"]) == flat(a["assignment"]),
              "after kill -9 the member continues with its epoch and keeps its partitions")
        a = a2
        b2 = heartbeat(c, "g848", idb, 2, owned=bm["assignment"])
        check(b2["error"] == 0 and flat(b2["assignment"]) == flat(bm["assignment"]), "and so does the other")
        left = heartbeat(c, "g848", idb, -1)
        check(left["error"] == 0 and left["epoch"] == -1, "member leaves with epoch -1")
        a = heartbeat(c, "g848", ida, a["epoch"], owned=a["assignment"])
        check(count(a["assignment"]) == 6, "remaining member takes every partition back")
        heartbeat(c, "g848", ida, -1)
        check(describe(c, "g848")["state"] == "Empty", "group Empty once everyone left")
        metadata(c, ["rx-one", "rx-two"])
        r = heartbeat(c, "g848rx", "rx-member-1", 0, regex="rx-.*", owned={})
        check(r["error"] == 0 and r["member"] == "rx-member-1" and count(r["assignment"]) == 12,
              "v1 regex subscription (member id chosen by the client) matches rx-one and rx-two")
        check(heartbeat(c, "g848bad", "rx-member-2", 0, regex="([", owned={})["error"] == INVALID_REQUEST,
              "invalid regex refused")
        c.close()
    print("PASS")


if __name__ == "__main__":
    main()
