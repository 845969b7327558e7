#!/usr/bin/python3
"""kafka-configs.sh, kafka-get-offsets.sh and kafka-delete-records.sh against
a real Eddy broker.

Broker capabilities needed: Metadata, CreateTopics (with configs),
DescribeConfigs (with synonyms), AlterConfigs, IncrementalAlterConfigs of
broker loggers (KIP-412), Produce, Fetch, ListOffsets
(latest, earliest, by timestamp), DeleteRecords (refused on a compacted
topic with POLICY_VIOLATION, as in Kafka).
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from tools_common import check, finish, matches, run, show  # noqa: E402


def configs(bs):
    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "cfg-topic", "--bootstrap-server", bs,
                                           "--partitions", "1", "--replication-factor", "1",
                                           "--config", "retention.ms=86400000"])
    check("create topic with --config", rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-configs", ["--bootstrap-server", bs, "--describe", "--topic", "cfg-topic"])
    check("configs --describe header", rc == 0 and out.startswith("Dynamic configs for topic cfg-topic are:\n"),
          show(rc, out, err))
    check("configs --describe entry with synonyms",
          matches(r"^  retention.ms=86400000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention.ms=86400000",
                  out), show(rc, out, err))
    rc, out, err, _ = run("kafka-topics", ["--describe", "--topic", "cfg-topic", "--bootstrap-server", bs])
    check("topics --describe lists the override in Configs", "retention.ms=86400000" in out, show(rc, out, err))

    rc, out, err, _ = run("kafka-configs", ["--bootstrap-server", bs, "--alter", "--entity-type", "topics",
                                            "--entity-name", "cfg-topic", "--add-config",
                                            "cleanup.policy=[compact,delete],retention.bytes=100000"])
    check("configs --alter --add-config", rc == 0 and out == "Completed updating config for topic cfg-topic.\n",
          show(rc, out, err))
    rc, out, err, _ = run("kafka-configs", ["--bootstrap-server", bs, "--describe", "--entity-type", "topics",
                                            "--entity-name", "cfg-topic"])
    check("added configs are described (and the earlier one kept)",
          "  cleanup.policy=compact,delete " in out and "  retention.bytes=100000 " in out
          and "  retention.ms=86400000 " in out, show(rc, out, err))
    rc, out, err, _ = run("kafka-configs", ["--bootstrap-server", bs, "--alter", "--topic", "cfg-topic",
                                            "--delete-config", "retention.bytes"])
    rc2, out2, err2, _ = run("kafka-configs", ["--bootstrap-server", bs, "--describe", "--topic", "cfg-topic"])
    check("configs --delete-config removes the key", rc == 0 and "retention.bytes" not in out2
          and "retention.ms=86400000" in out2, show(rc, out, err) + "\n" + out2)
    rc, out, err, _ = run("kafka-configs", ["--bootstrap-server", bs, "--describe", "--broker", "1"])
    check("configs --describe --broker 1", rc == 0 and out.startswith("Dynamic configs for broker 1 are:\n"),
          show(rc, out, err))
    rc, out, err, _ = run("kafka-configs", ["--bootstrap-server", bs, "--describe", "--broker", "1", "--all"])
    check("configs --describe --broker 1 --all lists static configs",
          rc == 0 and out.startswith("All configs for broker 1 are:\n") and "log.dirs=" in out, show(rc, out, err))


def offsets(bs):
    before = int(time.time() * 1000)
    # cfg-topic is compacted by now: a record without a key would be refused, as by Kafka.
    rc, out, err, _ = run("kafka-console-producer", ["--topic", "cfg-topic", "--bootstrap-server", bs,
                                                     "--property", "parse.key=true", "--property", "key.separator=:"],
                          stdin="1:one\n2:two\n3:three\n")
    check("produce 3 records", rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-get-offsets", ["--bootstrap-server", bs, "--topic", "cfg-topic"])
    check("get-offsets latest", rc == 0 and out == "cfg-topic:0:3\n", show(rc, out, err))
    rc, out, err, _ = run("kafka-get-offsets", ["--bootstrap-server", bs, "--topic", "cfg-.*", "--time", "-2"])
    check("get-offsets earliest by regex", rc == 0 and out == "cfg-topic:0:0\n", show(rc, out, err))
    rc, out, err, _ = run("kafka-get-offsets", ["--bootstrap-server", bs, "--topic", "cfg-topic", "--time",
                                                str(before - 60000)])
    check("get-offsets by timestamp", rc == 0 and out == "cfg-topic:0:0\n", show(rc, out, err))
    rc, out, err, _ = run("kafka-get-offsets", ["--bootstrap-server", bs, "--topic", "cfg-topic", "--time",
                                                "99999999999999"])
    check("get-offsets: a partition with no offset for the time is left out", rc == 0 and out == "",
          show(rc, out, err))
    for args in (["--topic", "no-such-.*"], ["--topic", "cfg-topic", "--partitions", "9"]):
        rc, out, err, _ = run("kafka-get-offsets", ["--bootstrap-server", bs] + args)
        check("get-offsets %s matches nothing -> Kafka's error, exit 1" % " ".join(args),
              rc == 1 and out == "" and "Could not match any topic-partitions with the specified filters" in err,
              show(rc, out, err))
    rc, out, err, _ = run("kafka-get-offsets", ["--bootstrap-server", bs, "--topic", "cfg-topic", "--partitions",
                                                "0", "--time", "latest"])
    check("get-offsets --partitions 0 --time latest", rc == 0 and out == "cfg-topic:0:3\n", show(rc, out, err))

    path = os.path.join(tempfile.mkdtemp(prefix="eddy-tools-"), "offsets.json")
    with open(path, "w") as f:
        json.dump({"partitions": [{"topic": "cfg-topic", "partition": 0, "offset": 2}], "version": 1}, f)
    rc, out, err, _ = run("kafka-delete-records", ["--bootstrap-server", bs, "--offset-json-file", path])
    check("delete-records output",
          rc == 0 and out == "Executing records delete operation\nRecords delete operation completed:\n"
                             "partition: cfg-topic-0\tlow_watermark: 2\n", show(rc, out, err))
    rc, out, err, _ = run("kafka-get-offsets", ["--bootstrap-server", bs, "--topic", "cfg-topic", "--time", "-2"])
    check("earliest offset moved to 2", out == "cfg-topic:0:2\n", show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--topic", "cfg-topic", "--bootstrap-server", bs,
                                                     "--from-beginning", "--max-messages", "1"])
    check("consumer starts after the deleted records", rc == 0 and out == "three\n", show(rc, out, err))

    # As Kafka: DeleteRecords on a topic whose cleanup.policy lacks delete is a policy violation.
    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "compacted", "--bootstrap-server", bs,
                                           "--partitions", "1", "--config", "cleanup.policy=compact"])
    check("create a compacted topic", rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-producer", ["--topic", "compacted", "--bootstrap-server", bs,
                                                     "--property", "parse.key=true", "--property", "key.separator=:"],
                          stdin="1:one\n2:two\n")
    check("produce 2 keyed records", rc == 0, show(rc, out, err))
    with open(path, "w") as f:
        json.dump({"partitions": [{"topic": "compacted", "partition": 0, "offset": 1}], "version": 1}, f)
    rc, out, err, _ = run("kafka-delete-records", ["--bootstrap-server", bs, "--offset-json-file", path])
    check("delete-records on a compacted topic is refused",
          "partition: compacted-0\terror: " in out and "olicy" in out, show(rc, out, err))
    rc, out, err, _ = run("kafka-get-offsets", ["--bootstrap-server", bs, "--topic", "compacted", "--time", "-2"])
    check("the compacted topic's earliest offset stays 0", out == "compacted:0:0\n", show(rc, out, err))


def broker_loggers(b):
    """kafka-configs --entity-type broker-loggers: describe, set a level, see it act, unset it."""
    bs = b.bootstrap
    args = ["--bootstrap-server", bs, "--entity-type", "broker-loggers", "--entity-name", "1"]
    rc, out, err, _ = run("kafka-configs", args + ["--describe"])
    check("broker-loggers --describe lists root and net at INFO",
          rc == 0 and out.startswith("Dynamic configs for broker-logger 1 are:\n")
          and "  root=INFO sensitive=false synonyms={}\n" in out and "  net=INFO " in out, show(rc, out, err))
    rc, out, err, _ = run("kafka-configs", args + ["--alter", "--add-config", "controller=ERROR"])
    check("broker-loggers --alter --add-config controller=ERROR",
          rc == 0 and out == "Completed updating config for broker-logger 1.\n", show(rc, out, err))
    rc, out, err, _ = run("kafka-configs", args + ["--describe"])
    check("controller is at ERROR, root still INFO", "  controller=ERROR " in out and "  root=INFO " in out,
          show(rc, out, err))
    before = b.output().count("created topic quiet-topic")
    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "quiet-topic", "--bootstrap-server", bs])
    check("controller's INFO line about a new topic is not written at ERROR",
          rc == 0 and b.output().count("created topic quiet-topic") == before, show(rc, out, err))
    rc, out, err, _ = run("kafka-configs", args + ["--alter", "--add-config", "nosuch=DEBUG"])
    check("an unknown logger is refused by name", rc != 0 and "Invalid broker logger(s): nosuch" in err,
          show(rc, out, err))
    rc, out, err, _ = run("kafka-configs", args + ["--alter", "--add-config", "net=LOUD"])
    check("an unknown level is refused with Kafka's message", rc != 0 and "not a supported log level" in err,
          show(rc, out, err))
    rc, out, err, _ = run("kafka-configs", args + ["--alter", "--delete-config", "controller"])
    rc2, out2, err2, _ = run("kafka-configs", args + ["--describe"])
    check("--delete-config gives controller root's level back", rc == 0 and "  controller=INFO " in out2,
          show(rc, out, err) + "\n" + out2)
    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "loud-topic", "--bootstrap-server", bs])
    check("and its INFO lines come back", "created topic loud-topic" in b.output(), show(rc, out, err))


def main():
    with Broker() as b:
        configs(b.bootstrap)
        offsets(b.bootstrap)
        broker_loggers(b)
    finish()


if __name__ == "__main__":
    main()
