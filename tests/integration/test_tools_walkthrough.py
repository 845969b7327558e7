#!/usr/bin/python3
"""Kafka's quickstart walkthrough, verbatim, with bin/*.sh against a real
Eddy broker: create a topic, list and describe it, write events with the
console producer, read them back with the console consumer, alter, delete.

Broker capabilities needed: Metadata, CreateTopics, DescribeConfigs,
CreatePartitions, DeleteTopics, Produce, Fetch, ListOffsets (no groups: the
console consumer without --group assigns partitions directly).
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from tools_common import BIN, check, finish, matches, run, show  # noqa: E402


def topics_listed(bs):
    rc, out, err, _ = run("kafka-topics", ["--bootstrap-server", bs, "--list"])
    return out.split()


def stop_with(proc, sig, timeout):
    """Send sig to a running tool; (exit code or "timeout", stdout, stderr)."""
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return "timeout", out, err


def line_reader_rules(bs):
    """Kafka's LineMessageReader: ignore.error, header pairs, TRUE, NUL bytes, separator clashes."""
    run("kafka-topics", ["--create", "--topic", "reader", "--bootstrap-server", bs])
    producer = ["--topic", "reader", "--bootstrap-server", bs]
    rc, out, err, _ = run("kafka-console-producer", producer + ["--property", "parse.headers=true", "--property",
                                                                "ignore.error=true"],
                          stdin="h1:a\tv1\nno headers\nbare\tv3\n")
    check("console producer parse.headers + ignore.error: a line without the delimiter is still sent",
          rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-producer", producer + ["--property", "parse.key= TRUE "],
                          stdin="k\0x\tv\0y\n")
    check("console producer parse.key= TRUE (trimmed, any case), NUL bytes kept", rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--topic", "reader", "--bootstrap-server", bs,
                                                     "--from-beginning", "--max-messages", "4", "--property",
                                                     "print.headers=True", "--property", "print.key=TRUE"])
    check("console consumer reads them back: headers, no headers, header without value, key with NUL",
          rc == 0 and out == "h1:a\tnull\tv1\nNO_HEADERS\tnull\tno headers\nbare:null\tnull\tv3\n"
                             "NO_HEADERS\tk\0x\tv\0y\n", show(rc, out, err))
    rc, out, err, _ = run("kafka-console-producer", producer + ["--property", "parse.headers=true"],
                          stdin="ok:1\tv\nh:1,x\tv\n")
    check("console producer: a header pair without ':' -> exit 1 naming pair and line",
          rc == 1 and "No header key separator found in pair 'x' on line number 2" in err, show(rc, out, err))
    for props, message in ((["headers.separator=:"], "headers.separator and headers.key.separator may not be equal"),
                           (["headers.delimiter=,"], "headers.delimiter and headers.separator may not be equal"),
                           (["null.marker=\t"], "null.marker and key.separator may not be equal")):
        rc, out, err, _ = run("kafka-console-producer", producer + ["--property", props[0]], stdin="x\n")
        check("console producer %s refused: '%s'" % (props[0].replace("\t", "\\t"), message),
              rc == 1 and message in err, show(rc, out, err))


