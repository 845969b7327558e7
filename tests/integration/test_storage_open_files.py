"""Open files at start-up: every segment keeps its .log open (the newest its
two index files too), as in Kafka. A broker restarted under an open-file
limit its logs do not fit in refuses to start, naming the limit, instead of
starting with some partitions missing (they stayed in the metadata and timed
out on every request). Under a limit they fit in with little room left it
starts, warns, and serves every record.
"""
import os
import sys
import time

import confluent_kafka as ck
import kafka

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402

TOPIC = "many-segments"
PARTITIONS = 4
RECORDS = 4000  # about 60 segments of 16 KiB per partition


def produce(bootstrap):
    p = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 4096})
    for i in range(RECORDS):
        p.produce(TOPIC, value=b"%08d" % i + b"f" * 992, partition=i % PARTITIONS)
        if i % 500 == 0:
            p.poll(0)
    assert p.flush(30) == 0


def count_records(bootstrap):
    """Records of every partition, read without a group (a group would create
    __consumer_offsets, which this tight limit leaves no room for)."""
    c = kafka.KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                            enable_auto_commit=False)
    c.assign([kafka.TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
    c.seek_to_beginning()
    got = 0
    deadline = time.time() + 30
    while got < RECORDS and time.time() < deadline:
        got += sum(len(batch) for batch in c.poll(timeout_ms=500).values())
    c.close()
    return got


def main():
    config = {"num.partitions": str(PARTITIONS), "log.segment.bytes": "16384"}
    with Broker(config=config) as b:
        produce(b.bootstrap)
        segments = sum(len([f for f in os.listdir(os.path.join(b.data_dir, d)) if f.endswith(".log")])
                       for d in os.listdir(b.data_dir) if d.startswith(TOPIC))
        assert b.stop() == 0
        print("%d records in %d segments" % (RECORDS, segments))

        b.max_open_files = 150
        b.start(wait=False)
        rc = b.proc.wait(30)
        out = b.output()
        assert rc != 0, "eddy started with %d segments under a limit of 150 open files" % segments
        assert "Too many open files" in out and "ulimit -n" in out, out[-2000:]
        print("under 150 open files: refused to start (exit %d), naming ulimit -n" % rc)

        b.max_open_files = segments + 80
        b.start()
        got = count_records(b.bootstrap)
        assert got == RECORDS, "read %d of %d records" % (got, RECORDS)
        assert "open files in use after loading the logs" in b.output(), b.output()[-2000:]
        print("under %d open files: started with a warning, all %d records served" % (segments + 80, got))
    return 0


if __name__ == "__main__":
    sys.exit(main())
