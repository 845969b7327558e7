"""A full disk under the broker: produce gets KAFKA_STORAGE_ERROR, the broker
says so in its log, nothing acknowledged is corrupted, and after space is
freed a restart serves every acknowledged record.

Uses a small tmpfs as log.dirs (needs root, as CI has). Skipped (exit 0 with
a note) when mounting is not permitted.
"""
import os
import subprocess
import sys
import tempfile

import confluent_kafka as ck
import confluent_kafka.admin  # noqa: F401 (ck.admin)

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402

TOPIC = "full-disk"


def mount_tmpfs(path, size):
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                          capture_output=True).returncode == 0


def produce_until_error(bootstrap):
    acked, errors = [], []

    def on_delivery(err, msg):
        if err:
            errors.append(err)
        else:
            acked.append(int(msg.value()[:12]))

    p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                     "message.timeout.ms": 10000, "retries": 0})
    payload_pad = b"x" * 1000
    i = 0
    while not errors and i < 200000:
        try:
            p.produce(TOPIC, value=b"%012d" % i + payload_pad, on_delivery=on_delivery)
            i += 1
        except BufferError:
            p.poll(0.05)
        if i % 500 == 0:
            p.flush(10)
    p.flush(15)
    return acked, errors


def consume_all(bootstrap, expected):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "disk-full-check",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([TOPIC])
    got = []
    idle = 0
    while idle < 10 and len(got) < expected:
        m = c.poll(1.0)
        if m is None:
            idle += 1
            continue
        assert not m.error(), m.error()
        got.append(int(m.value()[:12]))
    c.close()
    return got


def main():
    if os.geteuid() != 0:
        print("skipped: needs root to mount a tmpfs")
        return 0
    mnt = tempfile.mkdtemp(prefix="eddy-full-")
    if not mount_tmpfs(mnt, "3m"):
        print("skipped: cannot mount tmpfs here")
        return 0
    try:
        data = os.path.join(mnt, "data")
        b = Broker(config={"log.segment.bytes": "1048576", "num.partitions": "1"}, data_dir=data)
        b.start()
        admin = ck.admin.AdminClient({"bootstrap.servers": b.bootstrap})
        for f in admin.create_topics([ck.admin.NewTopic(TOPIC, 1, 1)]).values():
            f.result()
        acked, errors = produce_until_error(b.bootstrap)
        assert errors, "the disk never filled up"
        codes = {e.code() for e in errors}
        assert ck.KafkaError.KAFKA_STORAGE_ERROR in codes or ck.KafkaError._MSG_TIMED_OUT in codes, codes
        assert any(e.code() == ck.KafkaError.KAFKA_STORAGE_ERROR for e in errors), \
            "expected KAFKA_STORAGE_ERROR, got %s" % codes
        out = b.output()
        assert "offline" in out.lower() or "no space" in out.lower(), "no log line about the full disk:\n" + out[-3000:]
        print("acknowledged %d records before the disk filled; errors: %s" % (len(acked), codes))
        b.stop()

        # Free space (a bigger tmpfs), restart on the same data, read everything back.
        subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
        b.start()
        got = consume_all(b.bootstrap, len(acked))
        missing = set(acked) - set(got)
        assert not missing, "%d acknowledged records missing, e.g. %s" % (len(missing), sorted(missing)[:5])
        assert got == sorted(got), "records out of order"
        assert len(got) == len(set(got)), "duplicates"
        # The partition accepts writes again.
        p = ck.Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
        p.produce(TOPIC, value=b"%012d" % 999999999)
        assert p.flush(10) == 0
        assert b.stop() == 0
        b.check_clean()
        print("after restart: %d records read back, all acknowledged ones present" % len(got))
        return 0
    finally:
        subprocess.run(["umount", "-l", mnt])
        os.rmdir(mnt)


if __name__ == "__main__":
    sys.exit(main())
