"""Static membership (group.instance.id, KIP-345) with librdkafka consumers.

Two consumers with instance ids share a 6-partition topic. One is killed -9
and restarted within its session timeout: it must get the same partitions
back and the other member must see no rebalance (no revoke, no new
assignment). Then the restarted member stays away longer than the session
timeout: the group rebalances and the survivor takes all partitions.

Usage: test_groups_static.py
       test_groups_static.py consumer <bootstrap> <topic> <group> <instance> <log>
"""
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SESSION_MS = 8000


def run_consumer(bootstrap, topic, group, instance, log_path):
    from confluent_kafka import Consumer
    out = open(log_path, "a", buffering=1)
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("flag", True))

    def on_assign(consumer, partitions):
        out.write("A %f %s\n" % (time.time(), ",".join(str(p.partition) for p in partitions)))

    def on_revoke(consumer, partitions):
        out.write("V %f %s\n" % (time.time(), ",".join(str(p.partition) for p in partitions)))

    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.instance.id": instance,
        "session.timeout.ms": SESSION_MS,
        "heartbeat.interval.ms": 500,
        "auto.offset.reset": "earliest",
    })
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    while not stop["flag"]:
        c.poll(0.2)
    c.close()


def events(path):
    try:
        with open(path) as f:
            return [line.split() for line in f if line.endswith("\n")]
    except FileNotFoundError:
        return []


def assigned(path):
    """The partitions of the last assignment (A line) in a log, as a set."""
    last = None
    for ev in events(path):
        if ev[0] == "A":
            last = set(int(p) for p in ev[2].split(",")) if len(ev) > 2 else set()
        elif ev[0] == "V":
            last = set()
    return last


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what, flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "consumer":
        run_consumer(*sys.argv[2:7])
        return
    from harness import Broker
    from confluent_kafka.admin import AdminClient, NewTopic
    config = {"group.initial.rebalance.delay.ms": "0", "num.partitions": "6"}
    with Broker(config=config) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        for f in admin.create_topics([NewTopic("static", num_partitions=6, replication_factor=1)]).values():
            f.result(30)
        logs = {n: os.path.join(b.tmp, "static-%s.log" % n) for n in ("a", "b", "b2", "b3")}

        def start(instance, log):
            return subprocess.Popen(["/usr/bin/python3", os.path.abspath(__file__), "consumer", b.bootstrap,
                                     "static", "static-group", instance, log])
        pa = start("inst-a", logs["a"])
        pb = start("inst-b", logs["b"])
        try:
            wait_for(lambda: assigned(logs["a"]) and assigned(logs["b"]) and
                     len(assigned(logs["a"]) | assigned(logs["b"])) == 6, 60, "both members to share 6 partitions")
            time.sleep(2)  # let the group settle
            a_before, b_before = assigned(logs["a"]), assigned(logs["b"])
            check(len(a_before) == 3 and len(b_before) == 3, "3 partitions each")
            events_a = len(events(logs["a"]))

            pb.kill()
            pb.wait()
            time.sleep(1)
            pb = start("inst-b", logs["b2"])
            wait_for(lambda: assigned(logs["b2"]), 30, "the restarted static member to get an assignment")
            time.sleep(3)
            check(assigned(logs["b2"]) == b_before, "restarted static member gets the same partitions")
            check(len(events(logs["a"])) == events_a, "the other member saw no rebalance")

            # Away for longer than the session timeout: the group rebalances without it.
            pb.kill()
            pb.wait()
            wait_for(lambda: assigned(logs["a"]) is not None and len(assigned(logs["a"])) == 6,
                     SESSION_MS / 1000.0 + 30, "the survivor to take every partition after the session timeout")
            check(True, "an absent static member is expelled after its session timeout")
        finally:
            for p in (pa, pb):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    p.wait(30)
    print("PASS")


if __name__ == "__main__":
    main()
