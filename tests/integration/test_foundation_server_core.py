#!/usr/bin/python3
"""Server core behaviour a user relies on.

- connections.max.idle.ms closes an idle connection (and only an idle one),
  with a log line saying why.
- SIGTERM: exit code 0, every request the broker had already received is
  answered (even with megabytes of responses still unsent), idle connections
  are closed, no new connections are accepted, and it is quick.
- A connection error (an unknown API key) leaves a WARN line naming the
  client's address and the reason.
"""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
import foundation_wire as kw  # noqa: E402

IDLE_MS = 1500


def check_idle_close(b):
    with kw.connect(b.port) as idle, kw.connect(b.port) as busy:
        for s, corr in ((idle, 1), (busy, 2)):
            s.sendall(kw.api_versions_request(2, corr))
            assert kw.recv_response(s)[0] == corr
        start = time.time()
        # The busy connection keeps talking every 400 ms for 4 s; it must stay open.
        corr = 100
        closed_at = None
        idle.setblocking(False)
        while time.time() - start < 4.0:
            corr += 1
            busy.sendall(kw.metadata_v1_request(corr, []))
            resp = kw.recv_response(busy)
            assert resp is not None and resp[0] == corr, "an active connection was closed after %.1fs" % (
                time.time() - start)
            if closed_at is None:
                try:
                    if idle.recv(1) == b"":
                        closed_at = time.time() - start
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    closed_at = time.time() - start
            time.sleep(0.4)
        assert closed_at is not None, "idle connection still open after 4 s (connections.max.idle.ms=%d)" % IDLE_MS
        assert closed_at >= IDLE_MS / 1000.0 - 0.2, "idle connection closed too early, after %.2fs" % closed_at
    log = b.output()
    assert "connections.max.idle.ms" in log, "no log line for the idle close:\n" + log[-3000:]
    print("idle connection closed after %.2fs (connections.max.idle.ms=%d); active one kept for 4s" % (
        closed_at, IDLE_MS))


def check_error_logged(b):
    with kw.connect(b.port) as s:
        local = "127.0.0.1:%d" % s.getsockname()[1]
        s.sendall(kw.frame(kw.request_header(4321, 0, 99)))
        assert kw.wait_closed(s), "unknown API key: connection not closed"
    deadline = time.time() + 5
    while time.time() < deadline:
        lines = [line for line in b.output().splitlines() if local in line]
        if lines:
            break
        time.sleep(0.05)
    assert lines, "no broker log line names the client %s:\n%s" % (local, b.output()[-3000:])
    assert any(" WARN " in line or " ERROR " in line for line in lines), lines
    assert any("4321" in line or "API key" in line for line in lines), lines
    print("connection error logged: %s" % lines[0])


def check_sigterm(b):
    # Enough topics that each all-topics answer is ~20 KB; 600 of them (~12 MB)
    # cannot all fit in the socket buffers while this client is not reading.
    names = ["sigterm-%03d" % i for i in range(200)]
    kw.metadata_roundtrip(b.port, names)
    idle = kw.connect(b.port)
    busy = kw.connect(b.port, timeout=30)
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    count = 600
    busy.sendall(b"".join(kw.metadata_v1_request(10000 + i, None) for i in range(count)))
    time.sleep(0.5)  # the broker has read and answered into its output queue
    b.proc.send_signal(signal.SIGTERM)
    stop_started = time.time()
    time.sleep(0.3)
    try:
        late = socket.create_connection(("127.0.0.1", b.port), timeout=1)
        late.close()
        raise AssertionError("a new connection was accepted after SIGTERM")
    except (ConnectionRefusedError, socket.timeout):
        pass
    total = 0
    for i in range(count):
        resp = kw.recv_response(busy)
        assert resp is not None, "connection closed after %d of %d in-flight answers" % (i, count)
        assert resp[0] == 10000 + i, "answer %d has correlation id %d" % (i, resp[0])
        total += len(resp[1])
        if i == count - 1:
            topics = kw.parse_metadata_v1(resp[1])["topics"]
            assert len(topics) == len(names), len(topics)
    assert kw.wait_closed(busy), "connection not closed after its answers"
    assert kw.wait_closed(idle), "idle connection not closed on shutdown"
    busy.close()
    idle.close()
    rc = b.proc.wait(20)
    took = time.time() - stop_started
    assert rc == 0, "exit code %d on SIGTERM:\n%s" % (rc, b.output()[-3000:])
    assert took < 8, "shutdown took %.1fs" % took
    b.check_clean()
    print("SIGTERM: %d in-flight answers (%.1f MB) delivered in order, exit 0 after %.2fs" % (
        count, total / 1e6, took))


def main():
    b = Broker(config={"connections.max.idle.ms": str(IDLE_MS), "num.partitions": "3"})
    b.start()
    try:
        check_idle_close(b)
        check_error_logged(b)
        kw.assert_alive(b, "idle and error checks")
        check_sigterm(b)
    except BaseException:
        print("broker log (%s):\n%s" % (b.log_path, b.output()[-6000:]))
        b.kill9()
        raise
    print("OK")


if __name__ == "__main__":
    main()
