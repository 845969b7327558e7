"""Client config files (--command-config, --producer.config, --consumer.config)
are read as Java properties, as Kafka's tools read them: a value continued
over lines with a trailing backslash (the usual multi-line sasl.jaas.config),
a `key value` line with a blank as separator, \\u escapes. A line that is not
a known client property still gets a clear error and exit 1."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from tools_common import check, finish, run, show  # noqa: E402


def config_file(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False)
    f.write(text)
    f.close()
    return f.name


def main():
    with Broker() as b:
        good = config_file("# Java properties\n"
                           "socket.timeout.ms = 20\\\n"
                           "    000\n"
                           "request.timeout.ms 30000\n"
                           "client.id=config\\u002dfile\n")
        rc, out, err, _ = run("kafka-topics", ["--bootstrap-server", b.bootstrap, "--list", "--command-config", good])
        check("continuation, blank separator and \\u escape are read as one config each",
              rc == 0 and "isn't a known config" not in err and "Invalid" not in err, show(rc, out, err))
        rc, out, err, _ = run("kafka-topics", ["--bootstrap-server", b.bootstrap, "--create", "--topic", "cfg",
                                               "--command-config", good])
        rc, out, err, _ = run("kafka-topics", ["--bootstrap-server", b.bootstrap, "--describe", "--topic", "cfg",
                                               "--command-config", good])
        check("--describe with --command-config: no zero TopicId (left out, as Kafka does for an unknown id)",
              rc == 0 and out.startswith("Topic: cfg\tPartitionCount: 1") and "AAAAAAAAAAAAAAAAAAAAAA" not in out,
              show(rc, out, err))
        bad = config_file("socket.timeout.ms = twenty\n")
        rc, out, err, _ = run("kafka-topics", ["--bootstrap-server", b.bootstrap, "--list", "--command-config", bad])
        check("a bad value still stops the tool with exit 1, naming the key",
              rc == 1 and "socket.timeout.ms" in err, show(rc, out, err))
        for path in (good, bad):
            os.unlink(path)
    finish()


if __name__ == "__main__":
    main()
