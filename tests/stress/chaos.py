"""Chaos run: many things at once against one broker, for minutes, then check
what must always hold. Not part of the suite (it runs for ten minutes and
its interleavings differ each time); `make chaos` runs it on the
ASan/UBSan build.

Meanwhile:
  - an admin client creates topics churn-0..5 with 1 to 1,200 partitions,
    deletes most of them soon after, and makes them again under the same
    names; it also lists topics and describes configs;
  - an idempotent producer writes to "stable" (4 partitions), a plain one to
    "stable" and the churn topics, each with a random codec, re-created
    every 5-20 s;
  - a consumer group subscribed to "stable" and ^churn-.* joins and leaves;
  - every 20-60 s the broker is, half the time, killed with SIGKILL and
    started again on the same data.

At the end: the broker never died on its own, no sanitizer report, every
record acknowledged on "stable" reads back, SIGTERM stops it cleanly; the
broker's ERROR lines are printed. Found so far: a flush running across a
topic's delete and re-create wrote the old topic's files into the new
partition's directory (fixed; tests/unit/test_log_manager.c).

    EDDY_BIN=build-san/eddy CHAOS_SECONDS=600 /usr/bin/python3 tests/stress/chaos.py
"""
import os
import random
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Broker  # noqa: E402
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

DURATION = float(os.environ.get("CHAOS_SECONDS", "600"))
CHURN_TOPICS = 6
STABLE_PARTITIONS = 4

stop = threading.Event()
acked = {}  # partition of "stable" -> offsets acknowledged
acked_lock = threading.Lock()


def wait_all(futures):
    for f in futures.values():
        try:
            f.result(15)
        except Exception:  # the topic exists or is gone, or the broker is restarting
            pass


def admin_loop(bootstrap):
    rnd = random.Random(1)
    while not stop.is_set():
        try:
            admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000})
            name = "churn-%d" % rnd.randrange(CHURN_TOPICS)
            wait_all(admin.create_topics([NewTopic(name, rnd.choice([1, 3, 50, 400, 1200]), 1)],
                                         operation_timeout=10))
            time.sleep(rnd.random() * 0.5)
            if rnd.random() < 0.8:
                wait_all(admin.delete_topics([name], operation_timeout=10))
            if rnd.random() < 0.3:
                wait_all(admin.describe_configs([ConfigResource("topic", "stable")]))
            admin.list_topics(timeout=10)
        except Exception:
            time.sleep(0.2)


def on_delivery(err, msg):
    if err is None and msg.topic() == "stable":
        with acked_lock:
            acked.setdefault(msg.partition(), set()).add(msg.offset())


def produce_loop(bootstrap, which):
    rnd = random.Random(which)
    # An idempotent producer whose topic is deleted and made again gets
    # OUT_OF_ORDER_SEQUENCE_NUMBER (as from Kafka 4.5), fatal in librdkafka:
    # only the plain producer writes to the churn topics.
    idempotent = which % 2 == 0
    while not stop.is_set():
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, "enable.idempotence": idempotent,
                             "message.timeout.ms": 20000,
                             "compression.type": rnd.choice(["none", "lz4", "zstd"])})
        until = time.time() + rnd.uniform(5, 20)
        while time.time() < until and not stop.is_set():
            topic = "stable" if idempotent or rnd.random() < 0.6 else "churn-%d" % rnd.randrange(CHURN_TOPICS)
            try:
                producer.produce(topic, value=os.urandom(rnd.randint(1, 3000)), key=b"k%d" % rnd.randrange(100),
                                 on_delivery=on_delivery)
                producer.poll(0)
            except BufferError:
                producer.poll(0.05)
            except KafkaException as e:
                print("producer %d: %s" % (which, e), flush=True)
                break
        producer.flush(30)


