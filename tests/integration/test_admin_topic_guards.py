"""Topics a client may not make, and topic configs that must take effect:

- `__cluster_metadata` can be neither created nor auto-created (its
  partition directory would be the metadata log's own: before, writing to
  it lost other topics after a restart); a topic created next to the
  attempt survives a restart with its records;
- `__consumer_offsets` cannot be created by a client (the broker makes it
  with offsets.topic.num.partitions; one made with another shape broke
  every group), and groups keep working;
- a topic's own min.insync.replicas holds for acks=all: with 2 on this
  one-broker cluster, acks=all gets NOT_ENOUGH_REPLICAS, acks=1 succeeds;
- config values are case-sensitive as in Kafka: `Delete`, `GZIP`,
  `logappendtime` are INVALID_CONFIG (before, `Delete` was taken and then
  matched nothing, so retention never ran).
"""
import os
import sys
import time

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation_wire import connect  # noqa: E402
from harness import Broker, check  # noqa: E402
from produce_wire import produce  # noqa: E402
from record_batches import batch  # noqa: E402

NOT_ENOUGH_REPLICAS = 19


def create(admin, name, config=None, partitions=1):
    """The error of creating one topic (None when created)."""
    try:
        admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])[name].result(30)
        return None
    except ck.KafkaException as e:
        return e.args[0]


def topics(b):
    return set(AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10).topics)


def main():
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        err = create(admin, "__cluster_metadata")
        check(err is not None and err.code() == ck.KafkaError.INVALID_REQUEST,
              "CreateTopics __cluster_metadata: INVALID_REQUEST (%s)" % (err and err.str()))
        check(create(admin, "victim") is None, "an ordinary topic is created")
        p = ck.Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "message.timeout.ms": 3000})
        p.produce("victim", b"kept")
        p.produce("__cluster_metadata", b"\x01\x09\x00")  # auto-creation is refused too
        p.flush(10)
        check("__cluster_metadata" not in topics(b), "a producer does not auto-create __cluster_metadata")

        err = create(admin, "__consumer_offsets", partitions=1)
        check(err is not None and err.code() == ck.KafkaError.INVALID_REQUEST,
              "CreateTopics __consumer_offsets by a client: INVALID_REQUEST")
        c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "guards"})
        c.commit(offsets=[ck.TopicPartition("victim", 0, 1)], asynchronous=False)
        check(c.committed([ck.TopicPartition("victim", 0)], timeout=10)[0].offset == 1, "group commits still work")
        c.close()

        check(create(admin, "strict", {"min.insync.replicas": "2"}) is None, "topic with min.insync.replicas=2")
        s = connect(b.port, timeout=30)
        one = batch(0, int(time.time() * 1000), [(0, b"k", b"v", ())])
        check(produce(s, "strict", 0, one, acks=-1)["error"] == NOT_ENOUGH_REPLICAS,
              "acks=all on it: NOT_ENOUGH_REPLICAS (one in-sync replica)")
        check(produce(s, "strict", 0, one, acks=1)["error"] == 0, "acks=1 on it succeeds")

        for key, value in (("cleanup.policy", "Delete"), ("compression.type", "GZIP"),
                           ("message.timestamp.type", "logappendtime")):
            err = create(admin, "case-" + key.replace(".", "-"), {key: value})
            check(err is not None and err.code() == ck.KafkaError.INVALID_CONFIG,
                  "%s=%s: INVALID_CONFIG" % (key, value))

        b.stop()
        b.start()
        check("victim" in topics(b), "after a restart the other topic is still there")
        c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "read-victim", "auto.offset.reset": "earliest"})
        c.assign([ck.TopicPartition("victim", 0, 0)])
        m = c.poll(10)
        check(m is not None and not m.error() and m.value() == b"kept", "with its record")
        c.close()
    print("PASS")


if __name__ == "__main__":
    main()
