#!/usr/bin/python3
"""kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh against a real
Eddy broker: output formats (per-window lines, final summary with
percentiles, the consumer's CSV header and line). Figures are printed, never
judged.

Broker capabilities needed: Metadata, CreateTopics, Produce, Fetch,
ListOffsets, and consumer groups (the consumer perf test subscribes).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from tools_common import check, finish, matches, run, show  # noqa: E402

FINAL = (r"^%d records sent, \d+\.\d{6} records/sec \(\d+\.\d\d MB/sec\), \d+\.\d\d ms avg latency, "
         r"\d+\.\d\d ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$")
WINDOW = (r"^\d+ records sent, \d+\.\d records/sec \(\d+\.\d\d MB/sec\), \d+\.\d ms avg latency, "
          r"\d+\.\d ms max latency\.$")
CONSUMER_HEADER = ("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                   "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}"


def perf(bs):
    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "perf-topic", "--bootstrap-server", bs,
                                           "--partitions", "2", "--replication-factor", "1"])
    check("create perf-topic", rc == 0, show(rc, out, err))
    rc, out, err, took = run("kafka-producer-perf-test",
                             ["--topic", "perf-topic", "--num-records", "50000", "--record-size", "100",
                              "--throughput", "-1", "--producer-props", "bootstrap.servers=" + bs, "acks=1"],
                             timeout=120)
    print(out.strip())
    check("producer perf test final line in Kafka's format", rc == 0 and matches(FINAL % 50000, out),
          show(rc, out, err))
    rc, out, err, took = run("kafka-producer-perf-test",
                             ["--topic", "perf-topic", "--num-records", "700", "--record-size", "10",
                              "--throughput", "100", "--bootstrap-server", bs], timeout=120)
    check("throttled producer perf test takes about num-records/throughput", rc == 0 and 6 <= took < 30,
          show(rc, out, err) + "\ntook %.1fs" % took)
    check("throttled run prints a 5-second window line", matches(WINDOW, out), show(rc, out, err))

    rc, out, err, _ = run("kafka-consumer-perf-test", ["--bootstrap-server", bs, "--topic", "perf-topic",
                                                       "--messages", "50700", "--timeout", "20000"], timeout=120)
    print(out.strip())
    lines = out.splitlines()
    check("consumer perf test header", rc == 0 and lines and lines[0] == CONSUMER_HEADER, show(rc, out, err))
    check("consumer perf test summary line",
          len(lines) >= 2 and matches(r"^%s, %s, \d+\.\d{4}, \d+\.\d{4}, 50700, \d+\.\d{4}, \d+, \d+, \d+\.\d{4}, "
                                      r"\d+\.\d{4}$" % (DATE, DATE), lines[-1]), show(rc, out, err))
    rc, out, err, _ = run("kafka-consumer-perf-test", ["--bootstrap-server", bs, "--topic", "perf-topic",
                                                       "--messages", "50700", "--timeout", "20000",
                                                       "--show-detailed-stats", "--reporting-interval", "200"],
                          timeout=120)
    check("consumer perf test --show-detailed-stats header",
          rc == 0 and out.startswith("time, threadId, data.consumed.in.MB"), show(rc, out, err))


def main():
    with Broker() as b:
        perf(b.bootstrap)
    finish()


if __name__ == "__main__":
    main()
