"""Admin APIs no client library in this repo's test set can send, encoded by
hand: CreateTopics v7 (topic ids; a 100,000-partition manual assignment
validated quickly; a topic too big for the open-file limit refused),
DeleteTopics v6 by topic id and Kafka's rules for its entries (name and id,
neither, duplicates, a name whose id is also given),
IncrementalAlterConfigs v0 (SET/APPEND/SUBTRACT/DELETE), AlterConfigs and
IncrementalAlterConfigs naming a resource twice, min.compaction.lag.ms above
max.compaction.lag.ms refused on create and alter, numbers with surrounding
whitespace accepted and stored trimmed, DescribeLogDirs v1,
DescribeCluster v0 and v1 (endpoint types: Kafka's UNSUPPORTED_ENDPOINT_TYPE
and MISMATCHED_ENDPOINT_TYPE answers), DescribeProducers v0 (after an idempotent
librdkafka producer wrote to the partition), and a live segment.ms change.
"""
import glob
import os
import struct
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from foundation_wire import (Reader, compact_string, connect, frame, i8, i16, i32, recv_exact,  # noqa: E402
                             recv_response, request_header, string, uvarint, wait_closed)
from schema_codec import Schemas  # noqa: E402

SCHEMAS = Schemas()
ZERO_ID = "00000000-0000-0000-0000-000000000000"

CHECKS = 0
CORR = [100]


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def roundtrip(sock, api_key, version, body, flexible):
    CORR[0] += 1
    sock.sendall(frame(request_header(api_key, version, CORR[0], flexible=flexible) + body))
    corr, resp = recv_response(sock)
    assert corr == CORR[0], "correlation id %d, expected %d" % (corr, CORR[0])
    r = Reader(resp)
    if flexible:
        r.skip_tags()
    return r


def call(sock, api_key, version, body):
    """One request encoded and its response decoded from Kafka's schemas (dicts keyed by field name)."""
    CORR[0] += 1
    sock.sendall(SCHEMAS.encode_request(api_key, version, body, CORR[0]))
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    header, resp = SCHEMAS.decode_response(api_key, version, recv_exact(sock, size))
    assert header["CorrelationId"] == CORR[0]
    return resp


def compact_array(items):
    return uvarint(len(items) + 1) + b"".join(items)


def cstr(r):
    n = r.uvarint()
    return None if n == 0 else r.take(n - 1).decode()


def create_topic_v7(sock, name, partitions, configs=(), assignments=None, validate_only=False):
    """assignments: [(partition, [broker ids])] instead of a partition count."""
    cfg = [compact_string(k) + compact_string(v) + uvarint(0) for k, v in configs]
    rf = 1
    manual = []
    if assignments is not None:
        partitions, rf = -1, -1
        manual = [i32(p) + compact_array([i32(x) for x in ids]) + uvarint(0) for p, ids in assignments]
    topic = compact_string(name) + i32(partitions) + i16(rf) + compact_array(manual) + compact_array(cfg) + uvarint(0)
    body = compact_array([topic]) + i32(10000) + i8(1 if validate_only else 0) + uvarint(0)
    r = roundtrip(sock, 19, 7, body, True)
    r.i32()
    assert r.uvarint() == 2
    got = cstr(r)
    topic_id = r.take(16)
    error = r.i16()
    message = cstr(r)
    return got, topic_id, error, message


def delete_topic_by_id_v6(sock, topic_id):
    body = compact_array([uvarint(0) + topic_id + uvarint(0)]) + i32(10000) + uvarint(0)
    r = roundtrip(sock, 20, 6, body, True)
    r.i32()
    assert r.uvarint() == 2
    name = cstr(r)
    tid = r.take(16)
    return name, tid, r.i16()


def incremental_alter_v0(sock, topic, ops):
    configs = [string(k) + i8(op) + string(v) for k, op, v in ops]
    body = i32(1) + i8(2) + string(topic) + i32(len(configs)) + b"".join(configs) + i8(0)
    r = roundtrip(sock, 44, 0, body, False)
    r.i32()
    assert r.i32() == 1
    error = r.i16()
    message = r.string()
    return error, message


