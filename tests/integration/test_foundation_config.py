#!/usr/bin/python3
"""server.properties handling as an operator meets it.

- An unknown key: a WARN line naming it, and the broker starts and serves.
- Kafka's Properties syntax: comments (# and !), blank lines, spaces around
  '=' and ':' as separator are accepted.
- The rest of java.util.Properties.load, which Kafka reads the file with:
  backslash continuation lines (log.dirs and listener.security.protocol.map
  over several lines), a blank as separator, \\uXXXX escapes, lines far
  longer than any buffer; a key set twice keeps its last value.
- node.id and broker.id: broker.id alone sets the node id; both set to
  different values stop start-up with a message naming both (as Kafka's
  "You must set `node.id` to the same value as `broker.id`").
- A malformed value stops start-up: non-zero exit, and a message naming the
  key and the value. A missing config file does too.
- bin/kafka-server-start.sh with a copy of config/server.properties (port and
  log.dirs changed) starts a node that kcat can list, and SIGTERM stops it
  with exit code 0.
- socket.send.buffer.bytes / socket.receive.buffer.bytes size an accepted
  connection's buffers (ss shows the kernel's doubled value); by default
  the receive buffer keeps the kernel's own sizing and the send buffer is
  256 KiB; -1 leaves the kernel's sizing.
- The broker's threads carry names (top -H, perf): the event loop is "eddy",
  the others eddy-flusher, eddy-pager, eddy-cleaner and eddy-housekeep.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EDDY_BIN, ROOT, Broker, free_port  # noqa: E402
import foundation_wire as kw  # noqa: E402

BAD_VALUES = [
    ("num.partitions", "abc"),
    ("num.partitions", "0"),
    ("num.partitions", "99999999999999999999"),
    ("listeners", "nonsense"),
    ("listeners", "PLAINTEXT://127.0.0.1:99999"),
    ("auto.create.topics.enable", "maybe"),
    ("socket.request.max.bytes", "-5"),
    ("connections.max.idle.ms", "1.5"),
    ("node.id", "one"),
]


def check_unknown_key():
    with Broker(config={"no.such.key": "42", "another.made.up.key": "x"}) as b:
        kw.assert_alive(b, "unknown keys")
        log = b.output()
        for key in ("no.such.key", "another.made.up.key"):
            lines = [line for line in log.splitlines() if key in line]
            assert lines and all(" WARN " in line for line in lines), "no WARN for %s:\n%s" % (key, log)
        print("unknown keys: WARN lines name them, broker serves")


def check_properties_syntax():
    tmp = tempfile.mkdtemp(prefix="eddy-props-")
    port = free_port()
    path = os.path.join(tmp, "server.properties")
    with open(path, "w") as f:
        f.write("# a comment\n! another comment\n\n")
        f.write("node.id = 1\n")
        f.write("listeners : PLAINTEXT://127.0.0.1:%d\n" % port)
        f.write("   log.dirs=%s   \n" % os.path.join(tmp, "data"))
        f.write("num.partitions\t=\t4\r\n")
    b = Broker(port=port)
    b.write_config = lambda: path  # use this hand-written file as is
    with b:
        md = kw.metadata_roundtrip(port, ["syntax-topic"])
        assert len(md["topics"]["syntax-topic"][1]) == 4, md
    shutil.rmtree(tmp, ignore_errors=True)
    print("Properties syntax (comments, spaces, ':' separator, CRLF): accepted, num.partitions=4 applied")


def broker_configs(port, node_id):
    """DescribeConfigs of the broker, all keys: {name: value}, through kafka-configs.sh."""
    tool = os.path.join(ROOT, "bin", "kafka-configs.sh")
    out = subprocess.run([tool, "--bootstrap-server", "127.0.0.1:%d" % port, "--describe", "--broker",
                          str(node_id), "--all"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s+([a-z0-9.]+)=(\S*) ", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def check_java_properties_format():
    tmp = tempfile.mkdtemp(prefix="eddy-props-")
    port = free_port()
    path = os.path.join(tmp, "server.properties")
    dir_a, dir_b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    long_key = "x" * 100000
    with open(path, "w") as f:
        f.write("#" + "c" * 100000 + "\n")           # a comment longer than any line buffer
        f.write("node.id 1\n")                        # a blank as the separator
        f.write("process.roles=broker,\\\n    controller\n")
        f.write("listeners=PLAINTEXT://127.0.0.1:%d\n" % port)
        f.write("log.dirs=%s,\\\n         %s\n" % (dir_a, dir_b))
        f.write("listener.security.protocol.map=PLAINTEXT:PLAINTEXT,\\\r\n  CONTROLLER:PLAINTEXT\r\n")
        f.write("num.partitions=\\u0036\n")          # \u0036 is '6'
        f.write("%s=1\n" % long_key)                   # an unknown key of 100000 bytes
        f.write("message.max.bytes" + " " * 100000 + "= 2000000\n")
        f.write("log.retention.hours=abc\nlog.retention.hours=5\n")  # the last one counts
    b = Broker(port=port)
    b.write_config = lambda: path  # use this hand-written file as is
    with b:
        md = kw.metadata_roundtrip(port, ["props-topic"])
        assert len(md["topics"]["props-topic"][1]) == 6, md
        for d in (dir_a, dir_b):
            assert os.path.exists(os.path.join(d, "meta.properties")), "log dir %s unused:\n%s" % (d, b.output())
        warnings = [line for line in b.output().splitlines()
                    if " WARN " in line and "x" * 200 + "...' (100000 bytes)" in line]
        assert len(warnings) == 1, "no single WARN for the long unknown key:\n%s" % b.output()[:3000]
        configs = broker_configs(port, 1)
        expected = {"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "process.roles": "broker,controller", "log.dirs": "%s,%s" % (dir_a, dir_b),
                    "message.max.bytes": "2000000", "log.retention.hours": "5", "num.partitions": "6"}
        for key, value in expected.items():
            assert configs.get(key) == value, "%s=%r, expected %r" % (key, configs.get(key), value)
    shutil.rmtree(tmp, ignore_errors=True)
    print("Properties.load format (continuations, blank separator, \\u escape, 100 kB lines, last of a"
          " repeated key): applied as Kafka reads them")


def check_node_id_and_broker_id():
    b = Broker(config={"broker.id": "7"})
    del b.config["node.id"]
    with b:
        md = kw.metadata_roundtrip(b.port)
        assert [broker[0] for broker in md["brokers"]] == [7], md
        configs = broker_configs(b.port, 7)
        assert configs.get("node.id") == "7" and configs.get("broker.id") == "7", configs
    print("broker.id=7 alone: node 7")
    b = Broker(config={"node.id": "1", "broker.id": "2"})
    rc, out = run_to_exit(b.write_config())
    lines = [line for line in out.splitlines() if "node.id" in line and "broker.id" in line and
             "(1)" in line and "(2)" in line]
    assert rc != 0 and lines, "node.id=1 broker.id=2: exit %d:\n%s" % (rc, out)
    assert "listening on" not in out, "node.id=1 broker.id=2: started listening first:\n" + out
    shutil.rmtree(b.tmp, ignore_errors=True)
    print("node.id=1 broker.id=2: exit %d, %s" % (rc, lines[0].strip()))


def run_to_exit(config_path, timeout=15):
    proc = subprocess.Popen([EDDY_BIN, "server", config_path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        raise AssertionError("broker started despite a bad config:\n" + out.decode(errors="replace"))
    return proc.returncode, out.decode(errors="replace")


def check_bad_values():
    for key, value in BAD_VALUES:
        b = Broker(config={key: value})
        path = b.write_config()
        rc, out = run_to_exit(path)
        assert rc != 0, "%s=%s: exit code 0:\n%s" % (key, value, out)
        lines = [line for line in out.splitlines() if key in line and value in line]
        assert lines, "%s=%s: no message names key and value:\n%s" % (key, value, out)
        assert "listening on" not in out, "%s=%s: started listening first:\n%s" % (key, value, out)
        shutil.rmtree(b.tmp, ignore_errors=True)
        print("%s=%s: exit %d, %s" % (key, value, rc, lines[0].strip()))
    rc, out = run_to_exit("/nonexistent/eddy/server.properties")
    assert rc != 0 and "/nonexistent/eddy/server.properties" in out, "missing file: exit %d:\n%s" % (rc, out)
    print("missing config file: exit %d, %s" % (rc, out.strip().splitlines()[-1]))


def check_start_script():
    script = os.path.join(ROOT, "bin", "kafka-server-start.sh")
    shipped = os.path.join(ROOT, "config", "server.properties")
    assert os.path.exists(script) and os.path.exists(shipped), "bin/kafka-server-start.sh or config/ missing"
    port, controller_port = free_port(), free_port()
    tmp = tempfile.mkdtemp(prefix="eddy-start-")
    text = open(shipped).read()
    text = re.sub(r"localhost:9092", "127.0.0.1:%d" % port, text)
    text = re.sub(r"localhost:9093", "127.0.0.1:%d" % controller_port, text)
    text = re.sub(r"(?m)^log\.dirs=.*$", "log.dirs=%s" % os.path.join(tmp, "data"), text)
    assert "9092" not in text and "localhost" not in text, "unexpected addresses left in the copy:\n" + text
    config = os.path.join(tmp, "server.properties")
    with open(config, "w") as f:
        f.write(text)
    log_path = os.path.join(tmp, "out.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([script, config], stdout=log, stderr=subprocess.STDOUT)
    output = lambda: open(log_path, errors="replace").read()  # noqa: E731
    try:
        deadline = time.time() + 60
        while True:
            assert proc.poll() is None, "kafka-server-start.sh exited %s:\n%s" % (proc.returncode, output())
            try:
                kw.connect(port, timeout=0.5).close()
                break
            except OSError:
                assert time.time() < deadline, "no listener on %d:\n%s" % (port, output())
                time.sleep(0.1)
        listing = subprocess.run(["kcat", "-L", "-b", "127.0.0.1:%d" % port, "-t", "script-topic"],
                                 capture_output=True, text=True, timeout=60)
        assert listing.returncode == 0, listing.stderr
        assert "broker 1 at 127.0.0.1:%d" % port in listing.stdout, listing.stdout
        assert 'topic "script-topic" with 1 partitions' in listing.stdout, listing.stdout
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
        assert rc == 0, "exit %d on SIGTERM:\n%s" % (rc, output())
        config_warnings = [line for line in output().splitlines() if " WARN " in line and "(config)" in line]
        assert not config_warnings, "the shipped config draws warnings:\n" + output()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)
    print("bin/kafka-server-start.sh with config/server.properties: kcat lists broker and topic; SIGTERM -> 0")


def socket_buffers(port):
    """(rcvbuf, sndbuf) of the broker's side of a fresh connection and of the
    client's side (which nobody sized), as ss reports them."""
    client = socket.create_connection(("127.0.0.1", port))
    try:
        time.sleep(0.2)
        sides = []
        for match in ("sport", "dport"):
            out = subprocess.run(["ss", "-tmnH", "state", "established", "( %s = :%d )" % (match, port)],
                                 capture_output=True, text=True, check=True).stdout
            m = re.search(r"skmem:\(r\d+,rb(\d+),t\d+,tb(\d+)", out)
            assert m, "no socket with %s %d in ss output: %r" % (match, port, out)
            sides.append((int(m.group(1)), int(m.group(2))))
    finally:
        client.close()
    return sides