def consume_loop(bootstrap):
    rnd = random.Random(2)
    while not stop.is_set():
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos", "auto.offset.reset": "earliest",
                             "topic.metadata.refresh.interval.ms": 1000, "session.timeout.ms": 6000})
        consumer.subscribe(["^churn-.*", "stable"])
        until = time.time() + rnd.uniform(5, 30)
        while time.time() < until and not stop.is_set():
            consumer.poll(0.2)
        try:
            consumer.close()
        except Exception:
            pass


def read_stable(bootstrap, deadline_s=900):
    """Offsets of "stable" read back, per partition, up to each high watermark.
    A sanitizer build can take a minute to recover after a kill -9: wait."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify", "enable.auto.commit": False})
    deadline = time.time() + deadline_s
    highs = {}
    while len(highs) < STABLE_PARTITIONS and time.time() < deadline:
        try:
            for p in range(STABLE_PARTITIONS):
                highs[p] = consumer.get_watermark_offsets(TopicPartition("stable", p), timeout=5)[1]
        except KafkaException:
            time.sleep(1)
    consumer.assign([TopicPartition("stable", p, OFFSET_BEGINNING) for p in range(STABLE_PARTITIONS)])
    seen = {p: set() for p in range(STABLE_PARTITIONS)}
    done = {p for p, high in highs.items() if high == 0}
    while len(done) < STABLE_PARTITIONS and time.time() < deadline:
        m = consumer.poll(0.5)
        if m is None or m.error():
            continue
        seen[m.partition()].add(m.offset())
        if m.offset() + 1 >= highs.get(m.partition(), 0):
            done.add(m.partition())
    consumer.close()
    return seen


def main():
    broker = Broker({"num.partitions": "3", "log.segment.bytes": str(1 << 20),
                     "auto.create.topics.enable": "true", "offsets.topic.num.partitions": "4"})
    try:
        return run(broker)
    finally:
        stop.set()
        broker.kill9()  # after a clean stop, nothing left to kill; after an exception, ours


def run(broker):
    broker.start()
    bootstrap = broker.bootstrap  # restarts keep the port
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept: its futures die with it
    admin.create_topics([NewTopic("stable", STABLE_PARTITIONS, 1)])["stable"].result(10)
    threads = [threading.Thread(target=admin_loop, args=(bootstrap,), daemon=True),
               threading.Thread(target=consume_loop, args=(bootstrap,), daemon=True)]
    threads += [threading.Thread(target=produce_loop, args=(bootstrap, i), daemon=True) for i in range(2)]
    for t in threads:
        t.start()

    start, kills = time.time(), 0
    rnd = random.Random(3)
    while time.time() - start < DURATION:
        time.sleep(rnd.uniform(20, 60))
        if broker.proc.poll() is not None:
            print("FAIL: the broker exited by itself (%s):\n%s" % (broker.proc.returncode, broker.output()[-5000:]))
            stop.set()
            return 1
        broker.check_clean()
        if rnd.random() < 0.5:
            broker.kill9()
            kills += 1
            broker.start()
        with acked_lock:
            count = sum(len(v) for v in acked.values())
        print("%4.0f s: %d kill -9, %d records acknowledged on stable" % (time.time() - start, kills, count),
              flush=True)
    stop.set()
    time.sleep(25)  # producers flush

    seen = read_stable(bootstrap)
    with acked_lock:
        total = sum(len(v) for v in acked.values())
        missing = sum(len(offsets - seen.get(p, set())) for p, offsets in acked.items())
    print("acknowledged on stable: %d, missing: %d" % (total, missing))
    rc = broker.stop()
    broker.check_clean()
    print("SIGTERM: exit code %s" % rc)
    for line in broker.output().splitlines():
        if " ERROR " in line or " FATAL " in line:
            print("broker:", line)
    ok = missing == 0 and rc == 0
    if ok:
        shutil.rmtree(broker.tmp, ignore_errors=True)
    print("chaos: %s%s" % ("passed" if ok else "FAILED; broker files in ", "" if ok else broker.tmp))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
