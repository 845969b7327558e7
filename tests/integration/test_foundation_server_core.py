#!/usr/bin/python3
"""Server core behaviour a user relies on.

- connections.max.idle.ms closes an idle connection (and only an idle one),
  with a log line saying why.
- SIGTERM: exit code 0, every request the broker had already received is
  answered (even with megabytes of responses still unsent), idle connections
  are closed, no new connections are accepted, and it is quick.
- A connection error (an unknown API key) leaves a WARN line naming the
  client's address and the reason.
- A request larger than one socket read (300 KB) is answered.
- 400 concurrent connections; a client that does not read 80 MB of answers
  (the broker pauses it at its output cap, loses nothing, serves others).
- More pipelined long-poll Fetch requests than the in-flight cap per
  connection are all answered, in order.
"""
import os
import signal
import socket
import struct
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


def check_large_request(b):
    """A 300 KB Metadata request (several socket reads, a grown input buffer) is answered."""
    names = [("large-%04d-" % i).ljust(100, "y") for i in range(3000)]
    data = kw.metadata_v4_request(77, names, allow_auto_create=False)
    with kw.connect(b.port, timeout=20) as s:
        s.sendall(data)
        resp = kw.recv_response(s)
        assert resp is not None and resp[0] == 77, "large request not answered: %r" % (resp and resp[0])
        s.sendall(kw.api_versions_request(0, 78))
        assert kw.recv_response(s)[0] == 78, "connection unusable after a large request"
    print("%d-byte Metadata request answered (%d-byte answer); connection still usable" % (
        len(data), len(resp[1])))
    # Large frames are read into a buffer of their own once their size is known:
    # trickle one in small pieces (the size field itself split), with a small
    # request before it in the same write and two more right behind it.
    small_before, small_after = kw.api_versions_request(0, 80), kw.api_versions_request(0, 82)
    big2 = kw.metadata_v4_request(83, names[:1500], allow_auto_create=False)
    stream = small_before + data[:2] + data[2:] + big2 + small_after
    with kw.connect(b.port, timeout=20) as s:
        cuts = [len(small_before) + 2, len(small_before) + 3000, len(small_before) + 70000,
                len(small_before) + len(data) + 100, len(stream) - len(small_after) - 1]
        start = 0
        for cut in cuts + [len(stream)]:
            s.sendall(stream[start:cut])
            start = cut
            time.sleep(0.05)
        got = [kw.recv_response(s) for _ in range(4)]
        assert [r and r[0] for r in got] == [80, 77, 83, 82], [r and r[0] for r in got]
        assert got[1][1] == resp[1], "the trickled request got a different answer"
    print("trickled and pipelined large frames: answered in order, same answer")


def fetch_v4_request(correlation_id, topic, max_wait_ms):
    """Fetch v4 for partition 0 from offset 0: on an empty topic it waits max_wait_ms (an async answer)."""
    body = kw.i32(-1) + kw.i32(max_wait_ms) + kw.i32(1) + kw.i32(1 << 20) + kw.i8(0)
    body += kw.i32(1) + kw.string(topic) + kw.i32(1) + kw.i32(0) + struct.pack(">q", 0) + kw.i32(1 << 20)
    return kw.frame(kw.request_header(1, 4, correlation_id) + body)


def check_pipelined_async(b, count=400):
    """More pipelined long-poll requests than the per-connection in-flight cap (128).

    The excess waits in the input buffer; each late answer must let it through
    (no new socket event comes for those bytes)."""
    kw.metadata_roundtrip(b.port, ["empty-for-fetch"])
    with kw.connect(b.port, timeout=15) as s:
        start = time.time()
        s.sendall(b"".join(fetch_v4_request(500 + i, "empty-for-fetch", 100) for i in range(count)))
        for i in range(count):
            try:
                resp = kw.recv_response(s)
            except socket.timeout:
                raise AssertionError("stalled after %d of %d pipelined long-poll Fetch answers" % (i, count))
            assert resp is not None and resp[0] == 500 + i, "answer %d: %r" % (i, resp and resp[0])
    print("%d pipelined long-poll Fetch requests (cap 128 in flight): all answered in order in %.2fs" % (
        count, time.time() - start))


BIG_TOPICS = [("big-answers-%02d-" % i).ljust(240, "x") for i in range(30)]


def create_big_topics(b):
    """Long topic names make each all-topics Metadata v1 answer ~10 KB."""
    kw.metadata_roundtrip(b.port, BIG_TOPICS, timeout=60)


