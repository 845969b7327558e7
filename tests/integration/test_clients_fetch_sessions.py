"""Fetch sessions (KIP-227) on the wire, with hand-encoded Fetch v7.

librdkafka 2.0, kafka-python 2.0 and kafkajs never open a session, so this
test plays the consumer a Java client would be: a full fetch opens a
session; incremental fetches (epoch + 1) carry only changed partitions and
are answered with only partitions that have news (records, or a moved high
watermark); a stale epoch gets INVALID_FETCH_SESSION_EPOCH, an unknown id
FETCH_SESSION_ID_NOT_FOUND; forgotten partitions leave the session; with
max.incremental.fetch.session.cache.slots=2 a third session evicts only a
stale session or an older, smaller one, else goes without a session (Kafka's
FetchSessionCache); a session holds at most 2,000 partitions; when max_bytes
runs out, the partitions of a session take turns (answered ones move to
the end of the session's order); a fetch of no partitions is answered at
once, and a session whose last partition is forgotten is closed; a
partition answered with an error is answered again when the error clears;
a partition both fetched and forgotten in one request leaves the session; a
partition named twice is answered once; session ids are random. Then the hostile and edge cases: a session closed by a
pipelined request while a fetch on it waits for data (used to touch freed
memory), and a broker stopped while fetches wait (they are answered at once;
a session fetch used to touch freed memory, and every waiting fetch held the
shutdown for up to its 10 s grace period).
"""
import struct
import time

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, NewTopic

from foundation_wire import Reader, assert_alive, connect, frame, i8, i16, i32, recv_response, request_header, string
from harness import Broker
from produce_wire import produce as produce_batch
from record_batches import batch

API_FETCH = 1
FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_FETCH_SESSION_EPOCH = 71
OFFSET_OUT_OF_RANGE = 1
TOPIC = "sessions"


def i64(v):
    return struct.pack(">q", v)


def fetch_v7(corr, session_id, epoch, partitions=(), forgotten=(), max_wait_ms=0, topic=TOPIC,
             max_bytes=16 << 20, min_bytes=1):
    """partitions: [(partition, fetch_offset)] of topic; forgotten: [partition]."""
    body = i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(0) + i32(session_id) + i32(epoch)
    if partitions:
        body += i32(1) + string(topic) + i32(len(partitions))
        for p, offset in partitions:
            body += i32(p) + i64(offset) + i64(-1) + i32(1 << 20)
    else:
        body += i32(0)
    if forgotten:
        body += i32(1) + string(topic) + i32(len(forgotten)) + b"".join(i32(p) for p in forgotten)
    else:
        body += i32(0)
    return frame(request_header(API_FETCH, 7, corr) + body)


def count_records(blob):
    """Records in the whole batches of a records field."""
    n, pos = 0, 0
    while pos + 61 <= len(blob):
        (length,) = struct.unpack(">i", blob[pos + 8:pos + 12])
        if pos + 12 + length > len(blob):
            break
        n += struct.unpack(">i", blob[pos + 57:pos + 61])[0]
        pos += 12 + length
    return n


def parse_fetch_v7_list(body):
    """-> (error, session_id, [(topic, partition, error, high_watermark, records)]) in answer order."""
    r = Reader(body)
    r.i32()  # throttle
    error, session_id = r.i16(), r.i32()
    answers = []
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            p, perr, hwm = r.i32(), r.i16(), r.i64()
            r.i64()  # last stable offset
            r.i64()  # log start offset
            aborted = r.i32()
            for _ in range(max(aborted, 0)):
                r.i64()
                r.i64()
            size = r.i32()
            blob = r.take(size) if size > 0 else b""
            answers.append((topic, p, perr, hwm, count_records(blob)))
    return error, session_id, answers


def parse_fetch_v7(body):
    """-> (error, session_id, {partition: (error, high_watermark, records)}) of TOPIC."""
    error, session_id, answers = parse_fetch_v7_list(body)
    parts = {}
    for topic, p, perr, hwm, records in answers:
        assert topic == TOPIC, "answer for topic %r" % topic
        parts[p] = (perr, hwm, records)
    return error, session_id, parts


