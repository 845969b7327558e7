"""Consumer groups with real clients under a steady producer.

For each client library (librdkafka via confluent_kafka, kafka-python, and
kafkajs through test_groups_kafkajs.js), on its own 6-partition topic and
group: three consumers (separate processes) join one by one, one leaves
cleanly, one is killed -9, while a producer keeps writing. Then:
  - every produced record was processed by some consumer;
  - no record was processed again after a successful commit covered it
    (duplicates are only allowed past the last successful commit);
  - after a broker kill -9 and restart, a new consumer of the group starts
    exactly at the committed offsets (sees only the records produced since).

Consumers log "R <ts> <partition> <offset> <value>" per record processed and
"C <ts> <partition> <next offset>" per successful synchronous commit.

Usage: test_groups_clients.py [confluent|kafka-python|kafkajs ...]
       (default: confluent kafka-python)
       test_groups_clients.py consumer <lib> <bootstrap> <topic> <group> <log>
"""
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

PARTITIONS = 6
SESSION_MS = 6000


# ---------------------------------------------------------------- consumers
def run_consumer(lib, bootstrap, topic, group, log_path):
    out = open(log_path, "a", buffering=1)
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("flag", True))
    if lib == "confluent":
        consume_confluent(bootstrap, topic, group, out, stop)
    elif lib == "kafka-python":
        consume_kafka_python(bootstrap, topic, group, out, stop)
    else:
        raise SystemExit("unknown lib " + lib)
    out.write("X %f\n" % time.time())
    out.close()


def consume_confluent(bootstrap, topic, group, out, stop):
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": SESSION_MS,
        "heartbeat.interval.ms": 500,
        "topic.metadata.refresh.interval.ms": 1000,
    })
    c.subscribe([topic])
    while not stop["flag"]:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        out.write("R %f %d %d %s\n" % (time.time(), m.partition(), m.offset(), m.value().decode()))
        try:
            c.commit(offsets=[TopicPartition(topic, m.partition(), m.offset() + 1)], asynchronous=False)
            out.write("C %f %d %d\n" % (time.time(), m.partition(), m.offset() + 1))
        except KafkaException:
            pass  # a rebalance: the record may be processed again by the new owner
    c.close()


def consume_kafka_python(bootstrap, topic, group, out, stop):
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                      auto_offset_reset="earliest", session_timeout_ms=SESSION_MS,
                      heartbeat_interval_ms=500, metadata_max_age_ms=1000, api_version_auto_timeout_ms=10000)
    c.subscribe([topic])
    while not stop["flag"]:
        batches = c.poll(timeout_ms=200)
        for tp, records in batches.items():
            for m in records:
                if stop["flag"]:
                    break
                out.write("R %f %d %d %s\n" % (time.time(), m.partition, m.offset, m.value.decode()))
                try:
                    c.commit({TopicPartition(topic, m.partition): OffsetAndMetadata(m.offset + 1, None)})
                    out.write("C %f %d %d\n" % (time.time(), m.partition, m.offset + 1))
                except KafkaError:
                    pass
    c.close(autocommit=False)


def consumer_cmd(lib, bootstrap, topic, group, log_path):
    if lib == "kafkajs":
        return ["node", os.path.join(HERE, "test_groups_kafkajs.js"), "consumer", bootstrap, topic, group,
                log_path]
    return ["/usr/bin/python3", os.path.abspath(__file__), "consumer", lib, bootstrap, topic, group, log_path]


# ---------------------------------------------------------------- producer
class SteadyProducer:
    """Produces "<n>" values round-robin over partitions until stopped; records what was acknowledged."""

    def __init__(self, bootstrap, topic, rate=200):
        from confluent_kafka import Producer
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
        self.topic = topic
        self.rate = rate
        self.acked = {}  # (partition, offset) -> value
        self.errors = []
        self.n = 0
        self.stop_flag = False
        self.thread = threading.Thread(target=self.run)

    def on_delivery(self, err, m):
        if err:
            self.errors.append(str(err))
        else:
            self.acked[(m.partition(), m.offset())] = m.value().decode()

    def produce(self, count):
        for _ in range(count):
            self.p.produce(self.topic, value=str(self.n).encode(), partition=self.n % PARTITIONS,
                           on_delivery=self.on_delivery)
            self.n += 1
        self.p.flush(30)

    def run(self):
        while not self.stop_flag:
            self.p.produce(self.topic, value=str(self.n).encode(), partition=self.n % PARTITIONS,
                           on_delivery=self.on_delivery)
            self.n += 1
            self.p.poll(0)
            time.sleep(1.0 / self.rate)
        self.p.flush(30)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_flag = True
        self.thread.join()


