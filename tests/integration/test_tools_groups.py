#!/usr/bin/python3
"""kafka-consumer-groups.sh and the console consumer with --group against a
real Eddy broker: list, describe (Kafka's columns), reset offsets (dry run
and execute, every --to-* spec, --by-duration, --export and --from-file), delete offsets of one topic (Kafka's lines,
refused while a member subscribes to the topic), delete.

Broker capabilities needed: everything test_tools_walkthrough.py needs, plus
consumer groups: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
LeaveGroup, OffsetCommit, OffsetFetch, ListGroups, DescribeGroups,
DeleteGroups.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from tools_common import BIN, check, finish, matches, run, show  # noqa: E402


def describe(bs, group):
    return run("kafka-consumer-groups", ["--bootstrap-server", bs, "--describe", "--group", group])


def current_offset(out):
    """CURRENT-OFFSET of the grp-topic partition 0 row, or None."""
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[1] == "grp-topic" and cols[2] == "0":
            return cols[3]
    return None


def reset(bs, *spec):
    return run("kafka-consumer-groups", ["--bootstrap-server", bs, "--reset-offsets", "--group", "g1",
                                         "--topic", "grp-topic", "--execute"] + list(spec))


def start_consumer(bs, topic, group):
    """A console consumer that stays in the group until stop_consumer()."""
    return subprocess.Popen([os.path.join(BIN, "kafka-console-consumer.sh"), "--topic", topic,
                             "--bootstrap-server", bs, "--group", group, "--from-beginning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_consumer(proc):
    """Ctrl-C, as a user stops it; killed if it does not leave within 20 s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def wait_described(bs, group, row):
    """--describe's output once a line matches `row` (the member has joined), or after 30 s."""
    out = ""
    deadline = time.time() + 30
    while time.time() < deadline:
        rc, out, err, _ = describe(bs, group)
        if matches(row, out):
            break
        time.sleep(0.5)
    return out


def active_group(bs):
    """A live console consumer in group g2: describe shows it, reset is refused."""
    proc = start_consumer(bs, "grp-topic", "g2")
    try:
        out = wait_described(bs, "g2",
                             r"^g2\s+grp-topic\s+0\s+\S+\s+5\s+\S+\s+\S+\s+/?127\.0\.0\.1\s+console-consumer$")
        check("--describe shows the active member's CONSUMER-ID, HOST and CLIENT-ID",
              matches(r"^g2\s+grp-topic\s+0\s+\S+\s+5\s+\S+\s+\S+\s+/?127\.0\.0\.1\s+console-consumer$", out),
              out)
        rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--describe", "--group", "g2",
                                                        "--members"])
        check("--describe --members",
              rc == 0 and matches(r"^GROUP\s+CONSUMER-ID\s+HOST\s+CLIENT-ID\s+#PARTITIONS\s*$", out)
              and matches(r"^g2\s+\S+\s+/?127\.0\.0\.1\s+console-consumer\s+1\s*$", out), show(rc, out, err))
        rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--reset-offsets", "--group",
                                                        "g2", "--topic", "grp-topic", "--to-earliest", "--execute"])
        check("--reset-offsets on an active group is refused",
              rc == 1 and "can only be reset if the group 'g2' is inactive" in err, show(rc, out, err))
    finally:
        stop_consumer(proc)


def delete_offsets(bs):
    """--delete-offsets: g3 commits on grp-topic and other-topic, then loses
    grp-topic's offsets only; a live member of g2 keeps its topic's."""
    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "other-topic", "--bootstrap-server", bs,
                                           "--partitions", "2", "--replication-factor", "1"])
    check("create other-topic", rc == 0, show(rc, out, err))
    for topic in ("grp-topic", "other-topic"):
        run("kafka-console-producer", ["--topic", topic, "--bootstrap-server", bs], stdin="a\nb\n")
        rc, out, err, _ = run("kafka-console-consumer", ["--topic", topic, "--bootstrap-server", bs, "--group", "g3",
                                                         "--from-beginning", "--max-messages", "2"], timeout=90)
        check("g3 commits on %s" % topic, rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--delete-offsets", "--group", "g3",
                                                    "--topic", "grp-topic"])
    check("--delete-offsets prints Kafka's success line and a row per partition",
          rc == 0 and "Request succeed for deleting offsets with topic grp-topic group g3" in out
          and matches(r"^TOPIC\s+PARTITION\s+STATUS\s*$", out) and matches(r"^grp-topic\s+0\s+Successful\s*$", out),
          show(rc, out, err))
    rc, out, err, _ = describe(bs, "g3")
    check("... and only grp-topic's offsets are gone",
          "grp-topic" not in out and matches(r"^g3\s+other-topic\s+\d\s+", out), show(rc, out, err))
    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--delete-offsets", "--group", "nope",
                                                    "--topic", "grp-topic"])
    check("--delete-offsets of an unknown group: Kafka's error",
          rc == 0 and "Error: 'nope' does not exist." in err, show(rc, out, err))
    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--delete-offsets", "--group", "g3"])
    check("--delete-offsets needs --topic", rc != 0 and "[delete-offsets]" in err + out, show(rc, out, err))
    proc = start_consumer(bs, "other-topic", "g4")
    try:
        wait_described(bs, "g4", r"^g4\s+other-topic\s+\d\s+\S+\s+\S+\s+\S+\s+\S+\s+/?127\.0\.0\.1")
        rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--delete-offsets", "--group",
                                                        "g4", "--topic", "other-topic"])
        check("--delete-offsets of a topic a live member subscribes to: a partition-level error per row",
              "Encounter some partition level error" in err and matches(r"^other-topic\s+0\s+Error: ", out),
              show(rc, out, err))
    finally:
        stop_consumer(proc)


