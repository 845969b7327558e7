"""Classic group protocol and committed offsets, driven with raw Kafka frames.

Checks, against a real broker: FindCoordinator (v1, batched v4), the
JoinGroup MEMBER_ID_REQUIRED flow, a two-member rebalance, SyncGroup
assignments, Heartbeat errors, session-timeout expulsion, OffsetCommit /
OffsetFetch with generation checks, ListGroups / DescribeGroups,
LeaveGroup, DeleteGroups, OffsetDelete, and that acknowledged commits and
group metadata survive kill -9.
"""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

MEMBER_ID_REQUIRED = 79
REBALANCE_IN_PROGRESS = 27
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
GROUP_SUBSCRIBED_TO_TOPIC = 86


# ---- encoding ----
def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def bytes_(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def array(items):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(items)


class Reader:
    def __init__(self, data):
        self.d = data
        self.p = 0

    def take(self, n):
        v = self.d[self.p:self.p + n]
        self.p += n
        return v

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes_(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def array(self, fn):
        n = self.i32()
        return None if n < 0 else [fn(self) for _ in range(n)]


class Conn:
    def __init__(self, port, client_id="raw-client"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.cid = 0
        self.client_id = client_id

    def send(self, key, version, body):
        self.cid += 1
        hdr = i16(key) + i16(version) + i32(self.cid) + string(self.client_id)
        frame = hdr + body
        self.s.sendall(i32(len(frame)) + frame)
        return self.cid

    def recv(self, cid):
        size = struct.unpack(">i", self._read(4))[0]
        data = self._read(size)
        got = struct.unpack(">i", data[:4])[0]
        assert got == cid, (got, cid)
        return Reader(data[4:])

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
        return buf

    def call(self, key, version, body):
        return self.recv(self.send(key, version, body))

    def close(self):
        self.s.close()


# ---- requests (non-flexible versions) ----
def subscription(topics):
    return i16(0) + array([string(t) for t in topics]) + bytes_(None)


def metadata(c, topics):
    r = c.call(3, 1, array([string(t) for t in topics]))
    return r


def find_coordinator(c, key, key_type=0):
    r = c.call(10, 1, string(key) + i8(key_type))
    r.i32()
    return dict(error=r.i16(), message=r.string(), node=r.i32(), host=r.string(), port=r.i32())


def find_coordinators_v4(c, keys, key_type):
    # v4 is flexible: compact arrays/strings and tagged fields; the header is v2.
    def cstr(s):
        b = s.encode()
        return bytes([len(b) + 1]) + b
    body = i8(key_type) + bytes([len(keys) + 1]) + b"".join(cstr(k) for k in keys) + b"\x00"
    c.cid += 1
    hdr = i16(10) + i16(4) + i32(c.cid) + string(c.client_id) + b"\x00"
    frame = hdr + body
    c.s.sendall(i32(len(frame)) + frame)
    size = struct.unpack(">i", c._read(4))[0]
    data = c._read(size)
    r = Reader(data[4:])
    assert r.i8() == 0  # response header tagged fields
    r.i32()  # throttle
    n = r.d[r.p] - 1
    r.p += 1
    out = []
    for _ in range(n):
        kl = r.d[r.p] - 1
        r.p += 1
        key = r.take(kl).decode()
        node = r.i32()
        hl = r.d[r.p] - 1
        r.p += 1
        host = r.take(hl).decode()
        port = r.i32()
        err = r.i16()
        ml = r.d[r.p]
        r.p += 1
        if ml > 0:
            r.take(ml - 1)
        r.p += 1  # tagged fields
        out.append(dict(key=key, node=node, host=host, port=port, error=err))
    return out


def join_body(group, member, topics, session_ms=3000, rebalance_ms=10000, instance=None):
    return (string(group) + i32(session_ms) + i32(rebalance_ms) + string(member) + string(instance) +
            string("consumer") + array([string("range") + bytes_(subscription(topics))]))


def parse_join(r):
    r.i32()
    return dict(error=r.i16(), generation=r.i32(), protocol=r.string(), leader=r.string(), member=r.string(),
                members=r.array(lambda x: (x.string(), x.string(), x.bytes_())))


def join(c, group, member, topics, **kw):
    return parse_join(c.call(11, 5, join_body(group, member, topics, **kw)))


# ---- JoinGroup v9 (flexible: compact strings and arrays, tagged fields) ----
def compact_string(s):
    if s is None:
        return b"\x00"
    b = s.encode()
    return bytes([len(b) + 1]) + b


def compact_bytes(b):
    return bytes([len(b) + 1]) + b  # short values only: one-byte lengths


def read_compact_length(r):
    n = r.d[r.p] - 1  # one-byte varints: the short values these tests see
    r.p += 1
    return n


def read_compact_string(r):
    n = read_compact_length(r)
    return None if n < 0 else r.take(n).decode()


def join_v9(c, group, member, topics, instance):
    body = (compact_string(group) + i32(6000) + i32(10000) + compact_string(member) +
            compact_string(instance) + compact_string("consumer") +
            bytes([2]) + compact_string("range") + compact_bytes(subscription(topics)) + b"\x00" +
            compact_string(None) + b"\x00")
    c.cid += 1
    hdr = i16(11) + i16(9) + i32(c.cid) + string(c.client_id) + b"\x00"
    c.s.sendall(i32(len(hdr) + len(body)) + hdr + body)
    size = struct.unpack(">i", c._read(4))[0]
    r = Reader(c._read(size)[4:])
    assert r.i8() == 0  # response header tagged fields
    r.i32()
    out = dict(error=r.i16(), generation=r.i32(), protocol_type=read_compact_string(r),
               protocol=read_compact_string(r), leader=read_compact_string(r), skip=r.i8(),
               member=read_compact_string(r), members=[])
    for _ in range(read_compact_length(r)):
        member_id, instance_id = read_compact_string(r), read_compact_string(r)
        r.take(read_compact_length(r))  # metadata
        assert r.i8() == 0  # tagged fields
        out["members"].append((member_id, instance_id))
    assert r.i8() == 0 and r.p == len(r.d), "trailing bytes in JoinGroup v9 response"
    return out


def join_two_step(c, group, topics, **kw):
    first = join(c, group, "", topics, **kw)
    assert first["error"] == MEMBER_ID_REQUIRED, first
    assert first["member"], first
    return first["member"]


def sync_body(group, generation, member, assignments, instance=None):
    return (string(group) + i32(generation) + string(member) + string(instance) +
            array([string(m) + bytes_(a) for m, a in assignments]))


def parse_sync(r):
    r.i32()
    return dict(error=r.i16(), assignment=r.bytes_())


def heartbeat(c, group, generation, member):
    r = c.call(12, 3, string(group) + i32(generation) + string(member) + string(None))
    r.i32()
    return r.i16()


def leave(c, group, members):
    r = c.call(13, 3, string(group) + array([string(m) + string(None) for m in members]))
    r.i32()
    err = r.i16()
    return err, r.array(lambda x: (x.string(), x.string(), x.i16()))


def commit(c, group, generation, member, offsets):
    topics = {}
    for (t, p), o in offsets.items():
        topics.setdefault(t, []).append(i32(p) + i64(o) + i32(-1) + string("m%d" % o))
    body = (string(group) + i32(generation) + string(member) + string(None) +
            array([string(t) + array(ps) for t, ps in topics.items()]))
    r = c.call(8, 7, body)
    r.i32()
    res = {}
    for t, parts in r.array(lambda x: (x.string(), x.array(lambda y: (y.i32(), y.i16())))):
        for p, e in parts:
            res[(t, p)] = e
    return res


def fetch_offsets(c, group, wanted=None):
    topics = None
    if wanted is not None:
        by_topic = {}
        for t, p in wanted:
            by_topic.setdefault(t, []).append(i32(p))
        topics = [string(t) + array(ps) for t, ps in by_topic.items()]
    r = c.call(9, 5, string(group) + array(topics))
    r.i32()
    res = {}
    for t, parts in r.array(lambda x: (x.string(), x.array(
            lambda y: (y.i32(), y.i64(), y.i32(), y.string(), y.i16())))):
        for p, off, _epoch, meta, err in parts:
            assert err == 0, (t, p, err)
            res[(t, p)] = (off, meta)
    assert r.i16() == 0
    return res


def list_groups(c):
    r = c.call(16, 2, b"")
    r.i32()
    assert r.i16() == 0
    return dict(r.array(lambda x: (x.string(), x.string())))


def describe(c, group):
    r = c.call(15, 4, array([string(group)]) + i8(1))
    r.i32()
    groups = r.array(lambda x: dict(
        error=x.i16(), group=x.string(), state=x.string(), protocol_type=x.string(), protocol=x.string(),
        members=x.array(lambda y: dict(member=y.string(), instance=y.string(), client_id=y.string(),
                                       client_host=y.string(), metadata=y.bytes_(), assignment=y.bytes_())),
        ops=x.i32()))
    return groups[0]


def delete_groups(c, groups):
    r = c.call(42, 1, array([string(g) for g in groups]))
    r.i32()
    return dict(r.array(lambda x: (x.string(), x.i16())))


def offset_delete(c, group, parts):
    body = string(group) + array([string(t) + array([i32(p)]) for t, p in parts])
    r = c.call(47, 0, body)
    err = r.i16()
    r.i32()
    res = {}
    for t, ps in r.array(lambda x: (x.string(), x.array(lambda y: (y.i32(), y.i16())))):
        for p, e in ps:
            res[(t, p)] = e
    return err, res


def rebalance_scenario(b):
    a = Conn(b.port, "client-a")
    metadata(a, ["orders"])  # auto-creates a 6-partition topic
    fc = find_coordinator(a, "g1")
    check(fc["error"] == 0 and fc["node"] == 1 and fc["port"] == b.port, "FindCoordinator names this broker")
    batched = find_coordinators_v4(a, ["g1", "g2"], 0)
    check([x["error"] for x in batched] == [0, 0] and batched[1]["key"] == "g2", "FindCoordinator v4 batched keys")
    # No transaction API is advertised: no coordinator for a transactional id, in either form.
    txn = find_coordinators_v4(a, ["txn-1", "txn-2"], 1)
    check([(x["error"], x["node"], x["host"], x["port"]) for x in txn] == [(15, -1, "", -1)] * 2,
          "FindCoordinator v4 for transactional ids: COORDINATOR_NOT_AVAILABLE, no node")
    fc = find_coordinator(a, "txn-1", key_type=1)
    check((fc["error"], fc["message"], fc["node"], fc["host"], fc["port"])
          == (15, "The coordinator is not available.", -1, "", -1),
          "FindCoordinator v1 for a transactional id: COORDINATOR_NOT_AVAILABLE with Kafka's text")

    ida = join_two_step(a, "g1", ["orders"])
    ja = join(a, "g1", ida, ["orders"])
    check(ja["error"] == 0 and ja["generation"] == 1 and ja["leader"] == ida and len(ja["members"]) == 1,
          "first member leads generation 1")
    sa = parse_sync(a.call(14, 3, sync_body("g1", 1, ida, [(ida, b"all-six")])))
    check(sa["error"] == 0 and sa["assignment"] == b"all-six", "leader's SyncGroup returns its assignment")
    check(heartbeat(a, "g1", 1, ida) == 0, "heartbeat in Stable")

    # A second member joins on its own connection; its JoinGroup waits for the first to rejoin.
    bconn = Conn(b.port, "client-b")
    idb = join_two_step(bconn, "g1", ["orders"])
    pending_b = bconn.send(11, 5, join_body("g1", idb, ["orders"]))
    time.sleep(0.3)
    check(heartbeat(a, "g1", 1, ida) == REBALANCE_IN_PROGRESS, "leader learns of the rebalance by heartbeat")
    ja = join(a, "g1", ida, ["orders"])
    jb = parse_join(bconn.recv(pending_b))
    check(ja["generation"] == 2 and jb["generation"] == 2 and len(ja["members"]) == 2 and not jb["members"],
          "both members in generation 2, only the leader sees the members")
    check(jb["leader"] == ida, "follower is told who leads")
    pending_sb = bconn.send(14, 3, sync_body("g1", 2, idb, []))
    sa = parse_sync(a.call(14, 3, sync_body("g1", 2, ida, [(ida, b"p0-2"), (idb, b"p3-5")])))
    sb = parse_sync(bconn.recv(pending_sb))
    check(sa["assignment"] == b"p0-2" and sb["assignment"] == b"p3-5", "assignments delivered to each member")

    res = commit(a, "g1", 2, ida, {("orders", 0): 10, ("orders", 1): 11})
    check(set(res.values()) == {0}, "commit with the current generation")
    res = commit(a, "g1", 1, ida, {("orders", 0): 99})
    check(res[("orders", 0)] == ILLEGAL_GENERATION, "commit with an old generation refused")
    res = commit(a, "g1", 2, ida, {("nosuchtopic", 0): 1})
    check(res[("nosuchtopic", 0)] == 3, "commit for an unknown topic refused")
    got = fetch_offsets(a, "g1", [("orders", 0), ("orders", 1), ("orders", 2)])
    check(got[("orders", 0)] == (10, "m10") and got[("orders", 2)][0] == -1, "OffsetFetch of given partitions")
    check(set(fetch_offsets(a, "g1").keys()) == {("orders", 0), ("orders", 1)}, "OffsetFetch of all partitions")

    d = describe(a, "g1")
    check(d["state"] == "Stable" and d["protocol"] == "range" and len(d["members"]) == 2,
          "DescribeGroups: Stable, range, two members")
    check(d["members"][0]["client_host"] == "/127.0.0.1", "client host as Kafka prints it")
    check(list_groups(a).get("g1") == "consumer", "ListGroups lists the group")
    check(describe(a, "unknown-group")["state"] == "Dead", "unknown group described as Dead")

    # b goes silent: after its session timeout the group rebalances without it.
    deadline = time.time() + 15
    err = 0
    while time.time() < deadline:
        err = heartbeat(a, "g1", 2, ida)
        if err == REBALANCE_IN_PROGRESS:
            break
        time.sleep(0.5)
    check(err == REBALANCE_IN_PROGRESS, "silent member expelled after its session timeout")
    ja = join(a, "g1", ida, ["orders"])
    check(ja["generation"] == 3 and len(ja["members"]) == 1, "generation 3 without the silent member")
    check(heartbeat(bconn, "g1", 2, idb) == UNKNOWN_MEMBER_ID, "expelled member is unknown")
    parse_sync(a.call(14, 3, sync_body("g1", 3, ida, [(ida, b"all")])))

    check(delete_groups(a, ["g1"])["g1"] == NON_EMPTY_GROUP, "DeleteGroups refuses a live group")
    err, res = offset_delete(a, "g1", [("orders", 0)])
    check(err == 0 and res[("orders", 0)] == GROUP_SUBSCRIBED_TO_TOPIC, "OffsetDelete refuses a subscribed topic")
    err, members = leave(a, "g1", [ida])
    check(err == 0 and members[0][2] == 0, "LeaveGroup v3")
    check(describe(a, "g1")["state"] == "Empty", "group Empty after the last member left")
    err, res = offset_delete(a, "g1", [("orders", 1)])
    check(err == 0 and res[("orders", 1)] == 0, "OffsetDelete on an empty group")
    check(fetch_offsets(a, "g1", [("orders", 1)])[("orders", 1)][0] == -1, "deleted offset is gone")
    check(delete_groups(a, ["g1", "nope"]) == {"g1": 0, "nope": GROUP_ID_NOT_FOUND}, "DeleteGroups")
    check(fetch_offsets(a, "g1", [("orders", 0)])[("orders", 0)][0] == -1, "offsets of a deleted group are gone")
    a.close()
    bconn.close()


def durability_scenario(b):
    c = Conn(b.port)
    metadata(c, ["events"])
    find_coordinator(c, "keep")
    # A group with a live member and commits, and a standalone (generation -1) commit.
    mid = join_two_step(c, "keep", ["events"], session_ms=30000)
    j = join(c, "keep", mid, ["events"], session_ms=30000)
    parse_sync(c.call(14, 3, sync_body("keep", j["generation"], mid, [(mid, b"mine")])))
    res = commit(c, "keep", j["generation"], mid, {("events", p): 100 + p for p in range(6)})
    check(set(res.values()) == {0}, "commits acknowledged")
    res = commit(c, "solo", -1, "", {("events", 3): 7})
    check(res[("events", 3)] == 0, "standalone commit acknowledged")
    # Commit a stream of offsets and crash right after the last acknowledgement.
    for i in range(50):
        commit(c, "stream", -1, "", {("events", 0): i})
    c.close()
    b.kill9()
    b.start()
    c = Conn(b.port)
    got = fetch_offsets(c, "keep")
    check(got == {("events", p): (100 + p, "m%d" % (100 + p)) for p in range(6)},
          "offsets survive kill -9")
    check(fetch_offsets(c, "solo")[("events", 3)][0] == 7, "standalone offsets survive kill -9")
    check(fetch_offsets(c, "stream")[("events", 0)][0] == 49, "the last acknowledged commit survives kill -9")
    d = describe(c, "keep")
    check(d["state"] == "Stable" and d["members"][0]["member"] == mid and d["members"][0]["assignment"] == b"mine",
          "group metadata replayed: member and assignment")
    check(heartbeat(c, "keep", j["generation"], mid) == 0, "member keeps its generation across the restart")
    # Leave a JoinGroup waiting (the rebalance cannot finish for a minute) while the broker shuts down:
    # shutdown must still be clean (the harness checks the exit code and sanitizer reports).
    late = Conn(b.port, "late")
    lid = join_two_step(late, "keep", ["events"], session_ms=30000, rebalance_ms=60000)
    late.send(11, 5, join_body("keep", lid, ["events"], session_ms=30000, rebalance_ms=60000))
    time.sleep(0.2)
    c.close()


def static_leader_scenario(b):
    """KIP-814 at JoinGroup v9: a static leader that restarts into a Stable
    group gets the members back with skip_assignment set; a follower does not."""
    a, f = Conn(b.port, "static-a"), Conn(b.port, "static-b")
    ja = join_v9(a, "kip814", "", ["orders"], "inst-a")
    check(ja["error"] == 0 and ja["leader"] == ja["member"] and ja["skip"] == 0, "static leader joins at v9")
    parse_sync(a.call(14, 3, sync_body("kip814", ja["generation"], ja["member"], [], instance="inst-a")))
    pending = {}
    t = threading.Thread(target=lambda: pending.update(j=join_v9(f, "kip814", "", ["orders"], "inst-b")))
    t.start()
    time.sleep(0.5)
    ja = join_v9(a, "kip814", ja["member"], ["orders"], "inst-a")
    t.join(10)
    jb = pending["j"]
    check(ja["generation"] == jb["generation"] == 2 and len(ja["members"]) == 2, "second static member joins")
    assignments = [(ja["member"], b"A"), (jb["member"], b"B")]
    parse_sync(a.call(14, 3, sync_body("kip814", 2, ja["member"], assignments, instance="inst-a")))
    check(parse_sync(f.call(14, 3, sync_body("kip814", 2, jb["member"], [], instance="inst-b")))["assignment"] == b"B",
          "follower gets its assignment")
    a.close()
    a = Conn(b.port, "static-a-restarted")
    again = join_v9(a, "kip814", "", ["orders"], "inst-a")
    check(again["error"] == 0 and again["generation"] == 2 and again["leader"] == again["member"] and
          again["skip"] == 1 and len(again["members"]) == 2,
          "restarted static leader: same generation, all members, skip_assignment")
    sync = parse_sync(a.call(14, 3, sync_body("kip814", 2, again["member"], [], instance="inst-a")))
    check(sync["error"] == 0 and sync["assignment"] == b"A", "restarted leader keeps its assignment")
    f.close()
    f = Conn(b.port, "static-b-restarted")
    jb = join_v9(f, "kip814", "", ["orders"], "inst-b")
    check(jb["error"] == 0 and jb["skip"] == 0 and not jb["members"], "restarted follower: no skip_assignment")
    a.close()
    f.close()


def main():
    config = {
        "num.partitions": "6",
        "group.initial.rebalance.delay.ms": "0",
        "group.min.session.timeout.ms": "1000",
        "offsets.topic.num.partitions": "5",
    }
    with Broker(config=config) as b:
        rebalance_scenario(b)
        durability_scenario(b)
        static_leader_scenario(b)
    print("PASS")


if __name__ == "__main__":
    main()
