"""Admin APIs through librdkafka's admin client (python3-confluent-kafka).

Create (with configs, and every kind of refusal), describe and alter topic
and broker configs, grow partitions, delete; then kill -9 and restart:
configs and topics survive, a deleted topic stays gone and can be created
again with a new topic id.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402

from confluent_kafka import KafkaError  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic  # noqa: E402

CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def results(futures):
    out = {}
    for key, f in futures.items():
        try:
            f.result(timeout=20)
            out[key] = None
        except Exception as e:  # KafkaException carrying a KafkaError
            out[key] = e.args[0] if e.args else e
    return out


def err_code(e):
    return e.code() if isinstance(e, KafkaError) else None


def topic_configs(admin, name):
    res = ConfigResource("topic", name)
    return admin.describe_configs([res])[res].result(timeout=20)


def topic_id_on_disk(broker, topic, partition=0):
    path = os.path.join(broker.data_dir, "%s-%d" % (topic, partition), "partition.metadata")
    with open(path) as f:
        for line in f:
            if line.startswith("topic_id:"):
                return line.split(":", 1)[1].strip()
    return None


def main():
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        r = results(admin.create_topics([
            NewTopic("orders", 3, 1, config={"retention.ms": "3600000", "cleanup.policy": "compact"}),
            NewTopic("bad name!", 1, 1),
            NewTopic("too-many-replicas", 1, 3),
            NewTopic("bad-value", 1, 1, config={"retention.ms": "soon"}),
            NewTopic("bad-key", 1, 1, config={"no.such.config": "1"}),
            NewTopic("zero-parts", 0, 1),
            NewTopic("x" * 250, 1, 1),
        ]))
        check(r["orders"] is None, "orders created")
        check(err_code(r["bad name!"]) == KafkaError.TOPIC_EXCEPTION, "illegal name: INVALID_TOPIC_EXCEPTION")
        check(err_code(r["too-many-replicas"]) == KafkaError.INVALID_REPLICATION_FACTOR,
              "replication factor above broker count: INVALID_REPLICATION_FACTOR")
        check(err_code(r["bad-value"]) == KafkaError.INVALID_CONFIG, "bad config value: INVALID_CONFIG")
        check("retention.ms" in r["bad-value"].str(), "INVALID_CONFIG message names the key")
        check(err_code(r["bad-key"]) == KafkaError.INVALID_CONFIG, "unknown config key: INVALID_CONFIG")
        check(err_code(r["zero-parts"]) == KafkaError.INVALID_PARTITIONS, "0 partitions: INVALID_PARTITIONS")
        check(err_code(r["x" * 250]) == KafkaError.TOPIC_EXCEPTION, "250-char name: INVALID_TOPIC_EXCEPTION")

        r = results(admin.create_topics([NewTopic("orders", 1, 1)]))
        check(err_code(r["orders"]) == KafkaError.TOPIC_ALREADY_EXISTS, "second create: TOPIC_ALREADY_EXISTS")
        r = results(admin.create_topics([NewTopic("my.topic", 1, 1)]))
        check(r["my.topic"] is None, "my.topic created")
        r = results(admin.create_topics([NewTopic("my_topic", 1, 1)]))
        check(err_code(r["my_topic"]) == KafkaError.TOPIC_EXCEPTION, "'.'/'_' collision: INVALID_TOPIC_EXCEPTION")
        r = results(admin.create_topics([NewTopic("dry-run", 2, 1)], validate_only=True))
        check(r["dry-run"] is None, "validate_only create succeeds")

        md = admin.list_topics(timeout=10)
        check(md.cluster_id and len(md.cluster_id) == 22, "cluster id is a 22-char base64 uuid")
        check(list(md.brokers) == [1], "Metadata lists the registered broker")
        check(len(md.topics["orders"].partitions) == 3, "orders has 3 partitions")
        check("dry-run" not in md.topics, "validate_only created nothing")
        cluster_id = md.cluster_id

        cfg = topic_configs(admin, "orders")
        check(cfg["retention.ms"].value == "3600000" and cfg["retention.ms"].source == 1,
              "retention.ms override is DYNAMIC_TOPIC_CONFIG")
        check(cfg["segment.bytes"].value == "1073741824" and cfg["segment.bytes"].source == 5,
              "segment.bytes default is DEFAULT_CONFIG")
        check(cfg["cleanup.policy"].value == "compact", "cleanup.policy=compact")

        res = ConfigResource("topic", "orders", set_config={"retention.ms": "7200000", "max.message.bytes": "2000000"})
        r = results(admin.alter_configs([res]))
        check(all(v is None for v in r.values()), "AlterConfigs accepted")
        cfg = topic_configs(admin, "orders")
        check(cfg["retention.ms"].value == "7200000", "retention.ms altered")
        check(cfg["max.message.bytes"].value == "2000000", "max.message.bytes altered")
        check(cfg["cleanup.policy"].value == "delete" and cfg["cleanup.policy"].source == 5,
              "AlterConfigs replaced the whole set: cleanup.policy back to default")
        res = ConfigResource("topic", "orders", set_config={"retention.ms": "-5"})
        r = results(admin.alter_configs([res]))
        check(err_code(list(r.values())[0]) == KafkaError.INVALID_CONFIG, "retention.ms=-5 refused")
        res = ConfigResource("topic", "nope", set_config={"retention.ms": "1"})
        r = results(admin.alter_configs([res]))
        check(err_code(list(r.values())[0]) == KafkaError.UNKNOWN_TOPIC_OR_PART, "alter unknown topic refused")

        res = ConfigResource("broker", "1")
        bcfg = admin.describe_configs([res])[res].result(timeout=20)
        check(bcfg["num.partitions"].value == "1", "broker config num.partitions described")
        check(bcfg["log.retention.ms"].value == "604800000", "broker log.retention.ms default")
        res = ConfigResource("broker", "1", set_config={"log.retention.ms": "86400000"})
        r = results(admin.alter_configs([res]))
        check(all(v is None for v in r.values()), "dynamic broker log.retention.ms accepted")
        cfg = topic_configs(admin, "my.topic")
        check(cfg["retention.ms"].value == "86400000" and cfg["retention.ms"].source == 2,
              "topic without override inherits DYNAMIC_BROKER_CONFIG")
        res = ConfigResource("broker", "1", set_config={"num.partitions": "4"})
        r = results(admin.alter_configs([res]))
        check(err_code(list(r.values())[0]) == KafkaError.INVALID_CONFIG, "static broker config cannot be altered")

        r = results(admin.create_partitions([NewPartitions("orders", 5)]))
        check(r["orders"] is None, "orders grown to 5 partitions")
        r = results(admin.create_partitions([NewPartitions("orders", 2)]))
        check(err_code(r["orders"]) == KafkaError.INVALID_PARTITIONS, "shrinking: INVALID_PARTITIONS")
        check(len(admin.list_topics(timeout=10).topics["orders"].partitions) == 5, "Metadata shows 5 partitions")

        longest = "L" * 249
        r = results(admin.create_topics([NewTopic(longest, 2, 1)]))
        check(r[longest] is None, "a 249-char topic name is legal")
        r = results(admin.delete_topics([longest]))
        check(r[longest] is None, "the 249-char topic is deleted")
        deadline = time.time() + 10
        while time.time() < deadline and any(d.startswith("LLLL") for d in os.listdir(b.data_dir)):
            time.sleep(0.1)
        check(not any(d.startswith("LLLL") for d in os.listdir(b.data_dir)),
              "its partition directories are removed from disk")

        old_id = topic_id_on_disk(b, "my.topic")
        r = results(admin.delete_topics(["my.topic", "ghost"]))
        check(r["my.topic"] is None, "my.topic deleted")
        check(err_code(r["ghost"]) == KafkaError.UNKNOWN_TOPIC_OR_PART, "delete unknown: UNKNOWN_TOPIC_OR_PARTITION")
        check("my.topic" not in admin.list_topics(timeout=10).topics, "my.topic gone from Metadata")

        # Crash and restart on the same data dir.
        b.kill9()
        b.start()
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        md = admin.list_topics(timeout=10)
        check(md.cluster_id == cluster_id, "cluster id survives kill -9")
        check(len(md.topics["orders"].partitions) == 5, "orders (5 partitions) survives kill -9")
        check("my.topic" not in md.topics, "deleted topic still gone after restart")
        cfg = topic_configs(admin, "orders")
        check(cfg["retention.ms"].value == "7200000", "topic config survives kill -9")
        cfg = topic_configs(admin, "orders")
        check(cfg["max.message.bytes"].value == "2000000", "second topic config survives kill -9")
        r = results(admin.create_topics([NewTopic("my.topic", 1, 1)]))
        check(r["my.topic"] is None, "deleted topic can be created again")
        time.sleep(0.2)
        new_id = topic_id_on_disk(b, "my.topic")
        check(old_id and new_id and old_id != new_id, "re-created topic has a new topic id")
    print("%d checks passed" % CHECKS)


if __name__ == "__main__":
    main()