def describe_topic_config_v0(sock, topic, key):
    body = i32(1) + i8(2) + string(topic) + i32(1) + string(key)
    r = roundtrip(sock, 32, 0, body, False)
    r.i32()
    assert r.i32() == 1
    error = r.i16()
    r.string()
    r.i8()
    r.string()
    n = r.i32()
    values = {}
    for _ in range(n):
        name = r.string()
        value = r.string()
        r.i8()  # read_only
        r.i8()  # is_default
        r.i8()  # is_sensitive
        values[name] = value
    return error, values


def describe_log_dirs_v1(sock):
    r = roundtrip(sock, 35, 1, i32(-1), False)
    r.i32()
    dirs = {}
    for _ in range(r.i32()):
        error = r.i16()
        path = r.string()
        topics = {}
        for _ in range(r.i32()):
            name = r.string()
            parts = {}
            for _ in range(r.i32()):
                p = r.i32()
                size = r.i64()
                r.i64()
                r.i8()
                parts[p] = size
            topics[name] = parts
        dirs[path] = (error, topics)
    return dirs


def describe_cluster_v0(sock):
    out = describe_cluster(sock, 0)
    return out["error"], out["cluster_id"], out["controller"], out["brokers"]


def describe_cluster(sock, version, endpoint_type=1, include_ops=False):
    """DescribeCluster v0/v1, the whole response decoded."""
    body = i8(1 if include_ops else 0) + (i8(endpoint_type) if version >= 1 else b"") + uvarint(0)
    r = roundtrip(sock, 60, version, body, True)
    out = {"throttle": r.i32(), "error": r.i16(), "message": cstr(r)}
    out["endpoint_type"] = r.i8() if version >= 1 else None
    out["cluster_id"] = cstr(r)
    out["controller"] = r.i32()
    out["brokers"] = []
    for _ in range(r.uvarint() - 1):
        node = r.i32()
        host = cstr(r)
        port = r.i32()
        cstr(r)
        r.skip_tags()
        out["brokers"].append((node, host, port))
    out["cluster_ops"] = r.i32()
    r.skip_tags()
    assert r.remaining() == 0, "DescribeCluster v%d: %d trailing bytes" % (version, r.remaining())
    return out


def check_describe_cluster_endpoint_types(sock, port):
    out = describe_cluster(sock, 1, endpoint_type=1, include_ops=True)
    check(out["error"] == 0 and out["endpoint_type"] == 1 and out["brokers"] == [(1, "127.0.0.1", port)]
          and out["cluster_ops"] == 8096, "DescribeCluster v1 endpoint type BROKER: the brokers, cluster ops 8096")
    defaults = {"endpoint_type": 1, "cluster_id": "", "controller": -1, "brokers": [], "cluster_ops": -2147483648}
    mismatched = "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
    for endpoint_type, error, message in (
            (2, 114, mismatched),
            (3, 115, "Unsupported endpoint type 3"),
            (0, 115, "Unsupported endpoint type 0")):
        out = describe_cluster(sock, 1, endpoint_type=endpoint_type, include_ops=True)
        rest = {k: out[k] for k in defaults}
        check(out["error"] == error and out["message"] == message and rest == defaults,
              "DescribeCluster v1 endpoint type %d: error %d %r, other fields at defaults"
              % (endpoint_type, error, message))


def describe_producers_v0(sock, topic, partition):
    t = compact_string(topic) + compact_array([i32(partition)]) + uvarint(0)
    r = roundtrip(sock, 61, 0, compact_array([t]) + uvarint(0), True)
    r.i32()
    assert r.uvarint() == 2
    cstr(r)
    assert r.uvarint() == 2
    r.i32()
    error = r.i16()
    cstr(r)
    producers = []
    for _ in range(r.uvarint() - 1):
        pid = r.i64()
        epoch = r.i32()
        last_seq = r.i32()
        r.i64()
        r.i32()
        r.i64()
        r.skip_tags()
        producers.append((pid, epoch, last_seq))
    return error, producers


def check_open_file_limit():
    """A topic whose partitions would not fit under the broker's open-file
    limit is refused before anything is written (it used to be created in
    the metadata with most of its logs missing)."""
    with Broker(max_open_files=700) as b:
        sock = connect(b.port)
        _, _, err, msg = create_topic_v7(sock, "too-many", 300)
        check(err == 44 and "ulimit" in msg, "300 partitions under a 700-file limit: POLICY_VIOLATION naming ulimit")
        _, _, err, msg = create_topic_v7(sock, "too-many", 20)
        check(err == 0, "the name is still free and 20 partitions fit")
        sock.close()