class Client:
    def __init__(self, port):
        self.sock = connect(port, timeout=15)
        self.corr = 0

    def send(self, *args, **kw):
        self.corr += 1
        self.sock.sendall(fetch_v7(self.corr, *args, **kw))
        return self.corr

    def answer(self, corr):
        got = recv_response(self.sock)
        assert got is not None, "broker closed the connection"
        assert got[0] == corr, "correlation id %d, expected %d" % (got[0], corr)
        return parse_fetch_v7(got[1])

    def fetch(self, *args, **kw):
        return self.answer(self.send(*args, **kw))

    def fetch_list(self, *args, **kw):
        """Like fetch, with every answered partition in answer order."""
        corr = self.send(*args, **kw)
        got = recv_response(self.sock)
        assert got is not None and got[0] == corr, "no answer to %d" % corr
        return parse_fetch_v7_list(got[1])

    def close(self):
        self.sock.close()


def produce(bootstrap, partition, count):
    p = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(count):
        p.produce(TOPIC, value=b"v%d" % i, partition=partition)
    assert p.flush(30) == 0


def create_topic(b, name, partitions):
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)


def check_rotation(b):
    """Three partitions with 1 KB batches, max_bytes 1500: each answer has room
    for one batch. A session moves the partitions it answered to the end of
    its order (Kafka's IncrementalFetchContext), so the partitions take turns;
    Eddy used to read them in the same order every time, and partitions 1 and
    2 never got a byte while partition 0 had data."""
    create_topic(b, "rotation", 3)
    sock = connect(b.port, timeout=15)
    for p in range(3):
        for _ in range(3):
            produce_batch(sock, "rotation", p, batch(0, 1000, [(0, None, b"x" * 1000, ())]))
    sock.close()
    c = Client(b.port)
    offsets = [0, 0, 0]

    def fetch(session_id, epoch):
        err, sid, answers = c.fetch_list(session_id, epoch, [(p, offsets[p]) for p in range(3)],
                                         topic="rotation", max_bytes=1500)
        assert err == 0, "rotation fetch: error %d" % err
        with_records = [p for _, p, _, _, n in answers if n > 0]
        assert len(with_records) == 1, "one batch per answer expected: %r" % answers
        offsets[with_records[0]] += 1
        return sid, with_records[0]

    sid, first = fetch(0, 0)
    turns = [first] + [fetch(sid, epoch)[1] for epoch in range(1, 7)]
    assert turns == [0, 0, 1, 2, 0, 1, 2], "partitions answered in turn: %r" % turns
    c.close()


def check_session_flow(b):
    c = Client(b.port)
    err, sid, parts = c.fetch(0, 0, [(0, 0), (1, 0)])
    assert err == 0 and sid != 0, "full fetch opening a session: error %d, session %d" % (err, sid)
    assert parts == {0: (0, 10, 10), 1: (0, 5, 5)}, "full fetch answer: %r" % parts

    err, sid2, parts = c.fetch(sid, 1, [(0, 10), (1, 5)])
    assert (err, sid2, parts) == (0, sid, {}), "nothing new: %r" % ((err, sid2, parts),)

    produce(b.bootstrap, 1, 1)
    err, _, parts = c.fetch(sid, 2)
    assert err == 0 and parts == {1: (0, 6, 1)}, "only the partition with news: %r" % parts

    err, _, _ = c.fetch(sid, 2)
    assert err == INVALID_FETCH_SESSION_EPOCH, "stale epoch answered with error %d" % err
    err, _, _ = c.fetch(sid + 7777, 1)
    assert err == FETCH_SESSION_ID_NOT_FOUND, "unknown session answered with error %d" % err

    # The stale epoch did not advance the session; forget partition 1 and re-read 0.
    err, _, parts = c.fetch(sid, 3, [(0, 0)], forgotten=[1])
    assert err == 0 and parts == {0: (0, 10, 10)}, "after forgetting partition 1: %r" % parts
    produce(b.bootstrap, 1, 1)
    err, _, parts = c.fetch(sid, 4, [(0, 10)])
    assert err == 0 and parts == {}, "a forgotten partition still answered: %r" % parts

    err, sid_after, parts = c.fetch(sid, -1, [(0, 0)])
    assert err == 0 and sid_after == 0 and parts == {0: (0, 10, 10)}, "closing fetch: %r" % (
        (err, sid_after, parts),)
    err, _, _ = c.fetch(sid, 5)
    assert err == FETCH_SESSION_ID_NOT_FOUND, "closed session answered with error %d" % err
    c.close()