# ---------------------------------------------------------------- checks
def read_log(path):
    processed, commits = [], []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if not line.endswith("\n"):
                    break
                if parts[0] == "R" and len(parts) == 5:
                    processed.append((float(parts[1]), int(parts[2]), int(parts[3]), parts[4]))
                elif parts[0] == "C" and len(parts) == 4:
                    commits.append((float(parts[1]), int(parts[2]), int(parts[3])))
    except FileNotFoundError:
        pass
    return processed, commits


def check_no_redelivery_after_commit(processed, commits):
    """A record processed twice is an error if, before the second time, a commit past it had succeeded."""
    first = {}
    bad = []
    for ts, p, o, _v in sorted(processed):
        key = (p, o)
        if key not in first:
            first[key] = ts
            continue
        covered = [c for c in commits if c[1] == p and c[2] > o and c[0] < ts]
        if covered:
            bad.append((p, o, covered[-1]))
    return bad


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def say(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def scenario(b, lib, workdir):
    topic = "work-" + lib
    group = "group-" + lib
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    fs = admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
    for f in fs.values():
        f.result(30)
    producer = SteadyProducer(b.bootstrap, topic)
    producer.start()
    logs = [os.path.join(workdir, "%s-consumer%d.log" % (lib, i)) for i in range(4)]
    procs = []
    for i in range(3):
        procs.append(subprocess.Popen(consumer_cmd(lib, b.bootstrap, topic, group, logs[i])))
        say("%s: consumer %d started" % (lib, i))
        time.sleep(3)
    time.sleep(4)
    procs[2].send_signal(signal.SIGTERM)  # a clean leave
    procs[2].wait(30)
    say("%s: consumer 2 left cleanly" % lib)
    time.sleep(4)
    procs[1].kill()  # kill -9
    procs[1].wait()
    say("%s: consumer 1 killed -9" % lib)
    time.sleep(SESSION_MS / 1000.0 + 4)
    producer.stop()
    say("%s: producer stopped after %d records" % (lib, producer.n))
    assert not producer.errors, producer.errors[:5]
    assert len(producer.acked) == producer.n, (len(producer.acked), producer.n)

    def all_processed():
        seen = set()
        for path in logs[:3]:
            seen.update((p, o) for _ts, p, o, _v in read_log(path)[0])
        return set(producer.acked) <= seen
    wait_for(all_processed, 60, "every produced record to be processed")
    # The survivor committed everything it processed: wait until its commits cover every partition's end.
    ends = {}
    for (p, o) in producer.acked:
        ends[p] = max(ends.get(p, -1), o + 1)

    def all_committed():
        last = {}
        for path in logs[:3]:
            for _ts, p, o in read_log(path)[1]:
                last[p] = max(last.get(p, 0), o)
        return all(last.get(p, 0) >= e for p, e in ends.items())
    wait_for(all_committed, 60, "commits to reach the end of every partition")
    procs[0].send_signal(signal.SIGTERM)
    procs[0].wait(30)
    say("%s: consumer 0 left cleanly" % lib)

    processed, commits = [], []
    for path in logs[:3]:
        r, c = read_log(path)
        processed += r
        commits += c
    for ts, p, o, v in processed:
        assert producer.acked.get((p, o)) == v, ("wrong value", p, o, v)
    for i in range(3):
        assert read_log(logs[i])[0], "consumer %d never got a partition" % i
    bad = check_no_redelivery_after_commit(processed, commits)
    assert not bad, "records processed again after a commit covered them: %s" % bad[:5]
    dups = len(processed) - len({(p, o) for _ts, p, o, _v in processed})
    say("%s: %d records, all processed; %d re-deliveries, none after a commit" % (lib, producer.n, dups))

    # Broker restart: the group resumes from its committed offsets.
    extra = SteadyProducer(b.bootstrap, topic)
    extra.n = producer.n
    extra.produce(30)
    assert len(extra.acked) == 30, extra.errors
    b.kill9()
    b.start()
    say("%s: broker restarted after kill -9" % lib)
    p = subprocess.Popen(consumer_cmd(lib, b.bootstrap, topic, group, logs[3]))
    try:
        wait_for(lambda: len(read_log(logs[3])[0]) >= 30, 90, "the restarted group to consume the new records")
        time.sleep(2)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(30)
    got = {(pp, o): v for _ts, pp, o, v in read_log(logs[3])[0]}
    assert set(got) == set(extra.acked), ("resumed at the wrong offsets",
                                          sorted(set(got) - set(extra.acked))[:10],
                                          sorted(set(extra.acked) - set(got))[:10])
    say("%s: after the broker restart the group resumed exactly at its committed offsets" % lib)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "consumer":
        run_consumer(*sys.argv[2:7])
        return
    from harness import Broker
    libs = sys.argv[1:] or ["confluent", "kafka-python"]
    config = {
        "num.partitions": "6",
        "group.initial.rebalance.delay.ms": "0",
        "offsets.topic.num.partitions": "10",
    }
    with Broker(config=config) as b:
        for lib in libs:
            scenario(b, lib, b.tmp)
    print("PASS")


if __name__ == "__main__":
    main()