def check_many_connections(b, count=400):
    start = time.time()
    socks = [kw.connect(b.port, timeout=30) for _ in range(count)]
    try:
        for i, s in enumerate(socks):
            s.sendall(kw.api_versions_request(i % 5, i))
        for i, s in enumerate(socks):
            resp = kw.recv_response(s)
            assert resp is not None and resp[0] == i, "connection %d: %r" % (i, resp and resp[0])
    finally:
        for s in socks:
            s.close()
    print("%d concurrent connections each answered in %.2fs" % (count, time.time() - start))


def check_slow_reader(b, count=8000):
    """~80 MB of answers to a client that does not read: the broker stops reading
    at its output cap and resumes as the client drains, losing nothing."""
    with kw.connect(b.port, timeout=60) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.sendall(b"".join(kw.metadata_v1_request(i, None) for i in range(count)))
        time.sleep(2)
        kw.assert_alive(b, "a client not reading 80 MB of answers")
        total = 0
        for i in range(count):
            resp = kw.recv_response(s)
            assert resp is not None and resp[0] == i, "slow reader answer %d: %r" % (i, resp and resp[0])
            total += len(resp[1])
    print("slow reader: %d answers (%.0f MB) all delivered in order; others served meanwhile" % (
        count, total / 1e6))


def check_sigterm(b):
    # 1000 all-topics answers of ~10 KB cannot all fit in the socket buffers
    # while this client is not reading.
    names = BIG_TOPICS
    idle = kw.connect(b.port)
    poller = kw.connect(b.port, timeout=30)
    poller.sendall(fetch_v4_request(4444, "empty-for-fetch", 1500))  # a long poll in flight
    busy = kw.connect(b.port, timeout=30)
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    count = 1000
    busy.sendall(b"".join(kw.metadata_v1_request(10000 + i, None) for i in range(count)))
    time.sleep(0.5)
    # The loop is single-threaded: once another client is answered, the batch
    # above has been read and answered into its output queue.
    kw.metadata_roundtrip(b.port, [], timeout=60)
    b.proc.send_signal(signal.SIGTERM)
    stop_started = time.time()
    refused = False
    while not refused and time.time() - stop_started < 5:
        try:
            socket.create_connection(("127.0.0.1", b.port), timeout=1).close()
            time.sleep(0.05)
        except (ConnectionRefusedError, ConnectionResetError, socket.timeout):
            refused = True  # reset: the attempt was in the backlog when the listener closed
    assert refused, "new connections still accepted 5 s after SIGTERM"
    total = 0
    for i in range(count):
        resp = kw.recv_response(busy)
        assert resp is not None, "connection closed after %d of %d in-flight answers" % (i, count)
        assert resp[0] == 10000 + i, "answer %d has correlation id %d" % (i, resp[0])
        total += len(resp[1])
        if i == count - 1:
            topics = kw.parse_metadata_v1(resp[1])["topics"]
            assert set(names) <= set(topics), "topics missing from the last answer: %d listed" % len(topics)
    resp = kw.recv_response(poller)
    assert resp is not None and resp[0] == 4444, "long-poll Fetch in flight at SIGTERM not answered: %r" % (resp,)
    assert kw.wait_closed(poller), "long-poll connection not closed after its answer"
    poller.close()
    assert kw.wait_closed(busy), "connection not closed after its answers"
    assert kw.wait_closed(idle), "idle connection not closed on shutdown"
    busy.close()
    idle.close()
    rc = b.proc.wait(20)
    took = time.time() - stop_started
    assert rc == 0, "exit code %d on SIGTERM:\n%s" % (rc, b.output()[-3000:])
    assert took < 8, "shutdown took %.1fs" % took
    b.check_clean()
    print("SIGTERM: %d in-flight answers (%.1f MB) and a long-poll Fetch answered, exit 0 after %.2fs" % (
        count, total / 1e6, took))


def check_sigint():
    """Ctrl-C in a terminal is a clean shutdown too."""
    b = Broker()
    b.start()
    kw.assert_alive(b, "start")
    b.proc.send_signal(signal.SIGINT)
    rc = b.proc.wait(20)
    assert rc == 0, "exit code %d on SIGINT:\n%s" % (rc, b.output()[-3000:])
    b.check_clean()
    print("SIGINT: exit 0")


def main():
    b = Broker(config={"connections.max.idle.ms": str(IDLE_MS), "num.partitions": "3"})
    b.start()
    try:
        check_idle_close(b)
        check_error_logged(b)
        check_large_request(b)
        check_pipelined_async(b)
        check_many_connections(b)
        create_big_topics(b)
        check_slow_reader(b)
        kw.assert_alive(b, "idle, error and pipelining checks")
        check_sigterm(b)
    except BaseException:
        print("broker log (%s):\n%s" % (b.log_path, b.output()[-6000:]))
        b.kill9()
        raise
    check_sigint()
    print("OK")


if __name__ == "__main__":
    main()
