"""Topics of a thousand partitions, as an operator creates them with an
admin client (librdkafka's Python AdminClient), while other clients keep
being served: the broker makes the logs of such a topic off its event loop.

- Right after CreateTopics answers for 1,000 partitions, Metadata already
  answers too, with some partitions still without a leader
  (LEADER_NOT_AVAILABLE: their logs are being made); soon every partition
  has its leader and a directory on disk, and a record to the last one is
  read back.
- A 1,500-partition topic deleted while its logs are being made, then made
  again with 3 partitions, ends as 3 partitions: no directory of the first
  one outlives the deletion.
- kill -9 right after CreateTopics answers for 1,000 more: after restart
  every partition of both topics has its log, and the record is still there.
"""
import glob
import os
import sys
import time

import confluent_kafka as ck
import confluent_kafka.admin as cka

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker, check  # noqa: E402

BIG = 1000
GONE = 1500


def partition_states(admin, topic):
    """{partition: leader} from one Metadata request (-1: no leader yet); {}
    while the broker does not answer (a restart makes missing logs first)."""
    try:
        md = admin.list_topics(topic=topic, timeout=30)
    except ck.KafkaException:
        return {}
    t = md.topics.get(topic)
    if t is None or t.error is not None and t.error.code() != ck.KafkaError.LEADER_NOT_AVAILABLE:
        return {}
    return {p.id: (p.leader if p.error is None else -1) for p in t.partitions.values()}


def wait_all_led(admin, topic, count, timeout=180):
    deadline = time.time() + timeout
    while True:
        states = partition_states(admin, topic)
        if len(states) == count and all(leader >= 0 for leader in states.values()):
            return True
        if time.time() > deadline:
            return False
        time.sleep(0.2)


def partition_dirs(data_dir, topic):
    """Live partition directories of topic (not those renamed for deletion)."""
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(data_dir, topic + "-*"))
                  if not p.endswith("-delete"))


def produce_one(bootstrap, topic, partition, value):
    p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    p.produce(topic, value=value, partition=partition)
    check(p.flush(60) == 0, "a record to %s-%d is acknowledged" % (topic, partition))


def read_one(bootstrap, topic, partition):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "big-topics", "enable.auto.commit": False})
    c.assign([ck.TopicPartition(topic, partition, 0)])
    deadline = time.time() + 30
    try:
        while time.time() < deadline:
            m = c.poll(1)
            if m is not None and not m.error():
                return m.value()
        return None
    finally:
        c.close()


def create(admin, topic, partitions):
    admin.create_topics([cka.NewTopic(topic, partitions, 1)])[topic].result(60)


def main():
    b = Broker()
    b.start()
    try:
        admin = cka.AdminClient({"bootstrap.servers": b.bootstrap})
        started = time.time()
        create(admin, "big", BIG)
        answered = time.time()
        states = partition_states(admin, "big")
        waiting = sum(1 for leader in states.values() if leader < 0)
        print("  CreateTopics for %d partitions answered in %.0f ms; Metadata right after: %d of %d "
              "partitions still without a leader" % (BIG, (answered - started) * 1000, waiting, len(states)))
        check(len(states) == BIG, "Metadata lists all %d partitions at once" % BIG)
        check(waiting > 0, "the broker answered Metadata while the topic's logs were still being made")
        check(wait_all_led(admin, "big", BIG), "every partition of big gets its leader")
        print("  all %d led %.1f s after CreateTopics" % (BIG, time.time() - started))
        check(len(partition_dirs(b.data_dir, "big")) == BIG, "big has %d directories on disk" % BIG)
        produce_one(b.bootstrap, "big", BIG - 1, b"last")
        check(read_one(b.bootstrap, "big", BIG - 1) == b"last", "the record to big-%d reads back" % (BIG - 1))

        create(admin, "gone", GONE)
        admin.delete_topics(["gone"])["gone"].result(60)
        create(admin, "gone", 3)
        check(wait_all_led(admin, "gone", 3), "gone, made again, has 3 led partitions")
        dirs = partition_dirs(b.data_dir, "gone")
        check(dirs == ["gone-0", "gone-1", "gone-2"],
              "only gone's 3 new partitions have directories, not %d" % len(dirs))
        produce_one(b.bootstrap, "gone", 2, b"again")
        check(read_one(b.bootstrap, "gone", 2) == b"again", "the new gone takes records")
        print("  a %d-partition topic deleted while being made, then made with 3: %s" % (GONE, dirs))

        create(admin, "crash", BIG)
        b.kill9()
        b.start()
        admin = cka.AdminClient({"bootstrap.servers": b.bootstrap})
        check(wait_all_led(admin, "crash", BIG), "after kill -9 and restart, crash has all %d partitions" % BIG)
        check(len(partition_dirs(b.data_dir, "crash")) == BIG, "crash has %d directories on disk" % BIG)
        check(wait_all_led(admin, "big", BIG), "and big all of its %d" % BIG)
        check(read_one(b.bootstrap, "big", BIG - 1) == b"last", "the record to big-%d is still there" % (BIG - 1))
        print("  kill -9 right after creating %d more partitions: all there after restart" % BIG)
        rc = b.stop()
        check(rc == 0, "clean shutdown (exit %s)" % rc)
        b.check_clean()
        errors = [line for line in b.output().splitlines() if " ERROR " in line or "no log to delete" in line]
        check(not errors, "no errors (nor missing logs) in the broker log: %s" % errors[:3])
    finally:
        b.kill9()
    print("test_admin_big_topics: ok")


if __name__ == "__main__":
    main()