def topic_ids(sock):
    meta = call(sock, 3, 12, {"Topics": None, "AllowAutoTopicCreation": False,
                              "IncludeTopicAuthorizedOperations": False})
    return {t["Name"]: t["TopicId"] for t in meta["Topics"]}


def delete_topics_v6(sock, entries):
    """entries: [(name or None, id)] -> the answers as a set of (name, id, error, message)."""
    body = {"Topics": [{"Name": n, "TopicId": i} for n, i in entries], "TimeoutMs": 5000}
    return {(r["Name"], r["TopicId"], r["ErrorCode"], r["ErrorMessage"])
            for r in call(sock, 20, 6, body)["Responses"]}


def check_delete_topics_entry_rules(sock):
    """DeleteTopics as Kafka's controller (ControllerApis.deleteTopics): both
    a name and an id, or neither, is INVALID_REQUEST; a name or id given twice
    is answered once ("Duplicate topic name."/"Duplicate topic id."); a name
    whose id another entry gives is refused and that id entry gets no answer.
    Nothing refused is deleted (it used to delete them, or answer every copy)."""
    names = ["del-both", "del-name-and-id", "del-dup-name", "del-dup-id", "del-ok"]
    for name in names:
        create_topic_v7(sock, name, 1)
    ids = topic_ids(sock)
    answers = delete_topics_v6(sock, [
        (None, ZERO_ID),
        ("del-both", ids["del-both"]),
        ("del-name-and-id", ZERO_ID), (None, ids["del-name-and-id"]),
        ("del-dup-name", ZERO_ID), ("del-dup-name", ZERO_ID), ("del-dup-name", ZERO_ID),
        (None, ids["del-dup-id"]), (None, ids["del-dup-id"]),
        ("del-ok", ZERO_ID)])
    invalid = 42
    want = {
        (None, ZERO_ID, invalid, "Neither topic name nor id were specified."),
        ("del-both", ids["del-both"], invalid, "You may not specify both topic name and topic id."),
        ("del-name-and-id", ids["del-name-and-id"], invalid,
         "The provided topic name maps to an ID that was already supplied."),
        ("del-dup-name", ZERO_ID, invalid, "Duplicate topic name."),
        (None, ids["del-dup-id"], invalid, "Duplicate topic id."),
        ("del-ok", ids["del-ok"], 0, None)}
    check(answers == want, "DeleteTopics v6: Kafka's answers for both/neither/duplicates/name-and-its-id (%r)"
          % (answers ^ want,))
    left = topic_ids(sock)
    check(all(n in left for n in names[:-1]) and "del-ok" not in left,
          "only the valid entry was deleted; every refused topic is still there")
    answers = delete_topics_v6(sock, [(None, ids["del-name-and-id"]), ("del-name-and-id", ZERO_ID)])
    check(answers == {("del-name-and-id", ids["del-name-and-id"], invalid,
                       "The provided topic name maps to an ID that was already supplied.")},
          "the id given before its name: one answer, for the name")
    unknown = str(uuid.uuid4())
    answers = delete_topics_v6(sock, [(None, unknown), ("del-nope", ZERO_ID)])
    check(answers == {(None, unknown, 100, "This server does not host this topic ID."),
                      ("del-nope", ZERO_ID, 3, "This server does not host this topic-partition.")},
          "unknown id and unknown name: UNKNOWN_TOPIC_ID and UNKNOWN_TOPIC_OR_PARTITION")
    resp = call(sock, 20, 5, {"TopicNames": ["del-dup-name", "del-dup-name", "del-both"], "TimeoutMs": 5000})
    answers = [(r["Name"], r["ErrorCode"], r["ErrorMessage"]) for r in resp["Responses"]]
    check(answers == [("del-dup-name", invalid, "Duplicate topic name."), ("del-both", 0, None)],
          "DeleteTopics v5: a name given twice answered once, the other topic deleted (%r)" % answers)


def topic_overrides(sock, topic):
    resp = call(sock, 32, 4, {"Resources": [{"ResourceType": 2, "ResourceName": topic, "ConfigurationKeys": None}],
                              "IncludeSynonyms": False, "IncludeDocumentation": False})
    return {c["Name"]: c["Value"] for c in resp["Results"][0]["Configs"] if c["ConfigSource"] == 1}


