"""Admin APIs through kafka-python 2.0.2's KafkaAdminClient (CreateTopics
v3, DeleteTopics v3, CreatePartitions v1, DescribeConfigs v2,
AlterConfigs v1, Metadata v5 to find the controller), plus a restart with
SIGTERM: configs and topics survive, the deleted topic stays deleted.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402

from kafka.errors import KafkaError  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic  # noqa: E402

CHECKS = 0
NONE, INVALID_TOPIC, TOPIC_EXISTS, INVALID_PARTITIONS, INVALID_RF, INVALID_CONFIG = 0, 17, 36, 37, 38, 40
UNKNOWN_TOPIC, INVALID_REQUEST = 3, 42


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def create_one(admin, topic):
    """Error code of creating one topic (kafka-python raises on the first error)."""
    try:
        return errors_by_topic(admin.create_topics([topic]))[topic.name]
    except KafkaError as e:
        return e.errno


def delete_one(admin, name):
    try:
        return errors_by_topic(admin.delete_topics([name]))[name]
    except KafkaError as e:
        return e.errno


def grow(admin, name, count):
    try:
        return errors_by_topic(admin.create_partitions({name: NewPartitions(count)}))[name]
    except KafkaError as e:
        return e.errno


def errors_by_topic(resp):
    """{topic: error_code} for CreateTopics/DeleteTopics/CreatePartitions responses."""
    out = {}
    for item in resp.topic_errors if hasattr(resp, "topic_errors") else resp.topic_error_codes:
        out[item[0]] = item[1]
    return out


def describe_topic(admin, name):
    resp = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)], include_synonyms=True)
    resp = resp[0] if isinstance(resp, list) else resp
    (error_code, _msg, _type, _name, entries) = resp.resources[0]
    return error_code, {e[0]: e for e in entries}


def main():
    with Broker() as b:
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, client_id="eddy-admin-test")
        check(create_one(admin, NewTopic("payments", 2, 1, topic_configs={"segment.bytes": "1048576"})) == NONE,
              "payments created")
        check(create_one(admin, NewTopic("payments.eu", 1, 1)) == NONE, "payments.eu created")
        check(create_one(admin, NewTopic("bad$name", 1, 1)) == INVALID_TOPIC, "illegal name refused")
        check(create_one(admin, NewTopic("rf", 1, 2)) == INVALID_RF, "replication factor 2 on one broker refused")
        check(create_one(admin, NewTopic("cfg", 1, 1, topic_configs={"cleanup.policy": "sometimes"})) == INVALID_CONFIG,
              "bad cleanup.policy refused")
        check(create_one(admin, NewTopic("payments_eu", 1, 1)) == INVALID_TOPIC, "collision with payments.eu refused")
        check(create_one(admin, NewTopic("payments", 1, 1)) == TOPIC_EXISTS, "existing topic refused")
        try:
            admin.create_topics([NewTopic("dup", 1, 1), NewTopic("dup", 1, 1)])
            dup = NONE
        except KafkaError as e:
            dup = e.errno
        check(dup == INVALID_REQUEST, "duplicate names in one request refused")

        check(set(["payments", "payments.eu"]) <= set(admin.list_topics()), "list_topics shows both")
        cluster = admin.describe_cluster()
        check(cluster["controller_id"] == 1 and len(cluster["brokers"]) == 1, "describe_cluster: one broker, controller 1")

        err, cfg = describe_topic(admin, "payments")
        check(err == NONE, "DescribeConfigs for payments")
        check(cfg["segment.bytes"][1] == "1048576", "segment.bytes override described")
        check(cfg["retention.ms"][1] == "604800000", "retention.ms default described")
        syn = cfg["segment.bytes"][-1]
        check(len(syn) >= 2 and syn[0][0] == "segment.bytes" and syn[-1][0] == "log.segment.bytes",
              "synonyms: topic override then broker default")
        err, _ = describe_topic(admin, "missing")
        check(err == UNKNOWN_TOPIC, "DescribeConfigs of a missing topic: UNKNOWN_TOPIC_OR_PARTITION")

        resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "payments",
                                                   configs={"retention.ms": "86400000", "segment.bytes": "1048576"})])
        check(resp.resources[0][0] == NONE, "AlterConfigs payments")
        resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "payments",
                                                   configs={"retention.bytes": "lots"})])
        check(resp.resources[0][0] == INVALID_CONFIG, "AlterConfigs with a bad value refused")
        _, cfg = describe_topic(admin, "payments")
        check(cfg["retention.ms"][1] == "86400000", "retention.ms altered")

        check(grow(admin, "payments", 4) == NONE, "payments grown to 4 partitions")
        check(grow(admin, "payments", 4) == INVALID_PARTITIONS, "same count refused")

        check(delete_one(admin, "payments.eu") == NONE, "payments.eu deleted")
        check(delete_one(admin, "never") == UNKNOWN_TOPIC, "deleting an unknown topic refused")
        admin.close()

        check(b.stop() == 0, "clean shutdown")
        b.start()
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, client_id="eddy-admin-test")
        topics = set(admin.list_topics())
        check("payments" in topics and "payments.eu" not in topics, "topics after restart")
        _, cfg = describe_topic(admin, "payments")
        check(cfg["retention.ms"][1] == "86400000", "altered config survives restart")
        check(create_one(admin, NewTopic("payments_eu", 1, 1)) == NONE, "no collision once payments.eu is deleted")
        admin.close()

        # Lose the metadata log: the partition logs on disk are adopted, not deleted.
        check(b.stop() == 0, "clean shutdown")
        shutil.rmtree(os.path.join(b.data_dir, "__cluster_metadata-0"))
        b.start()
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, client_id="eddy-admin-test")
        topics = set(admin.list_topics())
        check({"payments", "payments_eu"} <= topics, "topics on disk adopted into a new metadata log")
        check(os.path.isdir(os.path.join(b.data_dir, "payments-3")), "adopted partitions kept their data dirs")
        admin.close()
    print("%d checks passed" % CHECKS)


if __name__ == "__main__":
    main()
