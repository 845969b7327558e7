#!/usr/bin/python3
"""bench/create_stall.py - what other clients feel while big topics are made and deleted.

A producer sends 2,000 records a second (100 B, acks=1, linger.ms=0) to a
one-partition topic for 3 s alone, then for 3 s while an admin client
creates three topics of 1,000 partitions each, then for 3 s while it deletes
them, then for 3 s while another producer writes one record to each of 200
new topics (auto-created by Metadata; the time until the last of them is
acknowledged is printed too); the acknowledgement latency of each
record is printed per window (p50,
p99, p99.9, max) with how long the CreateTopics and DeleteTopics took, then the
broker's longest event-loop pass of the run and its count of passes of
LOOP_PASS_MS or more (eddy.loop.stall.warn.ms). Until
session 13 the broker made every partition's files on its event loop, and
until session 15 it closed and renamed deleted ones there, and until
session 16 it fsynced the metadata log and counted /proc/self/fd there
(until session 17 for auto-created topics too); every client waited for that.

Usage: bench/create_stall.py EDDY_BINARY WORK_DIR
Needs Debian's python3-confluent-kafka (librdkafka's Python client), so it
runs with /usr/bin/python3. Eddy listens on a free 127.0.0.1 port with its
data under WORK_DIR, which is removed afterwards.
"""
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import confluent_kafka as ck
import confluent_kafka.admin as cka

RATE = 2000
WINDOW_S = 3.0
TOPICS = ("wide-1", "wide-2", "wide-3")
PARTITIONS = 1000
AUTO_TOPICS = 200  # then another producer writes one record to each of this many new topics
LOOP_PASS_MS = 4  # Eddy counts event-loop passes this long or longer (eddy.loop.stall.warn.ms)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_eddy(binary, work):
    port = free_port()
    os.makedirs(work, exist_ok=True)
    config = os.path.join(work, "server.properties")
    with open(config, "w") as f:
        f.write("listeners=PLAINTEXT://127.0.0.1:%d\nlog.dirs=%s\neddy.loop.stall.warn.ms=%d\n"
                % (port, os.path.join(work, "data"), LOOP_PASS_MS))
    log = open(os.path.join(work, "eddy.log"), "wb")
    proc = subprocess.Popen([binary, "server", config], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, "127.0.0.1:%d" % port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("create_stall: eddy did not listen within 30 s")


def produce_window(producer, seconds):
    """Send at RATE for `seconds`; the acknowledgement latencies in ms."""
    latencies = []

    def delivered(err, _msg, sent):
        if err is None:
            latencies.append((time.time() - sent) * 1000)

    start = time.time()
    n = 0
    while time.time() - start < seconds:
        sent = time.time()
        producer.produce("steady", b"x" * 100, on_delivery=lambda e, m, s=sent: delivered(e, m, s))
        n += 1
        while time.time() < start + n / RATE:
            producer.poll(0)
    producer.flush(60)
    return sorted(latencies)


def summary(label, ms):
    if not ms:
        return "%-34s no acknowledgements" % label
    pick = lambda q: ms[min(len(ms) - 1, int(len(ms) * q))]  # noqa: E731
    return "%-34s %6d acks  p50 %6.2f  p99 %7.2f  p99.9 %7.2f  max %7.1f ms" % (
        label, len(ms), pick(0.5), pick(0.99), pick(0.999), ms[-1])


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: bench/create_stall.py EDDY_BINARY WORK_DIR")
    binary, work = sys.argv[1], sys.argv[2]
    proc, bootstrap = start_eddy(binary, work)
    try:
        admin = cka.AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([cka.NewTopic("steady", 1, 1)])["steady"].result(30)
        producer = ck.Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 0})
        producer.produce("steady", b"warm-up")
        producer.flush(30)
        alone = produce_window(producer, WINDOW_S)
        took = []

        def create_all():
            time.sleep(0.5)
            for name in TOPICS:
                t0 = time.time()
                admin.create_topics([cka.NewTopic(name, PARTITIONS, 1)])[name].result(120)
                took.append((time.time() - t0) * 1000)

        creator = threading.Thread(target=create_all)
        creator.start()
        during = produce_window(producer, WINDOW_S)
        creator.join()
        deleted = []

        def delete_all():
            time.sleep(0.5)
            for name in TOPICS:
                t0 = time.time()
                admin.delete_topics([name])[name].result(120)
                deleted.append((time.time() - t0) * 1000)

        deleter = threading.Thread(target=delete_all)
        deleter.start()
        deleting = produce_window(producer, WINDOW_S)
        deleter.join()
        first_acks = []

        def auto_create_all():
            time.sleep(0.5)
            other = ck.Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 0})
            t0 = time.time()
            for i in range(AUTO_TOPICS):
                other.produce("auto-%03d" % i, b"first",
                              on_delivery=lambda err, _m: err or first_acks.append((time.time() - t0) * 1000))
            other.flush(60)

        auto_creator = threading.Thread(target=auto_create_all)
        auto_creator.start()
        auto_creating = produce_window(producer, WINDOW_S)
        auto_creator.join()
        print("producer at %d msg/s, 100 B, acks=1; ack latency:" % RATE)
        print("  " + summary("alone", alone))
        print("  " + summary("while %d topics of %d partitions" % (len(TOPICS), PARTITIONS), during))
        print("  CreateTopics answered in %s ms" % ", ".join("%.0f" % t for t in took))
        print("  " + summary("while they are deleted", deleting))
        print("  DeleteTopics answered in %s ms" % ", ".join("%.0f" % t for t in deleted))
        print("  " + summary("while %d topics are auto-created" % AUTO_TOPICS, auto_creating))
        first_acks.sort()
        print("  %d of %d first records acknowledged, the last %.0f ms after the first was sent"
              % (len(first_acks), AUTO_TOPICS, first_acks[-1] if first_acks else float("nan")))
    finally:
        proc.terminate()
        proc.wait(30)
        # The broker's own count: every client waits while a pass of its loop runs.
        for line in open(os.path.join(work, "eddy.log"), errors="replace"):
            if "event loop: longest pass" in line:
                print("  eddy " + line[line.index("event loop:"):].strip())
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