def check_alter_configs_duplicate_resources(sock):
    """A resource named twice in AlterConfigs or IncrementalAlterConfigs: as
    Kafka's broker (ConfigAdminManager.preprocess), every copy is refused with
    INVALID_REQUEST and neither is applied; the other resources are (Eddy
    used to apply both copies, the last one winning)."""
    for name in ("dupres-a", "dupres-b"):
        create_topic_v7(sock, name, 1)
    message = "Each resource must appear at most once."

    def resource(name, value, incremental):
        config = {"Name": "retention.ms", "Value": value}
        if incremental:
            config["ConfigOperation"] = 0
        return {"ResourceType": 2, "ResourceName": name, "Configs": [config]}

    for api_key, version, incremental in ((33, 2, False), (44, 1, True)):
        what = "IncrementalAlterConfigs v1" if incremental else "AlterConfigs v2"
        body = {"Resources": [resource("dupres-a", "111", incremental), resource("dupres-b", "333", incremental),
                              resource("dupres-a", "222", incremental)], "ValidateOnly": False}
        answers = [(r["ResourceName"], r["ErrorCode"], r["ErrorMessage"])
                   for r in call(sock, api_key, version, body)["Responses"]]
        check(answers == [("dupres-a", 42, message), ("dupres-b", 0, None), ("dupres-a", 42, message)],
              "%s: both copies of a repeated resource INVALID_REQUEST, the other applied (%r)" % (what, answers))
        check("retention.ms" not in topic_overrides(sock, "dupres-a")
              and topic_overrides(sock, "dupres-b") == {"retention.ms": "333"},
              "%s: the repeated resource's changes were not applied" % what)
        call(sock, 33, 2, {"Resources": [{"ResourceType": 2, "ResourceName": "dupres-b", "Configs": []}],
                           "ValidateOnly": False})


def create_v7(sock, name, configs, validate_only=False):
    topic = {"Name": name, "NumPartitions": 1, "ReplicationFactor": 1, "Assignments": [],
             "Configs": [{"Name": k, "Value": v} for k, v in configs]}
    r = call(sock, 19, 7, {"Topics": [topic], "timeoutMs": 5000, "validateOnly": validate_only})["Topics"][0]
    return r["ErrorCode"], r["ErrorMessage"]


def alter_topic(sock, topic, configs, incremental):
    """configs: [(name, value)], SET for IncrementalAlterConfigs v1; AlterConfigs v2 replaces them all."""
    if incremental:
        cfg = [{"Name": k, "ConfigOperation": 0, "Value": v} for k, v in configs]
        key, version = 44, 1
    else:
        cfg = [{"Name": k, "Value": v} for k, v in configs]
        key, version = 33, 2
    body = {"Resources": [{"ResourceType": 2, "ResourceName": topic, "Configs": cfg}], "ValidateOnly": False}
    r = call(sock, key, version, body)["Responses"][0]
    return r["ErrorCode"], r["ErrorMessage"]


def check_compaction_lag_order(sock):
    """min.compaction.lag.ms above max.compaction.lag.ms is refused with
    INVALID_CONFIG in Kafka's words (LogConfig.validateValues) on CreateTopics,
    AlterConfigs and IncrementalAlterConfigs, the value not given being the
    one the topic has or inherits; it used to be accepted."""
    def conflict(lo, hi):
        return (40, "conflict topic config setting min.compaction.lag.ms (%d) > max.compaction.lag.ms (%d)"
                % (lo, hi))

    both = [("min.compaction.lag.ms", "5000"), ("max.compaction.lag.ms", "1000")]
    check(create_v7(sock, "lag-a", both) == conflict(5000, 1000), "CreateTopics: min > max refused")
    check(create_v7(sock, "lag-a", both, validate_only=True) == conflict(5000, 1000),
          "CreateTopics validate-only: min > max refused")
    check(create_v7(sock, "lag-a", [("min.compaction.lag.ms", "5000")]) == (0, None),
          "CreateTopics: min alone is fine (max inherits Long.MAX_VALUE)")
    check(alter_topic(sock, "lag-a", [("max.compaction.lag.ms", "1000")], True) == conflict(5000, 1000),
          "IncrementalAlterConfigs: max below the topic's min refused")
    check(topic_overrides(sock, "lag-a") == {"min.compaction.lag.ms": "5000"}, "and nothing was changed")
    check(alter_topic(sock, "lag-a", [("max.compaction.lag.ms", "1000")], False) == (0, None),
          "AlterConfigs: max alone is fine, its min override goes away")
    check(alter_topic(sock, "lag-a", [("min.compaction.lag.ms", "2000")], True) == conflict(2000, 1000),
          "IncrementalAlterConfigs: min above the topic's max refused")
    check(alter_topic(sock, "lag-a", both, False) == conflict(5000, 1000), "AlterConfigs: min > max refused")
    check(topic_overrides(sock, "lag-a") == {"max.compaction.lag.ms": "1000"}, "and nothing was changed")
    check(alter_topic(sock, "lag-a", [("min.compaction.lag.ms", "1000")], True) == (0, None),
          "IncrementalAlterConfigs: min equal to max is fine")