def reset_plans(bs):
    """--by-duration, and a plan written with --export read back with --from-file."""
    for spec, expected, note in ((["--by-duration", "P1DT0.5S"], "0", "a day back: the first record"),
                                 (["--by-duration", "-PT1H"], "5", "in the future: the log end, with Kafka's warning")):
        rc, out, err, _ = reset(bs, *spec)
        rc2, out2, err2, _ = describe(bs, "g1")
        check("--reset-offsets %s --execute -> %s (%s)" % (" ".join(spec), expected, note),
              rc == 0 and current_offset(out2) == expected
              and (expected == "0" or "Warn: Partition 0 from topic grp-topic is empty. Falling back to latest "
                                      "known offset." in out), show(rc, out, err) + "\n" + out2)
    rc, out, err, _ = reset(bs, "--by-duration", "1H")
    check("--by-duration 1H: not an ISO-8601 duration, exit 1 naming it",
          rc == 1 and "Text cannot be parsed to a Duration: '1H'" in err, show(rc, out, err))

    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--reset-offsets", "--group", "g1",
                                                    "--topic", "grp-topic", "--to-offset", "2", "--export",
                                                    "--dry-run"])
    check("--export prints the plan as Kafka's CSV (one --group: no group column)",
          rc == 0 and out == "grp-topic,0,2\n\n", show(rc, out, err))
    rc2, out2, err2, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--reset-offsets", "--all-groups",
                                                       "--topic", "grp-topic", "--to-offset", "1", "--export",
                                                       "--dry-run"])
    check("--export without exactly one --group: the group column leads",
          rc2 == 0 and out2 == "g1,grp-topic,0,1\n\n", show(rc2, out2, err2))
    plan = os.path.join(os.environ.get("TMPDIR", "/tmp"), "eddy-reset-plan-%d.csv" % os.getpid())
    try:
        rc, out, err, described = reset_from_file(bs, plan, out)
        check("--from-file with the exported plan --execute -> 2",
              rc == 0 and matches(r"^g1\s+grp-topic\s+0\s+2\s*$", out) and current_offset(described) == "2",
              show(rc, out, err) + "\n" + described)
        rc, out, err, described = reset_from_file(bs, plan, "other,grp-topic,0,1\ng1,grp-topic,0,99\n")
        check("--from-file with group,topic,partition,offset lines: g1's line only, 99 kept to the log end (5)",
              rc == 0 and current_offset(described) == "5" and "New offset (99) is higher than latest offset" in err,
              show(rc, out, err) + "\n" + described)
        rc, out, err, described = reset_from_file(bs, plan, "grp-topic,zero,1\n")
        check("--from-file with a bad line: exit 1 naming the line, nothing reset",
              rc == 1 and "line 1 of %s" % plan in err and current_offset(described) == "5", show(rc, out, err))
    finally:
        os.unlink(plan)


def reset_from_file(bs, path, text):
    """Write `text` to `path`, reset g1 from it with --execute; the tool's rc, out, err and then --describe."""
    with open(path, "w") as f:
        f.write(text)
    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--reset-offsets", "--group", "g1",
                                                    "--from-file", path, "--execute"])
    return rc, out, err, describe(bs, "g1")[1]


