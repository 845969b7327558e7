#!/usr/bin/python3
"""Error paths of the Kafka command-line tools (bin/*.sh).

Broker capability needed: NONE. Nothing here needs a working broker: wrong
or missing flags must give a one-line error plus usage and exit 1; --help and
--version exit 0; an unreachable broker gives a clear message within a
bounded time instead of hanging; kafka-server-stop.sh / zookeeper-server-start.sh
behave as Kafka's scripts.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port  # noqa: E402
from tools_common import BIN, check, finish, run, show  # noqa: E402

NOBODY = "127.0.0.1:%d" % free_port()  # nothing listens there
OFFSETS_JSON = os.path.join(tempfile.mkdtemp(prefix="eddy-tools-"), "offsets.json")
with open(OFFSETS_JSON, "w") as f:
    f.write('{"partitions": [{"topic": "t", "partition": 0, "offset": 1}], "version": 1}')

# tool -> (a valid-looking command line that needs the broker, required flag to drop)
TOOLS = {
    "kafka-topics": (["--bootstrap-server", NOBODY, "--list"], None),
    "kafka-console-producer": (["--bootstrap-server", NOBODY, "--topic", "t"], "--topic"),
    "kafka-console-consumer": (["--bootstrap-server", NOBODY, "--topic", "t", "--timeout-ms", "1000"],
                               "--topic"),
    "kafka-consumer-groups": (["--bootstrap-server", NOBODY, "--list"], None),
    "kafka-configs": (["--bootstrap-server", NOBODY, "--describe", "--entity-type", "topics",
                       "--entity-name", "t"], "--entity-type"),
    "kafka-get-offsets": (["--bootstrap-server", NOBODY, "--topic", "t"], None),
    "kafka-delete-records": (["--bootstrap-server", NOBODY, "--offset-json-file", OFFSETS_JSON],
                             "--offset-json-file"),
    "kafka-producer-perf-test": (["--bootstrap-server", NOBODY, "--topic", "t", "--num-records", "10",
                                  "--record-size", "10", "--throughput", "-1"], "--num-records"),
    "kafka-consumer-perf-test": (["--bootstrap-server", NOBODY, "--topic", "t", "--messages", "10",
                                  "--timeout", "2000"], "--topic"),
}


def drop_flag(args, flag):
    i = args.index(flag)
    return args[:i] + args[i + 2:]


def main():
    env = {"EDDY_TOOLS_TIMEOUT_MS": "5000"}
    for tool, (args, required) in sorted(TOOLS.items()):
        rc, out, err, _ = run(tool, ["--help"])
        check("%s --help exits 0 with usage" % tool, rc == 0 and "--bootstrap-server" in out + err,
              show(rc, out, err))
        rc, out, err, _ = run(tool, ["--version"])
        check("%s --version exits 0" % tool, rc == 0 and out.strip() != "", show(rc, out, err))
        rc, out, err, _ = run(tool, args + ["--no-such-flag"])
        first = err.strip().splitlines()[0] if err.strip() else ""
        check("%s unknown flag -> exit 1, one-line error, usage" % tool,
              rc == 1 and "no-such-flag" in first and "Option" in err and "--help" in err, show(rc, out, err))
        rc, out, err, _ = run(tool, [])
        check("%s without arguments -> exit 1 with usage" % tool, rc == 1 and "Option" in err, show(rc, out, err))
        if required:
            rc, out, err, _ = run(tool, drop_flag(args, required))
            check("%s missing %s -> exit 1" % (tool, required), rc == 1 and "Option" in err,
                  show(rc, out, err))
        rc, out, err, took = run(tool, args, stdin="", timeout=40, env=env)
        check("%s unreachable broker -> exit 1 with a clear message in bounded time" % tool,
              rc == 1 and took < 30 and NOBODY in err and "cannot reach" in err,
              show(rc, out, err) + "\ntook %.1fs" % took)

    # Flag combinations Kafka rejects.
    rc, out, err, _ = run("kafka-topics", ["--bootstrap-server", NOBODY, "--list", "--describe"])
    check("kafka-topics two actions -> exit 1", rc == 1 and "exactly one action" in err, show(rc, out, err))
    rc, out, err, _ = run("kafka-topics", ["--bootstrap-server", NOBODY, "--create"])
    check("kafka-topics --create without --topic -> exit 1", rc == 1 and "topic" in err, show(rc, out, err))
    rc, out, err, _ = run("kafka-topics", ["--bootstrap-server", NOBODY, "--create", "--topic", "t",
                                           "--partitions", "x"])
    check("kafka-topics non-numeric --partitions -> exit 1", rc == 1, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--bootstrap-server", NOBODY, "--topic", "t",
                                                     "--offset", "5"])
    check("kafka-console-consumer --offset without --partition -> exit 1",
          rc == 1 and "partition is required" in err, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--bootstrap-server", NOBODY, "--topic", "t",
                                                     "--group", "g", "--partition", "0"])
    check("kafka-console-consumer --group with --partition -> exit 1, as Kafka",
          rc == 1 and "group and partition cannot be specified together" in err, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--bootstrap-server", NOBODY, "--topic", "t", "--formatter",
                                                     "kafka.coordinator.group.GroupMetadataManager$OffsetsMessageFormatter"])
    check("kafka-console-consumer --formatter of a class Eddy lacks -> exit 1, naming it",
          rc == 1 and "OffsetsMessageFormatter is not available" in err, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-consumer", ["--bootstrap-server", NOBODY, "--topic", "t", "--timeout-ms",
                                                     "500", "--formatter", "kafka.tools.DefaultMessageFormatter"])
    check("kafka-console-consumer --formatter kafka.tools.DefaultMessageFormatter is accepted",
          "is not available" not in err, show(rc, out, err))
    rc, out, err, _ = run("kafka-console-producer", ["--bootstrap-server", NOBODY, "--topic", "t",
                                                     "--compression-codec", "brotli"])
    check("kafka-console-producer unknown codec -> exit 1", rc == 1, show(rc, out, err))
    rc, out, err, _ = run("kafka-consumer-groups", ["--bootstrap-server", NOBODY, "--describe"])
    check("kafka-consumer-groups --describe without --group -> exit 1", rc == 1 and "group" in err,
          show(rc, out, err))
    rc, out, err, _ = run("kafka-dump-log", ["--files", "/nonexistent/00000000000000000000.log"])
    check("kafka-dump-log missing file -> exit 1 with message", rc == 1 and "nonexistent" in err,
          show(rc, out, err))
    rc, out, err, _ = run("kafka-dump-log", ["--print-data-log"])
    check("kafka-dump-log without --files -> exit 1", rc == 1 and "files" in err, show(rc, out, err))

    rc, out, err, _ = run("kafka-console-producer", ["--bootstrap-server", NOBODY, "--topic", "t",
                                                     "--producer-property", "acks=maybe"])
    check("kafka-console-producer invalid property value -> exit 1 naming it", rc == 1 and "acks" in err,
          show(rc, out, err))
    rc, out, err, _ = run("kafka-console-producer", ["--bootstrap-server", NOBODY, "--topic", "t",
                                                     "--producer-property", "no.such.property=1",
                                                     "--producer-property", "key.serializer=x"],
                          env={"EDDY_TOOLS_TIMEOUT_MS": "3000"})
    check("kafka-console-producer unknown/Java-only property -> warning, then carries on",
          rc == 1 and "no.such.property" in err and "cannot reach" in err, show(rc, out, err))

    # kafka-server-stop.sh, in a throw-away copy of the repo layout whose build/eddy is a copy of
    # sleep(1): the script must signal exactly that process (never the real brokers of this repo).
    fake = tempfile.mkdtemp(prefix="eddy-stop-")
    os.makedirs(os.path.join(fake, "bin"))
    os.makedirs(os.path.join(fake, "build"))
    shutil.copy(os.path.join(BIN, "kafka-server-stop.sh"), os.path.join(fake, "bin"))
    shutil.copy("/bin/sleep", os.path.join(fake, "build", "eddy"))
    victim = subprocess.Popen([os.path.join(fake, "build", "eddy"), "300"])
    bystander = subprocess.Popen(["/bin/sleep", "300"])
    time.sleep(0.3)
    stop = subprocess.run([os.path.join(fake, "bin", "kafka-server-stop.sh")], capture_output=True, text=True)
    try:
        victim_rc = victim.wait(timeout=10)
    except subprocess.TimeoutExpired:
        victim.kill()
        victim_rc = "still running"
    check("kafka-server-stop.sh sends SIGTERM to the repo's eddy", stop.returncode == 0
          and victim_rc == -signal.SIGTERM, "rc=%r victim=%r %s" % (stop.returncode, victim_rc, stop.stderr))
    check("kafka-server-stop.sh leaves other processes alone", bystander.poll() is None)
    bystander.kill()
    bystander.wait()
    stop = subprocess.run([os.path.join(fake, "bin", "kafka-server-stop.sh")], capture_output=True, text=True)
    check("kafka-server-stop.sh without a server: 'No kafka server to stop', exit 1",
          stop.returncode == 1 and stop.stdout.strip() == "No kafka server to stop", repr(stop))
    shutil.rmtree(fake, ignore_errors=True)

    # kafka-server-start.sh: Kafka's USAGE without a config file; --override reaches the broker
    # (an invalid value proves it without starting one).
    rc, out, err, _ = run("kafka-server-start", [])
    check("kafka-server-start.sh without a config file: Kafka's USAGE, exit 1",
          rc == 1 and out.startswith("USAGE: ") and "server.properties [--override property=value]*" in out,
          show(rc, out, err))
    rc, out, err, _ = run("kafka-server-start", ["config/server.properties", "--override", "node.id=1",
                                                 "--override", "num.partitions=abc"], timeout=30)
    check("kafka-server-start.sh --override property=value is applied after the file",
          rc == 1 and "invalid value 'abc' for num.partitions" in out + err, show(rc, out, err))

    # Scripts.
    rc, out, err, _ = run("zookeeper-server-start", ["config/zookeeper.properties"])
    check("zookeeper-server-start.sh explains and exits 0", rc == 0 and "ZooKeeper" in out, show(rc, out, err))
    finish()


if __name__ == "__main__":
    main()