def check_numbers_trimmed(sock):
    """Numeric config values with surrounding whitespace are accepted as
    Kafka's ConfigDef.parseType trims them, and stored (and reported)
    trimmed, on CreateTopics, AlterConfigs and IncrementalAlterConfigs; they
    used to be refused as not a number."""
    topic = {"Name": "trim-a", "NumPartitions": 1, "ReplicationFactor": 1, "Assignments": [],
             "Configs": [{"Name": "max.message.bytes", "Value": " 1048576 "},
                         {"Name": "retention.ms", "Value": "\t60000\n"}]}
    r = call(sock, 19, 7, {"Topics": [topic], "timeoutMs": 5000, "validateOnly": False})["Topics"][0]
    reported = {c["Name"]: c["Value"] for c in r["Configs"] if c["Name"] in ("max.message.bytes", "retention.ms")}
    check(r["ErrorCode"] == 0 and reported == {"max.message.bytes": "1048576", "retention.ms": "60000"},
          "CreateTopics v7: padded numbers accepted, reported trimmed (%r)" % ((r["ErrorCode"], reported),))
    check(topic_overrides(sock, "trim-a") == {"max.message.bytes": "1048576", "retention.ms": "60000"},
          "CreateTopics: stored trimmed")
    check(alter_topic(sock, "trim-a", [("segment.ms", " 3600000 "), ("min.cleanable.dirty.ratio", " 0.25 ")],
                      True) == (0, None), "IncrementalAlterConfigs: padded LONG and DOUBLE accepted")
    check(topic_overrides(sock, "trim-a") == {"max.message.bytes": "1048576", "retention.ms": "60000",
                                              "segment.ms": "3600000", "min.cleanable.dirty.ratio": "0.25"},
          "IncrementalAlterConfigs: stored trimmed")
    check(alter_topic(sock, "trim-a", [("retention.ms", "  70000 ")], False) == (0, None)
          and topic_overrides(sock, "trim-a") == {"retention.ms": "70000"}, "AlterConfigs: stored trimmed")
    err, _ = alter_topic(sock, "trim-a", [("retention.ms", " 70 000 ")], True)
    check(err == 40, "a space inside a number is still INVALID_CONFIG")


def describe_loggers(sock, node="1", keys=None):
    resp = call(sock, 32, 4, {"Resources": [{"ResourceType": 8, "ResourceName": node, "ConfigurationKeys": keys}],
                              "IncludeSynonyms": False, "IncludeDocumentation": False})
    r = resp["Results"][0]
    return r["ErrorCode"], r["ErrorMessage"], {c["Name"]: (c["Value"], c["ConfigSource"]) for c in r["Configs"]}


def alter_loggers(sock, ops, node="1", validate_only=False):
    """ops: [(logger, operation, level)]; IncrementalAlterConfigs v1 -> (error, message)."""
    configs = [{"Name": n, "ConfigOperation": op, "Value": v} for n, op, v in ops]
    resp = call(sock, 44, 1, {"Resources": [{"ResourceType": 8, "ResourceName": node, "Configs": configs}],
                              "ValidateOnly": validate_only})
    return resp["Responses"][0]["ErrorCode"], resp["Responses"][0]["ErrorMessage"]


def oversized_request_warns(b, marker_count):
    """Send a frame larger than socket.request.max.bytes (a WARN of logger net); whether a new line came."""
    s = connect(b.port)
    s.sendall(struct.pack(">i", 0x7fffffff))
    wait_closed(s)
    time.sleep(0.2)
    return b.output().count("exceeds socket.request.max.bytes") > marker_count