def walkthrough(bs, data_dir):
    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "my-topic", "--bootstrap-server", bs,
                                           "--partitions", "1", "--replication-factor", "1"])
    check("create topic prints 'Created topic my-topic.'", rc == 0 and out == "Created topic my-topic.\n",
          show(rc, out, err))
    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "my-topic", "--bootstrap-server", bs])
    check("create existing topic -> exit 1 'already exists'", rc == 1 and "already exists" in err,
          show(rc, out, err))
    rc, out, err, _ = run("kafka-topics", ["--create", "--if-not-exists", "--topic", "my-topic",
                                           "--bootstrap-server", bs])
    check("create --if-not-exists on existing topic -> exit 0, silent", rc == 0 and out == "", show(rc, out, err))

    check("list shows my-topic", "my-topic" in topics_listed(bs))

    rc, out, err, _ = run("kafka-topics", ["--describe", "--topic", "my-topic", "--bootstrap-server", bs])
    lines = out.splitlines()
    check("describe topic line in Kafka's layout",
          rc == 0 and len(lines) == 2 and matches(r"^Topic: my-topic\tTopicId: \S+\tPartitionCount: 1\t"
                                                  r"ReplicationFactor: 1\tConfigs: .*$", lines[0]),
          show(rc, out, err))
    ids = re.findall(r"TopicId: (\S+)", out)
    with open(os.path.join(data_dir, "my-topic-0", "partition.metadata")) as f:
        stored = re.search(r"topic_id: (\S+)", f.read())
    check("describe shows the topic id stored in partition.metadata",
          ids and stored and ids[0] == stored.group(1) and ids[0] != "AAAAAAAAAAAAAAAAAAAAAA",
          "describe: %r, partition.metadata: %r" % (ids, stored and stored.group(1)))
    check("describe partition line in Kafka's layout",
          len(lines) == 2 and matches(r"^\tTopic: my-topic\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1$",
                                      lines[1]), show(rc, out, err))

    events = "This is my first event\nThis is my second event\n"
    rc, out, err, _ = run("kafka-console-producer", ["--topic", "my-topic", "--bootstrap-server", bs],
                          stdin=events)
    check("console producer writes stdin lines, exit 0", rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--topic", "my-topic", "--from-beginning",
                                                     "--bootstrap-server", bs, "--max-messages", "2"])
    check("console consumer --from-beginning reads the two events", rc == 0 and out == events,
          show(rc, out, err))
    check("console consumer reports 'Processed a total of 2 messages' on stderr",
          "Processed a total of 2 messages" in err, show(rc, out, err))

    rc, out, err, _ = run("kafka-console-producer",
                          ["--topic", "my-topic", "--bootstrap-server", bs, "--property", "parse.key=true",
                           "--property", "key.separator=:", "--sync", "--request-required-acks", "all"],
                          stdin="k1:v1\nk2:v2\n")
    check("console producer with parse.key and key.separator", rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer",
                          ["--topic", "my-topic", "--from-beginning", "--bootstrap-server", bs, "--max-messages",
                           "4", "--property", "print.key=true", "--property", "print.offset=true", "--property",
                           "print.partition=true", "--property", "print.timestamp=true"])
    lines = out.splitlines()
    check("console consumer print.* layout",
          rc == 0 and len(lines) == 4
          and matches(r"^CreateTime:\d+\tPartition:0\tOffset:0\tnull\tThis is my first event$", lines[0])
          and matches(r"^CreateTime:\d+\tPartition:0\tOffset:2\tk1\tv1$", lines[2]), show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer",
                          ["--topic", "my-topic", "--bootstrap-server", bs, "--partition", "0", "--offset", "1",
                           "--max-messages", "1"])
    check("console consumer --partition 0 --offset 1", rc == 0 and out == "This is my second event\n",
          show(rc, out, err))
    rc, out, err, took = run("kafka-console-consumer",
                             ["--topic", "my-topic", "--bootstrap-server", bs, "--from-beginning",
                              "--timeout-ms", "3000"])
    check("console consumer --timeout-ms ends after the last record",
          rc == 0 and len(out.splitlines()) == 4 and "Processed a total of 4 messages" in err and took < 30,
          show(rc, out, err))

    for extra in ([], ["--partition", "7"]):
        topic = "my-topic" if extra else "no-such-topic"
        rc, out, err, took = run("kafka-console-consumer", ["--topic", topic, "--bootstrap-server", bs,
                                                            "--timeout-ms", "1500"] + extra, timeout=20)
        check("console consumer, no group, missing %s: exits after --timeout-ms, 0 messages, no error flood"
              % ("partition" if extra else "topic"),
              rc == 0 and out == "" and err.endswith("Processed a total of 0 messages\n")
              and len(err.splitlines()) <= 3 and took < 10, show(rc, out, err) + "\ntook %.1fs" % took)

    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "codecs", "--bootstrap-server", bs,
                                           "--partitions", "1", "--replication-factor", "1"])
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        rc, out, err, _ = run("kafka-console-producer", ["--topic", "codecs", "--bootstrap-server", bs,
                                                         "--compression-codec", codec], stdin="via %s\n" % codec)
        check("console producer --compression-codec %s" % codec, rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-producer", ["--topic", "codecs", "--bootstrap-server", bs,
                                                     "--compression-codec"], stdin="via bare flag\n")
    check("console producer bare --compression-codec (gzip)", rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--topic", "codecs", "--bootstrap-server", bs,
                                                     "--from-beginning", "--max-messages", "6"])
    check("console consumer reads every codec back",
          rc == 0 and out.splitlines() == ["via none", "via gzip", "via snappy", "via lz4", "via zstd",
                                           "via bare flag"], show(rc, out, err))

    run("kafka-topics", ["--create", "--topic", "hdrs", "--bootstrap-server", bs])
    rc, out, err, _ = run("kafka-console-producer",
                          ["--topic", "hdrs", "--bootstrap-server", bs, "--property", "parse.headers=true",
                           "--property", "parse.key=true"], stdin="h1:v1,h2:v2\tkey\tvalue\n")
    check("console producer parse.headers", rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-producer",
                          ["--topic", "hdrs", "--bootstrap-server", bs, "--property", "parse.key=true",
                           "--property", "key.separator=:"], stdin="k:kept\nno separator here\nk:never\n")
    check("console producer: a line without key separator -> exit 1 naming the line",
          rc == 1 and "No key separator found on line number 2" in err, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer",
                          ["--topic", "hdrs", "--bootstrap-server", bs, "--from-beginning", "--max-messages", "2",
                           "--property", "print.headers=true", "--property", "print.key=true"])
    check("console consumer print.headers; lines before a bad line were delivered",
          rc == 0 and out == "h1:v1,h2:v2\tkey\tvalue\nNO_HEADERS\tk\tkept\n", show(rc, out, err))

    line_reader_rules(bs)

    proc = subprocess.Popen([os.path.join(BIN, "kafka-console-consumer.sh"), "--topic", "my-topic",
                             "--bootstrap-server", bs, "--from-beginning"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    rc, out, err = stop_with(proc, signal.SIGINT, 20)
    check("console consumer stops on Ctrl-C and reports its count",
          rc == 0 and len(out.splitlines()) == 4 and "Processed a total of 4 messages" in err, show(rc, out, err))

    run("kafka-topics", ["--create", "--topic", "sig", "--bootstrap-server", bs])
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen([os.path.join(BIN, "kafka-console-producer.sh"), "--topic", "sig",
                                 "--bootstrap-server", bs], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        proc.stdin.write("before %s\n" % sig.name)
        proc.stdin.flush()  # stdin stays open: the producer waits in read()
        time.sleep(2)
        rc, out, err = stop_with(proc, sig, 10)
        check("console producer waiting on stdin stops on %s, exit 0" % sig.name, rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--topic", "sig", "--bootstrap-server", bs,
                                                     "--from-beginning", "--max-messages", "2"], timeout=20)
    check("console producer flushed the lines read before the signal",
          rc == 0 and out == "before SIGINT\nbefore SIGTERM\n", show(rc, out, err))

    # Kafka's TopicFilter: ',' means '|', spaces and surrounding quotes are dropped.
    rc, out, err, _ = run("kafka-topics", ["--describe", "--topic", "codecs, sig", "--bootstrap-server", bs])
    check("kafka-topics --describe --topic 'codecs, sig' describes both",
          rc == 0 and re.findall(r"^Topic: (\S+)", out, re.M) == ["codecs", "sig"], show(rc, out, err))
    rc, out, err, _ = run("kafka-get-offsets", ["--topic", "'codecs,sig'", "--bootstrap-server", bs])
    check("kafka-get-offsets --topic \"'codecs,sig'\" lists both",
          rc == 0 and out == "codecs:0:6\nsig:0:2\n", show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--include", "codecs,sig", "--bootstrap-server", bs,
                                                     "--from-beginning", "--max-messages", "8"], timeout=20)
    check("kafka-console-consumer --include 'codecs,sig' reads both topics",
          rc == 0 and sorted(out.splitlines()) == sorted(["via none", "via gzip", "via snappy", "via lz4",
                                                          "via zstd", "via bare flag", "before SIGINT",
                                                          "before SIGTERM"]), show(rc, out, err))

    segment = os.path.join(data_dir, "codecs-0", "00000000000000000000.log")
    rc, out, err, _ = run("kafka-dump-log", ["--files", segment, "--print-data-log"])
    payloads = re.findall(r"^\| offset: \d+ CreateTime: \d+ .* payload: (.*)$", out, re.M)
    check("dump-log reads the broker's own segment (every codec, CRCs valid)",
          rc == 0 and payloads == ["via none", "via gzip", "via snappy", "via lz4", "via zstd", "via bare flag"]
          and "isvalid: false" not in out and out.count("isvalid: true") == 6, show(rc, out, err))

    rc, out, err, _ = run("kafka-topics", ["--alter", "--topic", "my-topic", "--partitions", "3",
                                           "--bootstrap-server", bs])
    check("alter --partitions 3", rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-topics", ["--describe", "--topic", "my-.*", "--bootstrap-server", bs])
    check("describe by regex shows 3 partitions", rc == 0 and "PartitionCount: 3" in out
          and out.count("\tTopic: my-topic\tPartition:") == 3, show(rc, out, err))

    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "assigned", "--replica-assignment", "1,1",
                                           "--bootstrap-server", bs])
    rc2, out2, err2, _ = run("kafka-topics", ["--describe", "--topic", "assigned", "--bootstrap-server", bs])
    check("create --replica-assignment 1,1 gives 2 partitions on broker 1",
          rc == 0 and "PartitionCount: 2" in out2 and out2.count("Replicas: 1\t") == 2,
          show(rc, out, err) + "\n" + out2)

    rc, out, err, _ = run("kafka-topics", ["--delete", "--topic", "my-topic", "--bootstrap-server", bs])
    check("delete topic, exit 0", rc == 0, show(rc, out, err))
    deadline = time.time() + 15
    while "my-topic" in topics_listed(bs) and time.time() < deadline:
        time.sleep(0.5)
    check("deleted topic leaves the list", "my-topic" not in topics_listed(bs))
    rc, out, err, _ = run("kafka-topics", ["--describe", "--topic", "my-topic", "--bootstrap-server", bs])
    check("describe deleted topic -> exit 1 'does not exist'", rc == 1 and "does not exist" in err,
          show(rc, out, err))
    rc, out, err, _ = run("kafka-topics", ["--delete", "--if-exists", "--topic", "my-topic",
                                           "--bootstrap-server", bs])
    check("delete --if-exists on a missing topic -> exit 0", rc == 0, show(rc, out, err))


def main():
    with Broker() as b:
        walkthrough(b.bootstrap, b.data_dir)
    finish()


if __name__ == "__main__":
    main()