def groups(bs):
    rc, out, err, _ = run("kafka-topics", ["--create", "--topic", "grp-topic", "--bootstrap-server", bs,
                                           "--partitions", "1", "--replication-factor", "1"])
    check("create grp-topic", rc == 0, show(rc, out, err))
    lines = "".join("event %d\n" % i for i in range(5))
    rc, out, err, _ = run("kafka-console-producer", ["--topic", "grp-topic", "--bootstrap-server", bs],
                          stdin=lines)
    check("produce 5 events", rc == 0, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--topic", "grp-topic", "--bootstrap-server", bs, "--group",
                                                     "g1", "--from-beginning", "--max-messages", "5"], timeout=90)
    check("console consumer --group g1 reads 5 events", rc == 0 and out == lines, show(rc, out, err))

    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--list"])
    check("--list shows g1", rc == 0 and "g1" in out.split(), show(rc, out, err))

    rc, out, err, _ = describe(bs, "g1")
    check("--describe says the group has no active members, on stderr (stdout only the table)",
          rc == 0 and "Consumer group 'g1' has no active members." in err and "active members" not in out
          and out.lstrip().startswith("GROUP"), show(rc, out, err))
    check("--describe header has Kafka's columns",
          matches(r"^GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+"
                  r"CLIENT-ID$", out), show(rc, out, err))
    check("--describe row: offset 5, log end 5, lag 0",
          matches(r"^g1\s+grp-topic\s+0\s+5\s+5\s+0\s+-\s+-\s+-$", out), show(rc, out, err))

    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--reset-offsets", "--group", "g1",
                                                    "--topic", "grp-topic", "--to-earliest", "--dry-run"])
    check("--reset-offsets --dry-run prints the plan",
          rc == 0 and matches(r"^GROUP\s+TOPIC\s+PARTITION\s+NEW-OFFSET\s*$", out)
          and matches(r"^g1\s+grp-topic\s+0\s+0\s*$", out), show(rc, out, err))
    rc, out, err, _ = describe(bs, "g1")
    check("dry run leaves the offset at 5", current_offset(out) == "5", show(rc, out, err))

    for spec, expected in ((["--to-earliest"], "0"), (["--to-offset", "2"], "2"), (["--shift-by", "1"], "3"),
                           (["--to-latest"], "5"), (["--to-datetime", "2000-01-01T00:00:00.000"], "0"),
                           (["--to-offset", "99"], "5")):
        rc, out, err, _ = reset(bs, *spec)
        rc2, out2, err2, _ = describe(bs, "g1")
        check("--reset-offsets %s --execute -> %s" % (" ".join(spec), expected),
              rc == 0 and current_offset(out2) == expected, show(rc, out, err) + "\n" + out2)

    for topics in (["--topic", "no-such-topic"], ["--topic", "grp-topic", "--topic", "no-such-topic"]):
        rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--reset-offsets", "--group", "g1",
                                                        "--to-earliest", "--execute"] + topics)
        rc2, out2, err2, _ = describe(bs, "g1")
        check("--reset-offsets %s: exit 1 before printing anything, nothing reset" % " ".join(topics),
              rc == 1 and out == "" and "Topic 'no-such-topic' does not exist" in err
              and current_offset(out2) == "5", show(rc, out, err) + "\n" + out2)

    reset_plans(bs)

    reset(bs, "--to-offset", "3")
    rc, out, err, _ = run("kafka-console-consumer", ["--topic", "grp-topic", "--bootstrap-server", bs, "--group",
                                                     "g1", "--max-messages", "2"], timeout=90)
    check("group resumes from the reset offset", rc == 0 and out == "event 3\nevent 4\n", show(rc, out, err))

    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--list", "--state"])
    check("--list --state", rc == 0 and matches(r"^GROUP\s+STATE$", out) and matches(r"^g1\s+Empty$", out),
          show(rc, out, err))
    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--describe", "--group", "g1",
                                                    "--state"])
    check("--describe --state",
          rc == 0 and matches(r"^GROUP\s+COORDINATOR \(ID\)\s+ASSIGNMENT-STRATEGY\s+STATE\s+#MEMBERS$", out)
          and matches(r"^g1\s+127\.0\.0\.1:\d+ \(1\)\s+.*Empty\s+0$", out), show(rc, out, err))
    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--describe", "--all-groups"])
    check("--describe --all-groups includes g1", rc == 0 and matches(r"^g1\s+grp-topic\s+0\s+", out),
          show(rc, out, err))

    active_group(bs)
    delete_offsets(bs)

    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--delete", "--group", "g1"])
    check("--delete prints Kafka's success line",
          rc == 0 and "Deletion of requested consumer groups ('g1') was successful." in out, show(rc, out, err))
    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", bs, "--list"])
    check("deleted group leaves the list", "g1" not in out.split(), show(rc, out, err))
    rc, out, err, _ = describe(bs, "nope")
    check("--describe of an unknown group: Kafka's error on stderr, nothing on stdout, exit 0 as Kafka",
          rc == 0 and out == "" and err == "Error: Consumer group 'nope' does not exist.\n", show(rc, out, err))


def main():
    with Broker() as b:
        groups(b.bootstrap)
    finish()


if __name__ == "__main__":
    main()