def check_eviction(b):
    """Two slots, eviction time 1 s (Kafka: 120 s). A new session takes a
    slot only from a stale session (unused > 1 s) or from a smaller one
    created more than 1 s ago; otherwise the fetch is answered without a
    session (id 0). Eddy used to evict the least recently used session at
    once, so two consumers beyond the slots evicted each other on every
    fetch."""
    clients = {}
    epochs = {}

    def open_session(name, partitions):
        clients[name] = Client(b.port)
        err, sid, _ = clients[name].fetch(0, 0, [(p, 0) for p in partitions])
        assert err == 0, "opening session %s: error %d" % (name, err)
        epochs[name] = 1
        return sid

    def touch(name, sid):
        err, got, _ = clients[name].fetch(sid, epochs[name])
        epochs[name] += 1
        return err, got

    a, bb = open_session("a", [0]), open_session("b", [0])
    assert a != 0 and bb != 0 and a != bb, "session ids %d, %d" % (a, bb)
    assert open_session("c", [0]) == 0, "a third session evicted a session just opened"
    assert open_session("d", [0, 1]) == 0, "a bigger session evicted a session younger than the eviction time"
    assert touch("a", a) == (0, a) and touch("b", bb) == (0, bb), "sessions lost to a full cache"

    # a goes stale (unused 1.2 s) while b is used: a new session takes a's slot.
    for _ in range(4):
        time.sleep(0.3)
        assert touch("b", bb) == (0, bb)
    c = open_session("c", [0, 1])
    assert c != 0, "no session although session %d was stale" % a
    assert touch("a", a)[0] == FETCH_SESSION_ID_NOT_FOUND, "the stale session was not the one evicted"

    # b (1 partition) and c (2) are in use and older than 1 s: a new session
    # of 2 partitions evicts the smaller b; one of 1 partition evicts nobody.
    for _ in range(4):
        time.sleep(0.3)
        assert touch("b", bb) == (0, bb) and touch("c", c) == (0, c)
    assert open_session("e", [0]) == 0, "a session evicted one of the same size"
    d = open_session("d", [0, 1])
    assert d != 0, "a bigger session did not evict an older smaller one"
    assert touch("b", bb)[0] == FETCH_SESSION_ID_NOT_FOUND, "the smaller session was not the one evicted"
    assert touch("c", c) == (0, c) and touch("d", d) == (0, d), "the wrong session was evicted"
    for client in clients.values():
        client.close()
    closer = Client(b.port)  # leave the slots free for the next checks
    for sid in (c, d):
        closer.fetch(sid, -1, [(0, 0)])
    closer.close()


def check_error_cleared(b):
    """A partition answered with an error (OFFSET_OUT_OF_RANGE) is answered
    again once a fetch at a valid offset clears it, though its high watermark
    did not move (Kafka's CachedPartition forgets the high watermark it sent
    with an error). Eddy left it out, and the client never heard the error
    was gone."""
    c = Client(b.port)
    sid = c.fetch(0, 0, [(0, 10)])[1]
    err, _, parts = c.fetch(sid, 1, [(0, 99)])
    assert err == 0 and parts == {0: (OFFSET_OUT_OF_RANGE, 10, 0)}, "fetch past the end: %r" % parts
    err, _, parts = c.fetch(sid, 2, [(0, 10)])
    assert err == 0 and parts == {0: (0, 10, 0)}, "the error cleared but the answer is %r" % parts
    c.fetch(sid, -1, [(0, 10)])
    c.close()


