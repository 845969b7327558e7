"""Log compaction seen by a consumer: a key-heavy workload on a compacted
topic, and after the cleaner has run, a consumer reading from offset 0 sees
exactly the latest value of every live key (deleted keys and older values
are gone), with offsets still increasing. A record without a key is refused
with INVALID_RECORD, as Kafka does, compressed or not.
"""
import os
import sys
import time

import confluent_kafka as ck
import confluent_kafka.admin as cka

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402

TOPIC = "compacted"
KEYS = 200
ROUNDS = 20


def read_from_start(bootstrap):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-%f" % time.time(),
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     "enable.partition.eof": True})
    c.subscribe([TOPIC])
    records = []
    while True:
        m = c.poll(5.0)
        assert m is not None, "end of partition never reached"
        if m.error():
            if m.error().code() == ck.KafkaError._PARTITION_EOF:
                break
            raise AssertionError(m.error())
        records.append((m.offset(), m.key(), m.value()))
    c.close()
    return records


def check_keyless_refused(bootstrap):
    for codec in ("none", "lz4"):
        p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec})
        reports = []
        p.produce(TOPIC, value=b"no key", on_delivery=lambda err, msg: reports.append(err))
        assert p.flush(30) == 0
        assert len(reports) == 1 and reports[0] is not None, "keyless record accepted (%s)" % codec
        assert reports[0].code() == ck.KafkaError.INVALID_RECORD, \
            "keyless record (%s) got %s, want INVALID_RECORD" % (codec, reports[0])


def main():
    with Broker(config={"log.cleaner.backoff.ms": "200"}) as b:
        admin = cka.AdminClient({"bootstrap.servers": b.bootstrap})
        topic = cka.NewTopic(TOPIC, 1, 1, config={
            "cleanup.policy": "compact", "segment.ms": "500", "segment.bytes": "65536",
            "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "100",
            "min.compaction.lag.ms": "0"})
        for f in admin.create_topics([topic]).values():
            f.result()
        check_keyless_refused(b.bootstrap)

        p = ck.Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5,
                         "compression.type": "lz4"})
        latest = {}
        for r in range(ROUNDS):
            for k in range(KEYS):
                key = b"key-%03d" % k
                value = b"%s round %d" % (key, r)
                p.produce(TOPIC, key=key, value=value)
                latest[key] = value
        # Delete every tenth key with a tombstone.
        for k in range(0, KEYS, 10):
            key = b"key-%03d" % k
            p.produce(TOPIC, key=key, value=None)
            latest[key] = None
        assert p.flush(30) == 0
        live = {k: v for k, v in latest.items() if v is not None}
        total = ROUNDS * KEYS + KEYS // 10

        # Roll the data out of the active segment, then wait for the cleaner.
        deadline = time.time() + 60
        records = []
        while time.time() < deadline:
            time.sleep(1.0)
            p.produce(TOPIC, key=b"sentinel", value=b"roll")
            assert p.flush(10) == 0
            records = [r for r in read_from_start(b.bootstrap) if r[1] != b"sentinel"]
            values = [r for r in records if r[2] is not None]
            if len(values) == len(live) and len(records) == len(values):
                break
        offsets = [r[0] for r in records]
        assert offsets == sorted(offsets), "offsets not increasing"
        seen = {}
        for _, key, value in records:
            assert key not in seen or value is None, "key %r appears twice" % key
            seen[key] = value
        got_live = {k: v for k, v in seen.items() if v is not None}
        assert got_live == live, "live keys differ: %d expected, %d seen" % (len(live), len(got_live))
        assert len(records) == len(live), "older values or tombstones remain: %d records for %d live keys" % (
            len(records), len(live))
        print("%d records written, %d remain after compaction: one per live key; keyless records refused"
              % (total, len(records)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