def check_broker_loggers(sock, b):
    """KIP-412, as kafka-configs.sh --entity-type broker-loggers uses it."""
    err, _, loggers = describe_loggers(sock)
    check(err == 0 and loggers.get("root") == ("INFO", 6) and loggers.get("net") == ("INFO", 6),
          "DescribeConfigs BROKER_LOGGER lists root and the component loggers at INFO (source 6): %s" % loggers)
    err, _, only = describe_loggers(sock, keys=["net"])
    check(list(only) == ["net"], "DescribeConfigs BROKER_LOGGER filters by name")
    err, msg, _ = describe_loggers(sock, node="2")
    check(err == 42 and "Unexpected node id" in msg, "another node's loggers: INVALID_REQUEST")

    before = b.output().count("exceeds socket.request.max.bytes")
    err, msg = alter_loggers(sock, [("net", 0, "ERROR")])
    check(err == 0, "IncrementalAlterConfigs SET net=ERROR")
    check(describe_loggers(sock)[2]["net"][0] == "ERROR" and describe_loggers(sock)[2]["root"][0] == "INFO",
          "net is at ERROR, root still at INFO")
    check(not oversized_request_warns(b, before), "net's WARN lines stop at ERROR")
    for ops, code, what in (([("nosuch", 0, "DEBUG")], 40, "an unknown logger: INVALID_CONFIG"),
                            ([("net", 0, "debug")], 40, "a level Kafka does not know (lower case): INVALID_CONFIG"),
                            ([("root", 1, None)], 42, "DELETE of root: INVALID_REQUEST"),
                            ([("net", 2, "DEBUG")], 42, "APPEND: INVALID_REQUEST"),
                            ([("net", 0, "DEBUG"), ("net", 0, "WARN")], 42, "a logger named twice: INVALID_REQUEST")):
        err, msg = alter_loggers(sock, ops)
        check(err == code and msg, "%s (%s)" % (what, msg))
    err, msg = alter_loggers(sock, [("net", 0, "DEBUG")], node="2")
    check(err == 42, "IncrementalAlterConfigs for another node's loggers: INVALID_REQUEST")
    err, msg = alter_loggers(sock, [("net", 0, "DEBUG")], validate_only=True)
    check(err == 0 and describe_loggers(sock)[2]["net"][0] == "ERROR", "validate_only changes nothing")
    resp = call(sock, 33, 2, {"Resources": [{"ResourceType": 8, "ResourceName": "1",
                                            "Configs": [{"Name": "net", "Value": "INFO"}]}], "ValidateOnly": False})
    check(resp["Responses"][0]["ErrorCode"] == 42, "legacy AlterConfigs on BROKER_LOGGER: INVALID_REQUEST, as Kafka")
    err, msg = alter_loggers(sock, [("net", 1, None)])
    check(err == 0 and describe_loggers(sock)[2]["net"][0] == "INFO", "DELETE gives net root's level back")
    check(oversized_request_warns(b, before), "and net's WARN lines come back")
    check("Updated the log level of net to ERROR" in b.output(), "each change is logged, as Kafka logs it")


