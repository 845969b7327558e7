"""kill -9 of the broker during heavy acks=all produce, without idempotence.

Two librdkafka producers (acks=all, retries=0, so that no record is ever
sent twice) in their own processes send 200,000 numbered records each, at
50,000/s each, to two 3-partition topics. When 30% are acknowledged the
broker is killed with SIGKILL and restarted on the same data dir and port;
the producers finish (in-flight requests fail, queued records go to the
restarted broker). Then every acknowledged record must be in the log, at the
offset its acknowledgement gave, and every partition must hold each record
at most once, in the order it was produced.
"""
import os
import sys
import time

from clients_common import (Broker, count_lines, read_acks, read_partition_log,
                            start_crash_producer)

TOPICS = ("heavy-a", "heavy-b")
COUNT = 200_000
PARTITIONS = 3
RATE = 50_000  # per producer: produce lasts ~4 s, so the kill lands mid-stream


def check_topic(broker, topic, out):
    acks, errors, finished = read_acks(out)
    assert finished, "%s: producer did not deliver everything" % topic
    acked = sum(len(v) for v in acks.values())
    assert acked + len(errors) == COUNT, "%s: %d acked + %d failed != %d" % (
        topic, acked, len(errors), COUNT)
    failed = {seq for seq, _ in errors}
    in_log = 0
    for p in range(PARTITIONS):
        log = read_partition_log(broker.bootstrap, topic, p)
        in_log += len(log)
        seqs = [seq for _, seq in log]
        for a, b in zip(seqs, seqs[1:]):
            assert a < b, "%s/%d: seq %d then %d (duplicate or out of order)" % (topic, p, a, b)
        assert all(s % PARTITIONS == p for s in seqs), "%s/%d: foreign record" % (topic, p)
        by_offset = dict(log)
        for off, seq in acks.get(p, []):
            assert by_offset.get(off) == seq, "%s/%d: acknowledged seq %d at offset %d, log " \
                "has %s" % (topic, p, seq, off, by_offset.get(off))
        acked_seqs = {seq for _, seq in acks.get(p, [])}
        stray = [s for s in seqs if s not in acked_seqs and s not in failed]
        assert not stray, "%s/%d: records never produced: %s" % (topic, p, stray[:5])
    print("  %s: %d acknowledged, %d failed in the crash (%d of those in the log anyway)"
          % (topic, acked, len(errors), in_log - acked), flush=True)


def main():
    with Broker(config={"num.partitions": str(PARTITIONS)}) as broker:
        outs = [os.path.join(broker.tmp, "acks-%s.txt" % t) for t in TOPICS]
        producers = [start_crash_producer(broker.bootstrap, t, COUNT, PARTITIONS, RATE, o,
                                          {"retries": 0, "enable.idempotence": False})
                     for t, o in zip(TOPICS, outs)]
        try:
            deadline = time.time() + 60
            while sum(count_lines(o) for o in outs) < 2 * COUNT * 0.3 and time.time() < deadline:
                assert all(p.poll() is None for p in producers), "producer exited early"
                time.sleep(0.005)
            acked_before = sum(count_lines(o) for o in outs)
            broker.kill9()
            print("  killed the broker after %d acknowledgements" % acked_before, flush=True)
            time.sleep(1.0)
            broker.start()
            rcs = [p.wait(120) for p in producers]
        finally:
            for p in producers:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        assert rcs == [0, 0], "producers exited %s" % rcs
        for topic, out in zip(TOPICS, outs):
            check_topic(broker, topic, out)
    print("PASS kill -9 during heavy acks=all produce")
    return 0


if __name__ == "__main__":
    sys.exit(main())