def check_request_details(b):
    """Kafka applies a request's partitions before its forgotten ones, so a
    partition both fetched and forgotten leaves the session (Eddy kept it);
    a partition named twice is answered once, at its first place, with the
    fetch offset of its last copy (Eddy answered every copy); session ids
    are random, so one client cannot guess another's (Eddy counted up)."""
    c = Client(b.port)
    end1 = c.fetch(0, -1, [(1, 0)])[2][1][1]  # partition 1's high watermark
    sid = c.fetch(0, 0, [(0, 10), (1, end1)])[1]
    err, got_sid, parts = c.fetch(sid, 1, [(0, 0)], forgotten=[0])
    assert (err, got_sid, parts) == (0, sid, {}), "fetched and forgotten in one request: %r" % (
        (err, got_sid, parts),)
    err, _, parts = c.fetch(sid, 2)
    assert (err, parts) == (0, {}), "a partition fetched and forgotten is still in the session: %r" % parts
    c.fetch(sid, -1, [(0, 10)])

    for epoch in (-1, 0):
        err, sid, answers = c.fetch_list(0, epoch, [(0, 10), (1, end1), (0, 0)])
        assert err == 0 and [(p, n) for _, p, _, _, n in answers] == [(0, 10), (1, 0)], \
            "duplicate partition (epoch %d): %r" % (epoch, answers)
    err, _, answers = c.fetch_list(sid, 1)
    assert err == 0 and [(p, n) for _, p, _, _, n in answers] == [(0, 10)], \
        "the session took the duplicate's last offset: %r" % answers
    c.fetch(sid, -1, [(0, 10)])

    ids = []
    for _ in range(4):
        ids.append(c.fetch(0, 0, [(0, 10)])[1])
        c.fetch(ids[-1], -1, [(0, 10)])
    assert all(0 < i < 2**31 for i in ids), "session ids %r" % ids
    assert not any(abs(x - y) == 1 for x in ids for y in ids), "session ids count up: %r" % ids
    c.close()


def check_empty_fetches(b):
    """A fetch with no partitions has nothing to wait for: Kafka answers at
    once whatever min_bytes and max_wait_ms say (Eddy waited max_wait_ms). A
    session whose last partition is forgotten is closed and the answer
    carries session id 0 (Kafka's FetchManager); Eddy kept it open."""
    c = Client(b.port)
    started = time.time()
    err, sid, parts = c.fetch(0, -1, max_wait_ms=3000)
    assert (err, sid, parts) == (0, 0, {}), "empty sessionless fetch: %r" % ((err, sid, parts),)
    assert time.time() - started < 1, "an empty fetch waited %.1f s" % (time.time() - started)

    sid = c.fetch(0, 0, [(0, 10)])[1]
    assert sid != 0, "no session opened"
    started = time.time()
    err, got_sid, parts = c.fetch(sid, 1, forgotten=[0], max_wait_ms=3000)
    assert (err, got_sid, parts) == (0, 0, {}), "forgetting the last partition: %r" % ((err, got_sid, parts),)
    assert time.time() - started < 1, "a fetch of an emptied session waited %.1f s" % (time.time() - started)
    err, _, _ = c.fetch(sid, 2)
    assert err == FETCH_SESSION_ID_NOT_FOUND, "the emptied session is still open: error %d" % err
    c.close()


