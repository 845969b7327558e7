"""Many producers into the same partitions at once.

Four librdkafka producer processes (two idempotent, two plain acks=all, one
of each with lz4) each send 50,000 numbered records to the same 2-partition
topic at the same time. Every partition must then hold dense offsets, every
record of every producer exactly once, each producer's records in the order
it sent them, and each acknowledged at the offset that holds it.
"""
import os
import sys
import time

from clients_common import Broker, read_acks, start_crash_producer

TOPIC = "crowd"
PARTITIONS = 2
COUNT = 50_000
PRODUCERS = {
    "idem-none": {"enable.idempotence": True},
    "idem-lz4": {"enable.idempotence": True, "compression.type": "lz4"},
    "plain-none": {},
    "plain-lz4": {"compression.type": "lz4"},
}


def main():
    with Broker(config={"num.partitions": str(PARTITIONS)}) as broker:
        outs = {name: os.path.join(broker.tmp, "acks-%s.txt" % name) for name in PRODUCERS}
        start = time.time()
        procs = {name: start_crash_producer(broker.bootstrap, TOPIC, COUNT, PARTITIONS, 100_000,
                                            outs[name], dict(extra, _value_prefix=name + ":"))
                 for name, extra in PRODUCERS.items()}
        try:
            rcs = {name: p.wait(120) for name, p in procs.items()}
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
                    p.wait()
        assert all(rc == 0 for rc in rcs.values()), rcs
        print("  4 x %d records produced in %.1fs" % (COUNT, time.time() - start), flush=True)

        logs = {}
        for p in range(PARTITIONS):
            logs[p] = read_partition_log_raw(broker.bootstrap, p)
            offsets = [o for o, _ in logs[p]]
            assert offsets == list(range(len(offsets))), "partition %d: offsets not dense" % p
        for name in PRODUCERS:
            acks, errors, finished = read_acks(outs[name])
            assert finished and not errors, "%s: finished %s, errors %s" % (
                name, finished, errors[:3])
            for p in range(PARTITIONS):
                mine = [(o, int(v.split(b":")[1])) for o, v in logs[p]
                        if v.startswith(name.encode() + b":")]
                want = list(range(p, COUNT, PARTITIONS))
                assert [s for _, s in mine] == want, "%s p%d: %d records, want %d (%s)" % (
                    name, p, len(mine), len(want), "order" if len(mine) == len(want) else "count")
                held = dict(mine)
                for off, seq in acks.get(p, []):
                    assert held.get(off) == seq, "%s p%d: seq %d acknowledged at %d" % (
                        name, p, seq, off)
        total = sum(len(v) for v in logs.values())
        print("  %d records: each producer's complete, once, in order" % total)
    print("PASS many producers into the same partitions")
    return 0


def read_partition_log_raw(bootstrap, partition):
    """[(offset, value bytes)] of one partition."""
    import confluent_kafka as ck
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "verify",
                            "enable.auto.commit": False})
    low, high = consumer.get_watermark_offsets(ck.TopicPartition(TOPIC, partition), 10)
    consumer.assign([ck.TopicPartition(TOPIC, partition, low)])
    got = []
    deadline = time.time() + 60
    while len(got) < high - low and time.time() < deadline:
        for msg in consumer.consume(10000, 1.0):
            assert not msg.error(), msg.error()
            got.append((msg.offset(), msg.value()))
    consumer.close()
    return got


if __name__ == "__main__":
    sys.exit(main())