def main():
    check_open_file_limit()
    with Broker() as b:
        sock = connect(b.port)
        name, tid, err, msg = create_topic_v7(sock, "wire-a", 2, [("retention.ms", "60000")])
        check(name == "wire-a" and err == 0 and tid != bytes(16), "CreateTopics v7 returns a topic id")
        _, _, err, msg = create_topic_v7(sock, "wire.a", 1)
        check(err == 0, "wire.a created")
        _, _, err, msg = create_topic_v7(sock, "wire_a", 1)
        check(err == 17 and "collides" in msg, "CreateTopics v7 collision: INVALID_TOPIC_EXCEPTION with a message")

        # A manual assignment of 100,000 partitions is checked in linear time (it took
        # minutes of the loop's time), and a partition named twice leaves one missing.
        started = time.time()
        _, _, err, msg = create_topic_v7(sock, "wire-big", 0, assignments=[(p, [1]) for p in range(100000)],
                                         validate_only=True)
        took = time.time() - started
        # Valid, then refused by the open-file limit (POLICY_VIOLATION) unless that is above 300,000.
        check(err in (0, 44) and took < 5, "100,000-partition manual assignment checked in %.1f s" % took)
        _, _, err, msg = create_topic_v7(sock, "wire-dup", 0, assignments=[(0, [1]), (0, [1])], validate_only=True)
        check(err == 39 and "partition 1 is missing" in msg, "a partition assigned twice: INVALID_REPLICA_ASSIGNMENT")

        err, msg = incremental_alter_v0(sock, "wire-a", [("retention.ms", 0, "90000"),
                                                         ("cleanup.policy", 2, "compact")])
        check(err == 0, "IncrementalAlterConfigs SET + APPEND")
        _, vals = describe_topic_config_v0(sock, "wire-a", "cleanup.policy")
        check(vals == {"cleanup.policy": "delete,compact"}, "APPEND added compact to the default delete")
        err, msg = incremental_alter_v0(sock, "wire-a", [("cleanup.policy", 3, "delete")])
        _, vals = describe_topic_config_v0(sock, "wire-a", "cleanup.policy")
        check(err == 0 and vals == {"cleanup.policy": "compact"}, "SUBTRACT removed delete")
        err, msg = incremental_alter_v0(sock, "wire-a", [("retention.ms", 1, None)])
        _, vals = describe_topic_config_v0(sock, "wire-a", "retention.ms")
        check(err == 0 and vals == {"retention.ms": "604800000"}, "DELETE restored the default")
        err, msg = incremental_alter_v0(sock, "wire-a", [("retention.ms", 2, "5")])
        check(err == 40, "APPEND to a non-list config: INVALID_CONFIG")
        err, msg = incremental_alter_v0(sock, "wire-a", [("bogus.key", 0, "5")])
        check(err == 40 and "bogus.key" in msg, "unknown key: INVALID_CONFIG naming it")

        check_broker_loggers(sock, b)

        dirs = describe_log_dirs_v1(sock)
        check(list(dirs) == [b.data_dir], "DescribeLogDirs lists the log dir")
        err, topics = dirs[b.data_dir]
        check(err == 0 and sorted(topics.get("wire-a", {})) == [0, 1], "DescribeLogDirs lists wire-a's partitions")

        err, cluster_id, controller, brokers = describe_cluster_v0(sock)
        check(err == 0 and controller == 1 and brokers == [(1, "127.0.0.1", b.port)] and len(cluster_id) == 22,
              "DescribeCluster: one broker, controller 1, cluster id")
        check_describe_cluster_endpoint_types(sock, b.port)
        check_delete_topics_entry_rules(sock)
        check_alter_configs_duplicate_resources(sock)
        check_compaction_lag_order(sock)
        check_numbers_trimmed(sock)

        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True})
        for i in range(3):
            p.produce("wire-a", key=b"k%d" % i, value=b"v%d" % i, partition=0)  # wire-a is compacted by now
        check(p.flush(20) == 0, "idempotent producer delivered 3 records")
        err, producers = describe_producers_v0(sock, "wire-a", 0)
        check(err == 0 and len(producers) == 1 and producers[0][2] == 2,
              "DescribeProducers: one producer, last sequence 2 (%r)" % (producers,))
        err, producers = describe_producers_v0(sock, "nope", 0)
        check(err == 3, "DescribeProducers of an unknown topic: UNKNOWN_TOPIC_OR_PARTITION")

        # A config change reaches the partition logs at once: segment.ms=100 rolls segments.
        def segments():
            return len(glob.glob(os.path.join(b.data_dir, "wire-a-1", "*.log")))

        def send_one():
            p.produce("wire-a", key=b"k", value=b"x" * 100, partition=1)
            p.flush(10)

        send_one()
        time.sleep(0.2)
        send_one()
        check(segments() == 1, "one segment with the default segment.ms")
        err, msg = incremental_alter_v0(sock, "wire-a", [("segment.ms", 0, "100")])
        check(err == 0, "segment.ms=100 set")
        for _ in range(3):
            time.sleep(0.25)
            send_one()
        check(segments() >= 3, "segments roll after the live change (%d segments)" % segments())

        name, _, err = delete_topic_by_id_v6(sock, tid)
        check(err == 0 and name == "wire-a", "DeleteTopics v6 by topic id")
        name, _, err = delete_topic_by_id_v6(sock, tid)
        check(err == 100, "deleting it again by id: UNKNOWN_TOPIC_ID")
        sock.close()
    print("%d checks passed" % CHECKS)


if __name__ == "__main__":
    main()