def check_session_limit(b):
    """A session holds at most 2,000 partitions (lookups in it are linear):
    a bigger full fetch is answered without a session, and an incremental
    fetch growing a session past it must start over."""
    c = Client(b.port)
    many = [(p, 0) for p in range(2001)]
    started = time.time()
    err, sid, parts = c.fetch(0, 0, many)
    assert err == 0 and sid == 0 and len(parts) == 2001, "2,001 partitions: error %d, session %d, %d answered" % (
        err, sid, len(parts))
    sid = c.fetch(0, 0, many[:2000])[1]
    assert sid != 0, "2,000 partitions got no session"
    err, _, _ = c.fetch(sid, 1, [(2000, 0)])
    assert err == FETCH_SESSION_ID_NOT_FOUND, "growing past the limit: error %d" % err
    assert time.time() - started < 10, "session limit checks took %.1f s" % (time.time() - started)
    c.close()


def check_closed_while_waiting(b):
    """A fetch waits on a session; a pipelined request closes that session."""
    c = Client(b.port)
    sid = c.fetch(0, 0, [(0, 10)])[1]
    started = time.time()
    waiting = c.send(sid, 1, max_wait_ms=1500)
    closing = c.send(sid, -1, [(0, 10)])
    err, got_sid, parts = c.answer(waiting)
    assert err == 0 and got_sid == sid and parts.get(0, (0, 10, 0))[2] == 0, "waiting fetch: %r" % (
        (err, got_sid, parts),)
    assert time.time() - started >= 1.0, "the waiting fetch did not wait"
    err, got_sid, _ = c.answer(closing)
    assert err == 0 and got_sid == 0, "closing fetch: error %d, session %d" % (err, got_sid)
    c.close()
    assert_alive(b, "a session closed under a waiting fetch")


def check_stop_while_waiting():
    """SIGTERM while fetches wait: one on a session's partition, one
    sessionless at the log end. Both are answered at once and the
    broker exits well inside its 10 s grace period."""
    with Broker() as b:
        produce(b.bootstrap, 0, 1)
        on_data = Client(b.port)
        sid = on_data.fetch(0, 0, [(0, 1)])[1]
        waiting_data = on_data.send(sid, 1, max_wait_ms=30000)
        on_deadline = Client(b.port)
        waiting_deadline = on_deadline.send(0, -1, [(0, 1)], max_wait_ms=30000)
        time.sleep(0.3)
        started = time.time()
        rc = b.stop()
        took = time.time() - started
        assert rc == 0, "exit code %s after SIGTERM" % rc
        assert took < 5, "stopping took %.1f s with two fetches waiting" % took
        err, got_sid, parts = on_data.answer(waiting_data)
        assert err == 0 and got_sid == sid, "session fetch at shutdown: %r" % ((err, got_sid, parts),)
        err, _, parts = on_deadline.answer(waiting_deadline)
        assert err == 0 and parts == {0: (0, 1, 0)}, "sessionless fetch at shutdown: %r" % ((err, parts),)
        # Broker.__exit__ also checks the log for sanitizer reports.
    on_data.close()
    on_deadline.close()
    return took


def main():
    config = {"num.partitions": "2", "max.incremental.fetch.session.cache.slots": "2",
              "eddy.fetch.session.eviction.ms": "1000"}
    with Broker(config=config) as b:
        produce(b.bootstrap, 0, 10)
        produce(b.bootstrap, 1, 5)
        check_session_flow(b)
        print("  session opened, incremental answers, stale epoch, unknown id, forgotten, closed")
        check_eviction(b)
        print("  full cache (2 slots): a new session evicts only a stale or an older smaller one")
        check_error_cleared(b)
        print("  a partition answered with an error is answered again once the error clears")
        check_request_details(b)
        print("  fetched and forgotten at once leaves the session; duplicates answered once; random ids")
        check_empty_fetches(b)
        print("  fetches of no partitions answered at once; an emptied session is closed")
        check_session_limit(b)
        print("  a session holds at most 2,000 partitions")
        check_closed_while_waiting(b)
        print("  session closed by a pipelined request while a fetch on it waited")
        check_rotation(b)
        print("  partitions take turns when max_bytes runs out (answered ones move to the end)")
    took = check_stop_while_waiting()
    print("  broker stopped in %.1f s while two fetches waited; both answered" % took)
    print("ok")


if __name__ == "__main__":
    main()