def check_socket_buffers():
    with Broker(config={"socket.receive.buffer.bytes": "200000",
                        "socket.send.buffer.bytes": "150000"}) as b:
        broker_side, _ = socket_buffers(b.port)
        assert broker_side == (400000, 300000), broker_side  # Linux doubles what is asked for
    with Broker() as b:
        broker_side, client_side = socket_buffers(b.port)
        assert broker_side[0] == client_side[0], (broker_side, client_side)  # the kernel's receive sizing
        with open("/proc/sys/net/core/wmem_max") as f:  # the kernel caps SO_SNDBUF there, then doubles it
            want_sndbuf = 2 * min(262144, int(f.read()))
        assert broker_side[1] == want_sndbuf, (broker_side, want_sndbuf)  # the 262144 default
    with Broker(config={"socket.send.buffer.bytes": "-1"}) as b:
        broker_side, client_side = socket_buffers(b.port)
        assert broker_side == client_side, (broker_side, client_side)
    print("socket buffer sizes: applied when set; receive: the kernel's own by default, send: 256 KiB")


def check_thread_names():
    want = {"eddy", "eddy-flusher", "eddy-pager", "eddy-cleaner", "eddy-housekeep"}
    with Broker() as b:
        task_dir = "/proc/%d/task" % b.proc.pid
        deadline = time.time() + 10  # the listener may answer before every thread is up
        while True:
            names = set()
            for tid in os.listdir(task_dir):
                with open(os.path.join(task_dir, tid, "comm")) as f:
                    names.add(f.read().strip())
            if want <= names or time.time() > deadline:
                break
            time.sleep(0.05)
        assert want <= names, "thread names: %r" % sorted(names)
    print("thread names: %s" % ", ".join(sorted(want)))


def main():
    check_thread_names()
    check_socket_buffers()
    check_unknown_key()
    check_properties_syntax()
    check_java_properties_format()
    check_node_id_and_broker_id()
    check_bad_values()
    check_start_script()
    print("OK")


if __name__ == "__main__":
    main()
