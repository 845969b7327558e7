#!/usr/bin/python3
"""Metadata v0-v12 byte for byte, from a raw socket.

Each version's request is encoded by hand from MetadataRequest.json, and the
whole response is decoded field by field from MetadataResponse.json (flexible
encoding and response header v1 from v9), with no byte left over. Checked:
the broker entry, controller, cluster id (v2+), leader epoch (v7+), topic ids
(v10+), authorized operations (v8+: "not requested" unless asked, and when
asked every operation, as Kafka with no authorizer), v0's empty list meaning
all topics and v1+'s meaning none, and lookups by topic id (v12; v10-11 answer
INVALID_REQUEST for a null name or a non-zero id, as Kafka does).
"""
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
import foundation_wire as kw  # noqa: E402

PARTITIONS = 2
NOT_REQUESTED = -2147483648
TOPIC_OPERATIONS = 3576  # READ WRITE CREATE DELETE ALTER DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS
CLUSTER_OPERATIONS = 8096  # CREATE ALTER DESCRIBE CLUSTER_ACTION DESCRIBE_CONFIGS ALTER_CONFIGS IDEMPOTENT_WRITE
UNKNOWN_TOPIC_ID = 100
INVALID_REQUEST = 42


def encode_request(version, corr, names=None, ids=None, allow_auto=True, include_ops=False, pairs=None):
    """names: list (None = null array from v1); ids: list of 16-byte ids (v10+, name null);
    pairs: list of (16-byte id, name) (v10+); include_ops: ask for the topic (v8+) and
    cluster (v8-10) authorized operations."""
    flexible = version >= 9
    topics = None
    if names is not None or ids is not None or pairs is not None:
        topics = [(b"\x00" * 16, n) for n in (names or [])] + [(i, None) for i in (ids or [])] + (pairs or [])
    body = b""
    if flexible:
        if topics is None:
            body += kw.uvarint(0)
        else:
            body += kw.uvarint(len(topics) + 1)
            for topic_id, name in topics:
                if version >= 10:
                    body += topic_id
                body += kw.compact_string(name) + b"\x00"
    else:
        if topics is None:
            body += kw.i32(-1)
        else:
            body += kw.i32(len(topics)) + b"".join(kw.string(name) for _, name in topics)
    if version >= 4:
        body += kw.i8(1 if allow_auto else 0)
    if 8 <= version <= 10:
        body += kw.i8(1 if include_ops else 0)  # include_cluster_authorized_operations
    if version >= 8:
        body += kw.i8(1 if include_ops else 0)  # include_topic_authorized_operations
    if flexible:
        body += b"\x00"
    return kw.frame(kw.request_header(kw.API_METADATA, version, corr, flexible=flexible) + body)


class FlexReader(kw.Reader):
    def __init__(self, data, flexible):
        super().__init__(data)
        self.flexible = flexible

    def array_len(self):
        return self.uvarint() - 1 if self.flexible else self.i32()

    def str_(self):
        if not self.flexible:
            return self.string()
        n = self.uvarint() - 1
        return None if n < 0 else self.take(n).decode()

    def int32s(self):
        return [self.i32() for _ in range(self.array_len())]

    def tags(self):
        if self.flexible:
            self.skip_tags()


def decode_response(version, payload):
    flexible = version >= 9
    r = FlexReader(payload, flexible)
    corr = r.i32()
    r.tags()  # response header v1
    out = {"corr": corr, "brokers": [], "topics": {}}
    if version >= 3:
        out["throttle"] = r.i32()
    for _ in range(r.array_len()):
        node, host, port = r.i32(), r.str_(), r.i32()
        rack = r.str_() if version >= 1 else None
        r.tags()
        out["brokers"].append((node, host, port, rack))
    out["cluster_id"] = r.str_() if version >= 2 else None
    out["controller"] = r.i32() if version >= 1 else None
    for _ in range(r.array_len()):
        t = {"error": r.i16(), "name": r.str_()}
        t["id"] = r.take(16) if version >= 10 else None
        t["internal"] = r.i8() if version >= 1 else None
        t["partitions"] = []
        for _ in range(r.array_len()):
            p = {"error": r.i16(), "index": r.i32(), "leader": r.i32()}
            p["epoch"] = r.i32() if version >= 7 else None
            p["replicas"], p["isr"] = r.int32s(), r.int32s()
            p["offline"] = r.int32s() if version >= 5 else None
            r.tags()
            t["partitions"].append(p)
        t["ops"] = r.i32() if version >= 8 else None
        r.tags()
        out["topics"][t["name"] if t["name"] is not None else t["id"]] = t
    if 8 <= version <= 10:
        out["cluster_ops"] = r.i32()
    r.tags()
    if r.remaining():
        raise AssertionError("v%d: %d trailing bytes" % (version, r.remaining()))
    return out


def roundtrip(port, version, corr, **kwargs):
    with kw.connect(port) as s:
        s.sendall(encode_request(version, corr, **kwargs))
        size = kw.recv_exact(s, 4)
        assert size is not None, "v%d: connection closed instead of an answer" % version
        payload = kw.recv_exact(s, int.from_bytes(size, "big"))
    out = decode_response(version, payload)
    assert out["corr"] == corr, "v%d: correlation id %d" % (version, out["corr"])
    return out


