#!/usr/bin/python3
"""Every (api, version) the broker advertises, checked against Kafka's JSON
schemas rather than against Eddy's own generated codec.

For each version in each range ApiVersions v4 advertises, a minimal valid
request is encoded from the schema (tests/integration/kafka_schemas, vendored
copies of Kafka's) and the answer is decoded strictly: the response header
version that Kafka uses for it (v0 for ApiVersions, v1 for flexible
responses), the right correlation id, every field readable, nulls only where
the schema allows them, and no byte left over. Error codes must be the ones
Kafka gives for these requests. The classic group APIs (JoinGroup, SyncGroup,
Heartbeat, LeaveGroup) run as a join/sync/heartbeat/leave flow at each version.
Then the versions just outside each range and an API that is not advertised
must close the connection (as Kafka's SocketServer does), except ApiVersions,
which answers an unknown version with UNSUPPORTED_VERSION and its own range
in a v0 body (KIP-511).
"""
import os
import socket
import struct
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from record_batches import batch  # noqa: E402
from schema_codec import Schemas  # noqa: E402

TOPIC = "versions-topic"
ZERO_UUID = bytes(16)
API_VERSIONS = 18
CLASSIC_GROUP_APIS = (11, 14, 12, 13)  # JoinGroup, SyncGroup, Heartbeat, LeaveGroup: run as a flow
UNSUPPORTED_VERSION = 35
MEMBER_ID_REQUIRED = 79
NOT_ADVERTISED_PROBE = 24  # AddPartitionsToTxn: no transaction API is served
# (api key, version) -> errors Kafka also gives for these minimal requests; any other error fails the test.
# Produce v0-2 are advertised for librdkafka's sake (it compresses only if v0 is in range) and refused, as Kafka 4.
EXPECTED_ERRORS = {(0, 0): {UNSUPPORTED_VERSION}, (0, 1): {UNSUPPORTED_VERSION}, (0, 2): {UNSUPPORTED_VERSION}}
SCHEMAS = Schemas()


class Closed(Exception):
    pass


