"""kill -9 of the broker under an idempotent producer.

A librdkafka producer (enable.idempotence=true, acks=all) in its own process
sends 100,000 numbered records to 3 partitions at ~25,000/s. When a quarter,
and again when 60%, are acknowledged the broker is killed with SIGKILL and
restarted on the same data dir and port; at 85% it is stopped cleanly
(SIGTERM: producer state from the snapshot, not a log scan) and restarted.
The producer rides through the three outages and finishes. Then
every partition must hold each record exactly once (no duplicates from the
retried in-flight batches: the producer state survived the crash), in order,
with no gaps, and every acknowledged record at the offset its acknowledgement
gave.
"""
import os
import sys
import time

from clients_common import (Broker, count_lines, read_acks, read_partition_log,
                            start_crash_producer)

TOPIC = "idem"
COUNT = 100_000
PARTITIONS = 3
RATE = 25_000


def main():
    with Broker(config={"num.partitions": str(PARTITIONS)}) as broker:
        out = os.path.join(broker.tmp, "acks.txt")
        producer = start_crash_producer(broker.bootstrap, TOPIC, COUNT, PARTITIONS, RATE, out,
                                        {"enable.idempotence": True})
        try:
            for fraction, how in ((0.25, "kill -9"), (0.6, "kill -9"), (0.85, "SIGTERM")):
                deadline = time.time() + 60
                while count_lines(out) < COUNT * fraction and time.time() < deadline:
                    assert producer.poll() is None, "producer exited early"
                    time.sleep(0.01)
                acked_before = count_lines(out)
                if how == "kill -9":
                    broker.kill9()
                else:
                    rc = broker.stop()
                    assert rc == 0, "eddy exited %s on SIGTERM" % rc
                print("  %s of the broker after %d acknowledgements" % (how, acked_before),
                      flush=True)
                time.sleep(1.0)
                broker.start()
            rc = producer.wait(120)
        finally:
            if producer.poll() is None:
                producer.kill()
                producer.wait()
        acks, errors, finished = read_acks(out)
        assert rc == 0 and finished, "producer exit %s, finished %s" % (rc, finished)
        assert not errors, "%d records failed, e.g. %s" % (len(errors), errors[:5])
        total = 0
        for p in range(PARTITIONS):
            log = read_partition_log(broker.bootstrap, TOPIC, p)
            seqs = [seq for _, seq in log]
            want = list(range(p, COUNT, PARTITIONS))
            if seqs != want:
                dups = len(seqs) - len(set(seqs))
                missing = sorted(set(want) - set(seqs))
                raise AssertionError("partition %d: %d records, want %d; %d duplicates, "
                                     "missing %s; first difference at index %d" % (
                                         p, len(seqs), len(want), dups, missing[:10],
                                         next(i for i, (a, b) in enumerate(zip(seqs + [None] * len(want), want)) if a != b)))
            offsets = [o for o, _ in log]
            assert offsets == list(range(len(log))), "partition %d: offsets not dense" % p
            by_offset = dict(log)
            for off, seq in acks.get(p, []):
                assert by_offset.get(off) == seq, "partition %d: acknowledged seq %d at offset " \
                    "%d, log has %s" % (p, seq, off, by_offset.get(off))
            total += len(log)
        print("  %d records, each exactly once, in order" % total)
    print("PASS kill -9 under an idempotent producer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