def check_version(b, version):
    name = "versions-v%d" % version
    out = roundtrip(b.port, version, 300 + version, names=[name])
    assert out["brokers"] == [(1, "127.0.0.1", b.port, None)], "v%d brokers: %r" % (version, out["brokers"])
    if version >= 1:
        assert out["controller"] == 1, "v%d controller %r" % (version, out["controller"])
    if version >= 2:
        assert out["cluster_id"], "v%d: no cluster id" % version
    if version >= 3:
        assert out["throttle"] == 0
    if 8 <= version <= 10:
        assert out["cluster_ops"] == NOT_REQUESTED, "v%d cluster ops %r" % (version, out["cluster_ops"])
    topic = out["topics"][name]
    assert topic["error"] == 0, "v%d: topic error %d" % (version, topic["error"])
    if version >= 1:
        assert topic["internal"] == 0
    if version >= 8:
        assert topic["ops"] == NOT_REQUESTED, "v%d topic ops %r" % (version, topic["ops"])
    if version >= 10:
        assert topic["id"] != b"\x00" * 16, "v%d: zero topic id" % version
    parts = sorted(topic["partitions"], key=lambda p: p["index"])
    assert [p["index"] for p in parts] == list(range(PARTITIONS)), "v%d partitions %r" % (version, parts)
    for p in parts:
        assert p["error"] == 0 and p["leader"] == 1 and p["replicas"] == [1] and p["isr"] == [1], (version, p)
        if version >= 5:
            assert p["offline"] == []
        if version >= 7:
            assert p["epoch"] >= 0, "v%d: leader epoch %d" % (version, p["epoch"])
    return out


def check_list_semantics(b):
    v0_all = roundtrip(b.port, 0, 900, names=[])
    assert "versions-v0" in v0_all["topics"] and len(v0_all["topics"]) >= 13, sorted(v0_all["topics"])
    for version in (1, 4, 9, 12):
        none = roundtrip(b.port, version, 901, names=[])
        assert none["topics"] == {}, "v%d: empty list returned %r" % (version, sorted(none["topics"]))
        everything = roundtrip(b.port, version, 902, names=None)
        assert len(everything["topics"]) == len(v0_all["topics"]), "v%d: null list" % version
    print("empty topic list: all topics in v0, none in v1/v4/v9/v12; null list: all topics")


def check_topic_ids(b):
    known = roundtrip(b.port, 12, 910, names=["versions-v12"])["topics"]["versions-v12"]["id"]
    out = roundtrip(b.port, 12, 911, ids=[known])
    (topic,) = out["topics"].values()
    assert topic["error"] == 0 and topic["id"] == known and topic["name"] == "versions-v12", topic
    out = roundtrip(b.port, 12, 912, ids=[uuid.uuid4().bytes])
    (topic,) = out["topics"].values()
    assert topic["error"] == UNKNOWN_TOPIC_ID and topic["name"] is None, "v12 unknown id: %r" % topic
    # v10-11 carry ids, but Kafka refuses lookups by id below v12: INVALID_REQUEST
    # for every requested topic (a null name answered as ""), and nothing else.
    for version in (10, 11):
        for kwargs in ({"ids": [known]}, {"ids": [uuid.uuid4().bytes]},
                       {"pairs": [(known, "versions-v12")]}):
            out = roundtrip(b.port, version, 913, **kwargs)
            (topic,) = out["topics"].values()
            want_name = kwargs.get("pairs", [(None, "")])[0][1]
            assert topic["error"] == INVALID_REQUEST and topic["name"] == want_name, (version, kwargs, topic)
            assert topic["id"] == (kwargs.get("ids") or [known])[0] and topic["partitions"] == [], (version, topic)
            assert out["brokers"] == [] and out["controller"] == -1 and out["cluster_id"] is None, (version, out)
    print("lookup by topic id: v12 known id found, unknown -> UNKNOWN_TOPIC_ID with null name; "
          "v10/v11 null name or non-zero id -> INVALID_REQUEST")


def check_authorized_operations(b):
    for version in range(8, 13):
        out = roundtrip(b.port, version, 930, names=["versions-v12", "no-such-topic"], allow_auto=False,
                        include_ops=True)
        for name in ("versions-v12", "no-such-topic"):
            ops = out["topics"][name]["ops"]
            assert ops == TOPIC_OPERATIONS, "v%d %s: topic authorized operations %r" % (version, name, ops)
        if version <= 10:
            assert out["cluster_ops"] == CLUSTER_OPERATIONS, "v%d cluster ops %r" % (version, out["cluster_ops"])
    print("include_*_authorized_operations=true (v8-12): topic %d, cluster %d (v8-10)"
          % (TOPIC_OPERATIONS, CLUSTER_OPERATIONS))


def check_no_auto_create_flag(b):
    for version in (4, 8, 9, 12):
        name = "no-auto-v%d" % version
        out = roundtrip(b.port, version, 920, names=[name], allow_auto=False)
        assert out["topics"][name]["error"] == kw.UNKNOWN_TOPIC_OR_PARTITION, (version, out["topics"][name])
    print("allow_auto_topic_creation=false (v4/v8/v9/v12): UNKNOWN_TOPIC_OR_PARTITION")


def main():
    with Broker(config={"num.partitions": str(PARTITIONS)}) as b:
        for version in range(13):
            out = check_version(b, version)
            print("Metadata v%-2d: decoded exactly; broker, controller, %d partitions, cluster id %s" % (
                version, PARTITIONS, out["cluster_id"]))
        check_list_semantics(b)
        check_topic_ids(b)
        check_no_auto_create_flag(b)
        check_authorized_operations(b)
    print("OK")


if __name__ == "__main__":
    main()