class Connection:
    """One blocking connection; call() sends a request and strictly decodes its answer."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.correlation_id = 0

    def close(self):
        self.sock.close()

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except ConnectionResetError:
                raise Closed("connection reset")
            if not chunk:
                raise Closed("connection closed")
            data += chunk
        return data

    def read_frame(self):
        size = struct.unpack(">i", self.recv_exact(4))[0]
        return self.recv_exact(size)

    def call(self, key, version, body):
        self.correlation_id += 1
        self.sock.sendall(SCHEMAS.encode_request(key, version, body, self.correlation_id))
        header, response = SCHEMAS.decode_response(key, version, self.read_frame())
        if header["CorrelationId"] != self.correlation_id:
            raise AssertionError("%s v%d: correlation id %d, sent %d" % (
                SCHEMAS.api_name(key), version, header["CorrelationId"], self.correlation_id))
        return response


def error_codes(value):
    """Every ErrorCode field anywhere in a decoded response."""
    found = set()
    if isinstance(value, dict):
        for name, field in value.items():
            if name == "ErrorCode" and isinstance(field, int):
                found.add(field)
            else:
                found |= error_codes(field)
    elif isinstance(value, list):
        for element in value:
            found |= error_codes(element)
    return found


def check_errors(key, version, response):
    unexpected = error_codes(response) - {0} - EXPECTED_ERRORS.get((key, version), set())
    if unexpected:
        raise AssertionError("%s v%d: error codes %s in %r" % (SCHEMAS.api_name(key), version, sorted(unexpected),
                                                                response))


def records(version):
    return batch(0, int(time.time() * 1000), [(0, b"k", b"v%d" % version, ())])


def request_body(key, v, topic_id):
    """A minimal valid request of api `key` at version v; fields a version lacks are left out by the encoder."""
    group = "pv-group-%d-%d" % (key, v)
    bodies = {
        0: lambda: {"Acks": -1, "TimeoutMs": 5000, "TopicData": [
            {"Name": TOPIC, "PartitionData": [{"Index": 0, "Records": records(v)}]}]},
        1: lambda: {"ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": 1 << 20, "SessionEpoch": -1,
                    "Topics": [{"Topic": TOPIC, "TopicId": topic_id, "Partitions": [
                        {"Partition": 0, "CurrentLeaderEpoch": -1, "FetchOffset": 0, "LastFetchedEpoch": -1,
                         "LogStartOffset": -1, "PartitionMaxBytes": 1 << 20}]}]},
        2: lambda: {"ReplicaId": -1, "Topics": [{"Name": TOPIC, "Partitions": [
            {"PartitionIndex": 0, "CurrentLeaderEpoch": -1, "Timestamp": -1, "MaxNumOffsets": 1}]}]},
        3: lambda: {"Topics": [{"Name": TOPIC, "TopicId": ZERO_UUID}], "AllowAutoTopicCreation": False},
        8: lambda: {"GroupId": "pv-offsets-%d" % v, "GenerationIdOrMemberEpoch": -1, "MemberId": "",
                    "RetentionTimeMs": -1, "Topics": [{"Name": TOPIC, "Partitions": [
                        {"PartitionIndex": 0, "CommittedOffset": 1, "CommittedLeaderEpoch": -1,
                         "CommitTimestamp": -1, "CommittedMetadata": "m"}]}]},
        9: lambda: {"GroupId": "pv-offsets-%d" % v, "Topics": [{"Name": TOPIC, "PartitionIndexes": [0]}],
                    "Groups": [{"GroupId": "pv-offsets-%d" % v, "Topics": [{"Name": TOPIC, "PartitionIndexes": [0]}]}]},
        10: lambda: {"Key": group, "KeyType": 0, "CoordinatorKeys": [group]},
        15: lambda: {"Groups": ["pv-classic-%d" % v]},
        16: lambda: {"StatesFilter": [], "TypesFilter": []},
        18: lambda: {"ClientSoftwareName": "eddy-tests", "ClientSoftwareVersion": "1.0"},
        19: lambda: {"Topics": [{"Name": "pv-created-%d" % v, "NumPartitions": 1, "ReplicationFactor": 1}],
                     "timeoutMs": 5000},
        20: lambda: {"TopicNames": ["pv-created-%d" % v], "Topics": [{"Name": "pv-created-%d" % v}],
                     "TimeoutMs": 5000},
        21: lambda: {"Topics": [{"Name": TOPIC, "Partitions": [{"PartitionIndex": 0, "Offset": 0}]}],
                     "TimeoutMs": 5000},
        22: lambda: {"TransactionalId": None, "TransactionTimeoutMs": 60000, "ProducerId": -1, "ProducerEpoch": -1},
        23: lambda: {"ReplicaId": -1, "Topics": [{"Topic": TOPIC, "Partitions": [
            {"Partition": 0, "CurrentLeaderEpoch": -1, "LeaderEpoch": 0}]}]},
        32: lambda: {"Resources": [{"ResourceType": 2, "ResourceName": TOPIC, "ConfigurationKeys": ["retention.ms"]}],
                     "IncludeSynonyms": True, "IncludeDocumentation": True},
        33: lambda: {"Resources": [{"ResourceType": 2, "ResourceName": TOPIC, "Configs": [
            {"Name": "retention.ms", "Value": "86400000"}]}], "ValidateOnly": True},
        35: lambda: {"Topics": None},
        37: lambda: {"Topics": [{"Name": TOPIC, "Count": 3, "Assignments": None}], "TimeoutMs": 5000,
                     "ValidateOnly": True},
        42: lambda: {"GroupsNames": ["pv-offsets-%d" % v]},
        44: lambda: {"Resources": [{"ResourceType": 2, "ResourceName": TOPIC, "Configs": [
            {"Name": "retention.ms", "ConfigOperation": 0, "Value": "86400000"}]}], "ValidateOnly": True},
        47: lambda: {"GroupId": "pv-offsets-7", "Topics": [{"Name": TOPIC, "Partitions": [{"PartitionIndex": 0}]}]},
        60: lambda: {"EndpointType": 1},
        61: lambda: {"Topics": [{"Name": TOPIC, "PartitionIndexes": [0]}]},
        68: lambda: {"GroupId": "pv-848-%d" % v, "MemberId": "" if v == 0 else str(uuid.uuid4()), "MemberEpoch": 0,
                     "InstanceId": None, "RackId": None, "RebalanceTimeoutMs": 30000,
                     "SubscribedTopicNames": [TOPIC], "SubscribedTopicRegex": None, "ServerAssignor": None,
                     "TopicPartitions": []},
        69: lambda: {"GroupIds": ["pv-848-0"]},
    }
    if key not in bodies:
        raise AssertionError("no request body for advertised api %s (key %d): add one" % (SCHEMAS.api_name(key), key))
    return bodies[key]()


def classic_group_flow(conn, group, versions):
    """Join (twice from JoinGroup v4: MEMBER_ID_REQUIRED), sync as leader, heartbeat, leave."""
    join_v, sync_v, heartbeat_v, leave_v = (versions[k] for k in CLASSIC_GROUP_APIS)
    subscription = struct.pack(">hih", 0, 1, len(TOPIC)) + TOPIC.encode() + struct.pack(">i", -1)
    join = {"GroupId": group, "SessionTimeoutMs": 10000, "RebalanceTimeoutMs": 10000, "MemberId": "",
            "ProtocolType": "consumer", "Protocols": [{"Name": "range", "Metadata": subscription}],
            "Reason": "protocol versions test"}
    joined = conn.call(11, join_v, join)
    if joined["ErrorCode"] == MEMBER_ID_REQUIRED and join_v >= 4:
        join["MemberId"] = joined["MemberId"]
        joined = conn.call(11, join_v, join)
    check_errors(11, join_v, joined)
    member, generation = joined["MemberId"], joined["GenerationId"]
    assert joined["Leader"] == member and len(joined["Members"]) == 1, joined
    synced = conn.call(14, sync_v, {"GroupId": group, "GenerationId": generation, "MemberId": member,
                                    "ProtocolType": "consumer", "ProtocolName": "range",
                                    "Assignments": [{"MemberId": member, "Assignment": b"\0\0\0\0\0\0\0\0"}]})
    check_errors(14, sync_v, synced)
    assert synced["Assignment"] == b"\0\0\0\0\0\0\0\0", synced
    check_errors(12, heartbeat_v, conn.call(12, heartbeat_v, {"GroupId": group, "GenerationId": generation,
                                                              "MemberId": member}))
    left = conn.call(13, leave_v, {"GroupId": group, "MemberId": member,
                                   "Members": [{"MemberId": member, "Reason": "done"}]})
    check_errors(13, leave_v, left)


def check_classic_groups(conn, advertised, covered):
    ranges = {k: advertised[k] for k in CLASSIC_GROUP_APIS}
    highest = max(high for _, high in ranges.values())
    for i in range(highest + 1):
        versions = {k: min(max(i, low), high) for k, (low, high) in ranges.items()}
        classic_group_flow(conn, "pv-classic-%d" % i, versions)
        covered.update(versions.items())
    print("JoinGroup/SyncGroup/Heartbeat/LeaveGroup: a full flow at each version %s" % (
        ", ".join("%s %d-%d" % (SCHEMAS.api_name(k), low, high) for k, (low, high) in ranges.items())))


def check_every_version(conn, advertised, topic_id, covered):
    for key in sorted(advertised):
        if key in CLASSIC_GROUP_APIS:
            continue
        low, high = advertised[key]
        for v in range(low, high + 1):
            response = conn.call(key, v, request_body(key, v, topic_id))
            check_errors(key, v, response)
            covered.add((key, v))
        print("%-24s v%d-%d: every version answered and decoded strictly" % (SCHEMAS.api_name(key), low, high))


def closes_connection(port, key, version):
    """A request header only (v1: the broker must refuse it before looking at a body)."""
    conn = Connection(port, timeout=5.0)
    try:
        header = struct.pack(">hhih", key, version, 7, 4) + b"test"
        conn.sock.sendall(struct.pack(">i", len(header)) + header)
        try:
            conn.read_frame()
            return False
        except Closed:
            return True
        except socket.timeout:
            raise AssertionError("%s v%d: neither answered nor closed in 5 s" % (SCHEMAS.api_name(key), version))
    finally:
        conn.close()


def check_out_of_range(port, advertised):
    probes = []
    for key, (low, high) in sorted(advertised.items()):
        if key == API_VERSIONS:
            continue
        probes += [(key, high + 1)] + ([(key, low - 1)] if low > 0 else [])
    probes += [(NOT_ADVERTISED_PROBE, 0)]
    for key, version in probes:
        assert closes_connection(port, key, version), "%s v%d was answered" % (SCHEMAS.api_name(key), version)
    conn = Connection(port)
    try:
        conn.correlation_id += 1
        too_new = advertised[API_VERSIONS][1] + 1
        conn.sock.sendall(raw_api_versions_request(too_new, conn.correlation_id))
        _, answer = SCHEMAS.decode_response(API_VERSIONS, 0, conn.read_frame())
    finally:
        conn.close()
    ranges = {k["ApiKey"]: (k["MinVersion"], k["MaxVersion"]) for k in answer["ApiKeys"]}
    assert answer["ErrorCode"] == UNSUPPORTED_VERSION and ranges.get(API_VERSIONS) == advertised[API_VERSIONS], answer
    print("out of range: %d versions and an unadvertised api closed the connection; ApiVersions v%d answered "
          "UNSUPPORTED_VERSION with its range in a v0 body" % (len(probes) - 1, too_new))


def raw_api_versions_request(version, correlation_id):
    """An ApiVersions request at a version the schemas may not know: header v2 and an empty flexible body."""
    header = struct.pack(">hhih", API_VERSIONS, version, correlation_id, 4) + b"test" + b"\0"
    body = b"\x01\x01\0"  # ClientSoftwareName "", ClientSoftwareVersion "", no tags
    return struct.pack(">i", len(header + body)) + header + body


def main():
    with Broker(config={"num.partitions": "2", "group.initial.rebalance.delay.ms": "0"}) as b:
        started = time.time()
        conn = Connection(b.port)
        advertised = {k["ApiKey"]: (k["MinVersion"], k["MaxVersion"])
                      for k in conn.call(API_VERSIONS, 4, request_body(API_VERSIONS, 4, None))["ApiKeys"]}
        for key in advertised:
            SCHEMAS.require(key)
        created = conn.call(19, 7, {"Topics": [{"Name": TOPIC, "NumPartitions": 2, "ReplicationFactor": 1}],
                                    "timeoutMs": 5000})
        check_errors(19, 7, created)
        topic_id = created["Topics"][0]["TopicId"]
        covered = set()
        check_classic_groups(conn, advertised, covered)
        check_every_version(conn, advertised, topic_id, covered)
        conn.close()
        wanted = {(k, v) for k, (low, high) in advertised.items() for v in range(low, high + 1)}
        assert covered == wanted, "not covered: %s" % sorted(wanted - covered)
        check_out_of_range(b.port, advertised)
        print("%d (api, version) pairs of %d apis in %.1f s" % (len(wanted), len(advertised), time.time() - started))
    print("OK")


if __name__ == "__main__":
    main()
