#!/usr/bin/python3
"""What users see of a fresh broker through real clients' metadata calls.

kcat -L, a librdkafka C program (build/itest/list_metadata), kafka-python
(consumer and admin) and confluent-kafka's AdminClient must all list the one
broker (node id, advertised host:port) and auto-create a requested topic with
num.partitions partitions led by that node. With auto.create.topics.enable=false
the topic is reported UNKNOWN_TOPIC_OR_PARTITION and not created.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EDDY_BUILD, Broker  # noqa: E402
import foundation_wire as kw  # noqa: E402

PARTITIONS = 3
NODE_ID = 1


def kcat_metadata(b, topic):
    out = subprocess.run(["kcat", "-L", "-J", "-b", b.bootstrap, "-t", topic, "-m", "10"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, "kcat -L failed (%d): %s" % (out.returncode, out.stderr)
    return json.loads(out.stdout)


def check_kcat(b):
    md = kcat_metadata(b, "newtopic")
    assert md["brokers"] == [{"id": NODE_ID, "name": b.bootstrap}], "kcat brokers: %r" % md["brokers"]
    assert md["controllerid"] == NODE_ID, "kcat controller: %r" % md.get("controllerid")
    (topic,) = md["topics"]
    assert topic["topic"] == "newtopic" and "error" not in topic, "kcat topic: %r" % topic
    parts = sorted(topic["partitions"], key=lambda p: p["partition"])
    assert [p["partition"] for p in parts] == list(range(PARTITIONS)), "kcat partitions: %r" % parts
    for p in parts:
        assert p["leader"] == NODE_ID and p["replicas"] == [{"id": NODE_ID}] and p["isrs"] == [{"id": NODE_ID}], \
            "kcat partition: %r" % p
        assert "error" not in p, "kcat partition error: %r" % p
    # The human-readable form a user reads.
    text = subprocess.run(["kcat", "-L", "-b", b.bootstrap, "-t", "newtopic"], capture_output=True, text=True,
                          timeout=60).stdout
    assert "broker %d at %s" % (NODE_ID, b.bootstrap) in text, text
    assert 'topic "newtopic" with %d partitions' % PARTITIONS in text, text
    print("kcat -L: broker %d at %s, newtopic with %d partitions led by %d" % (NODE_ID, b.bootstrap, PARTITIONS,
                                                                             NODE_ID))


def check_c_program(b):
    prog = os.path.join(EDDY_BUILD, "itest", "list_metadata")
    assert os.path.exists(prog), "%s is missing: run `make` (it builds tests/integration/c/*.c)" % prog
    out = subprocess.run([prog, b.bootstrap, "c-topic"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, "list_metadata failed (%d): %s%s" % (out.returncode, out.stdout, out.stderr)
    lines = out.stdout.splitlines()
    assert "broker %d %s" % (NODE_ID, b.bootstrap) in lines, out.stdout
    assert "topic c-topic err 0 partitions %d" % PARTITIONS in lines, out.stdout
    for p in range(PARTITIONS):
        want = "partition c-topic %d err 0 leader %d replicas 1 isrs 1" % (p, NODE_ID)
        assert want in lines, "missing %r in:\n%s" % (want, out.stdout)
    # All topics: both auto-created topics are now listed.
    out = subprocess.run([prog, b.bootstrap], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for name in ("newtopic", "c-topic"):
        assert "topic %s err 0 partitions %d" % (name, PARTITIONS) in out.stdout.splitlines(), out.stdout
    print("librdkafka rd_kafka_metadata(): broker, c-topic auto-created with %d partitions; all-topics lists both"
          % PARTITIONS)


def check_kafka_python(b):
    from kafka import KafkaAdminClient, KafkaConsumer
    consumer = KafkaConsumer(bootstrap_servers=b.bootstrap, request_timeout_ms=20000, api_version_auto_timeout_ms=10000)
    try:
        topics = consumer.topics()
        assert {"newtopic", "c-topic"} <= topics, "kafka-python topics(): %r" % topics
        parts = consumer.partitions_for_topic("newtopic")
        assert parts == set(range(PARTITIONS)), "kafka-python partitions_for_topic: %r" % parts
    finally:
        consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=20000)
    try:
        cluster = admin.describe_cluster()
        assert cluster["brokers"] == [{"node_id": NODE_ID, "host": "127.0.0.1", "port": b.port, "rack": None}], \
            "kafka-python describe_cluster brokers: %r" % cluster
        assert cluster["controller_id"] == NODE_ID, "kafka-python controller: %r" % cluster
        assert cluster.get("cluster_id"), "kafka-python describe_cluster has no cluster id: %r" % cluster
        listed = admin.list_topics()
        assert {"newtopic", "c-topic"} <= set(listed), "kafka-python admin list_topics: %r" % listed
        (desc,) = admin.describe_topics(["newtopic"])
        assert desc["error_code"] == 0 and len(desc["partitions"]) == PARTITIONS, desc
        assert all(p["leader"] == NODE_ID for p in desc["partitions"]), desc
    finally:
        admin.close()
    print("kafka-python: topics(), partitions_for_topic, describe_cluster (cluster id %s), list/describe_topics"
          % cluster["cluster_id"])


def check_confluent_kafka(b):
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    md = admin.list_topics(timeout=20)
    assert set(md.brokers) == {NODE_ID}, "confluent-kafka brokers: %r" % md.brokers
    broker = md.brokers[NODE_ID]
    assert (broker.host, broker.port) == ("127.0.0.1", b.port), "confluent-kafka broker: %s" % broker
    assert md.controller_id == NODE_ID, md.controller_id
    topic = md.topics["newtopic"]
    assert topic.error is None and sorted(topic.partitions) == list(range(PARTITIONS)), topic
    assert md.cluster_id, "confluent-kafka sees no cluster id"
    print("confluent-kafka AdminClient.list_topics: broker %s, newtopic %d partitions" % (broker, PARTITIONS))


def check_auto_create_disabled():
    with Broker(config={"auto.create.topics.enable": "false", "num.partitions": str(PARTITIONS)}) as b:
        md = kcat_metadata(b, "not-created")
        (topic,) = md["topics"]
        assert topic["topic"] == "not-created" and topic.get("partitions", []) == [], topic
        assert "error" in topic and "Unknown topic" in topic["error"], "kcat topic: %r" % topic
        # v1 (auto-create implied before v4) and v4 with allow_auto_topic_creation=true: still not created.
        answer = kw.metadata_roundtrip(b.port, ["not-created", "other"])
        for name in ("not-created", "other"):
            assert answer["topics"][name] == (kw.UNKNOWN_TOPIC_OR_PARTITION, []), answer
        with kw.connect(b.port) as s:
            s.sendall(kw.metadata_v4_request(9, ["not-created"], allow_auto_create=True))
            corr, body = kw.recv_response(s)
            assert corr == 9
        everything = kw.metadata_roundtrip(b.port, None)
        assert everything["topics"] == {}, "topics were created anyway: %r" % everything["topics"]
    print("auto.create.topics.enable=false: UNKNOWN_TOPIC_OR_PARTITION, nothing created")


def check_client_refuses_auto_create(b):
    """Metadata v4 with allow_auto_topic_creation=false (what consumers send) must not create it."""
    with kw.connect(b.port) as s:
        s.sendall(kw.metadata_v4_request(10, ["consumer-only"], allow_auto_create=False))
        assert kw.recv_response(s)[0] == 10
    everything = kw.metadata_roundtrip(b.port, None)
    assert "consumer-only" not in everything["topics"], everything["topics"]
    print("Metadata v4 allow_auto_topic_creation=false: not created")


def check_offsets_topic_via_metadata():
    """`kcat -L -t __consumer_offsets` before any group exists must create the real thing:
    offsets.topic.num.partitions partitions, internal; commits then work for every group."""
    from confluent_kafka import Consumer, TopicPartition
    with Broker(config={"offsets.topic.num.partitions": "5", "num.partitions": "1"}) as b:
        md = kcat_metadata(b, "__consumer_offsets")
        (topic,) = md["topics"]
        assert len(topic["partitions"]) == 5, "__consumer_offsets created with %d partitions, expected 5" % len(
            topic["partitions"])
        answer = kw.metadata_roundtrip(b.port, ["plain"])
        assert len(answer["topics"]["plain"][1]) == 1
        for group in ("g-a", "g-b", "g-c", "g-d", "g-e", "g-f"):
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
            try:
                (result,) = c.commit(offsets=[TopicPartition("plain", 0, 0)], asynchronous=False)
                assert result.error is None, "%s: commit failed: %s" % (group, result.error)
            finally:
                c.close()
    print("__consumer_offsets auto-created through Metadata: 5 partitions (offsets.topic.num.partitions); "
          "commits of 6 groups succeed")


def main():
    with Broker(config={"num.partitions": str(PARTITIONS)}) as b:
        check_kcat(b)
        check_c_program(b)
        check_client_refuses_auto_create(b)
        check_kafka_python(b)
        check_confluent_kafka(b)
        assert b.output().count("created topic newtopic ") <= 1, "newtopic created more than once:\n" + b.output()
    check_auto_create_disabled()
    check_offsets_topic_via_metadata()
    print("OK")


if __name__ == "__main__":
    main()
