"""Idempotent producers across faults: every acknowledged batch is in the
log once, and a retry is never acknowledged on weaker terms than the first try.

1. kill -9 after an idempotent batch larger than 1 MiB: the producer state
   rebuilt from the log after the restart knows it and the batch after it,
   so retries of both are recognised as duplicates, not appended again.
2. A producer snapshot past the log end (the log lost its tail, the
   snapshot survived: simulated by cutting the segment after a clean stop)
   is deleted when the partition's producer state is loaded. Kept, it was loaded after a later crash once the
   log had grown past it, and a new batch was taken for a duplicate: it was
   acknowledged and never written.
3. acks=all: while the first try of a batch waits for an fdatasync (slowed
   down with strace's fault injection), its retry is answered only when the
   first is durable; if the fdatasync fails, both get KAFKA_STORAGE_ERROR.
   Skipped (the rest still runs) where strace cannot trace.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402
from foundation_wire import connect  # noqa: E402
from produce_wire import fetch_batches, init_producer_id, produce  # noqa: E402
from record_batches import batch  # noqa: E402

KAFKA_STORAGE_ERROR = 56


def create_topic(b, name, config=None):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(name, 1, 1, config=config or {})])[name].result(30)


def one_record(pid, seq, value=b"v"):
    return batch(0, int(time.time() * 1000), [(0, b"k%d" % seq, value, ())], producer_id=pid, base_seq=seq)


def snapshots(b, topic):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(b.data_dir, topic + "-0", "*.snapshot")))


def big_batch_scenario(b):
    create_topic(b, "big", {"max.message.bytes": "8000000"})
    s = connect(b.port, timeout=30)
    err, pid, _ = init_producer_id(s)
    check(err == 0, "InitProducerId")
    sent = [one_record(pid, 0), one_record(pid, 1, b"x" * 2_000_000), one_record(pid, 2)]
    offsets = [produce(s, "big", 0, data)["base_offset"] for data in sent]
    check(offsets == [0, 1, 2], "three batches, the second of 2 MB, acknowledged")
    b.kill9()
    b.start()
    s = connect(b.port, timeout=30)
    retried = [produce(s, "big", 0, sent[i]) for i in (2, 1)]
    check([(r["error"], r["base_offset"]) for r in retried] == [(0, 2), (0, 1)],
          "after kill -9 the retries of the 2 MB batch and the one after it are duplicates")
    check([x["base_sequence"] for x in fetch_batches(b.port, "big")] == [0, 1, 2], "the log holds each batch once")


def stale_snapshot_scenario(b):
    create_topic(b, "stale")
    s = connect(b.port, timeout=30)
    first = 1000
    for seq in range(10):
        produce(s, "stale", 0, one_record(first, seq), acks=1)
    size = fetch_batches(b.port, "stale")[0]["size"]
    b.stop()
    check(snapshots(b, "stale") == ["00000000000000000010.snapshot"], "a clean stop leaves a snapshot at 10")
    os.truncate(os.path.join(b.data_dir, "stale-0", "00000000000000000000.log"), 6 * size)
    os.remove(os.path.join(b.data_dir, ".kafka_cleanshutdown"))
    b.start()
    s = connect(b.port, timeout=30)
    other = 2000
    for seq in range(6):
        produce(s, "stale", 0, one_record(other, seq), acks=1)
    check(snapshots(b, "stale") == [], "the snapshot past the recovered log end is deleted at first use")
    produce(s, "stale", 0, one_record(first, 6), acks=1)
    b.kill9()
    b.start()
    s = connect(b.port, timeout=30)
    r = produce(s, "stale", 0, one_record(first, 7), acks=1)
    check(r["error"] == 0 and r["base_offset"] == 13, "after a crash the next batch is appended at 13")
    log = [(x["producer_id"], x["base_sequence"]) for x in fetch_batches(b.port, "stale")]
    check(log[-2:] == [(first, 6), (first, 7)] and len(log) == 14, "the log holds it")


def strace_works():
    if not shutil.which("strace"):
        return False
    probe = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"], capture_output=True)
    return probe.returncode == 0


def traced_broker(inject, data_dir):
    """A broker whose fdatasync calls on the partition "slow"'s segment get `inject`."""
    wrapper = tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False)
    segment = os.path.join(data_dir, "slow-0", "00000000000000000000.log")
    wrapper.write("#!/bin/sh\nexec strace -f -qq -o /dev/null -P %s -e trace=fdatasync -e inject=fdatasync:%s %s \"$@\"\n"
                  % (segment, inject, harness.EDDY_BIN))
    wrapper.close()
    os.chmod(wrapper.name, 0o755)
    return wrapper.name


def retry_during_fsync(inject):
    data_dir = tempfile.mkdtemp(prefix="eddy-test-strace-")
    wrapper = traced_broker(inject, data_dir)
    real, harness.EDDY_BIN = harness.EDDY_BIN, wrapper
    b = harness.Broker(config={"log.flush.interval.messages": "9223372036854775807"}, data_dir=data_dir)
    try:
        b.start()
        create_topic(b, "slow")
        first, retry = connect(b.port, timeout=30), connect(b.port, timeout=30)
        _, pid, _ = init_producer_id(first)
        data = one_record(pid, 0)
        answers = {}
        start = time.time()

        def first_try():
            answers["first"] = produce(first, "slow", 0, data, timeout_ms=30000)
            answers["first_at"] = time.time() - start

        t = threading.Thread(target=first_try)
        t.start()
        time.sleep(0.3)
        again = produce(retry, "slow", 0, data, timeout_ms=30000)
        retry_at = time.time() - start
        t.join(30)
        return answers, again, retry_at
    finally:
        # strace is the broker's parent here: stop the traced broker first, then strace.
        for child in subprocess.run(["pgrep", "-P", str(b.proc.pid)], capture_output=True,
                                    text=True).stdout.split():
            os.kill(int(child), 9)
        b.proc.wait()
        harness.EDDY_BIN = real
        os.unlink(wrapper)
        shutil.rmtree(data_dir, ignore_errors=True)


def slow_fsync_scenario():
    if not strace_works():
        print("skip: strace cannot trace here; the slow-fdatasync part is not run")
        return
    answers, again, retry_at = retry_during_fsync("delay_enter=2000000")
    check(answers["first"]["error"] == 0 and again["error"] == 0 and again["base_offset"] == 0,
          "first try and retry both acknowledged at offset 0")
    check(retry_at >= answers["first_at"] - 0.1, "the retry is answered only once the first try is durable "
          "(%.2f s, first at %.2f s)" % (retry_at, answers["first_at"]))
    answers, again, _ = retry_during_fsync("error=EIO:delay_enter=1000000")
    check(answers["first"]["error"] == KAFKA_STORAGE_ERROR and again["error"] == KAFKA_STORAGE_ERROR,
          "a failed fdatasync fails the retry too")


def main():
    with harness.Broker(config={"message.max.bytes": "8000000"}) as b:
        big_batch_scenario(b)
        stale_snapshot_scenario(b)
    slow_fsync_scenario()
    print("PASS")


if __name__ == "__main__":
    main()
