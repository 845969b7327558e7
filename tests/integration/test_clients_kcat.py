"""kcat end to end: for every compression codec, pipe 100,000 key<TAB>value
lines into `kcat -P` with fixed headers, read them back with `kcat -C -e`
and check each record, in order: offset, key, value, headers, and a
CreateTime timestamp taken while the producer ran (kcat cannot set
per-record timestamps), never going backwards. Segments are 1 MiB, so
reads cross many segment boundaries.
"""
import subprocess
import sys
import time

from clients_common import (CODECS, Broker, Timer, check_compressed, log_bytes,
                            record_key, record_value, segment_count)

COUNT = 100_000
HEADERS = [("origin", "kcat"), ("kind", "e2e")]


def produce(bootstrap, topic, codec):
    lines = b"".join(record_key(topic, i) + b"\t" + record_value(topic, i) + b"\n"
                     for i in range(COUNT))
    cmd = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-K", "\t",
           "-X", "compression.codec=" + codec, "-X", "linger.ms=20",
           "-X", "acks=all", "-X", "batch.num.messages=10000"]
    for name, value in HEADERS:
        cmd += ["-H", "%s=%s" % (name, value)]
    res = subprocess.run(cmd, input=lines, capture_output=True, timeout=60)
    assert res.returncode == 0, "kcat -P exited %d: %s" % (res.returncode, res.stderr[-2000:])


def consume_and_check(bootstrap, topic, t_start_ms, t_end_ms):
    cmd = ["kcat", "-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e",
           "-q", "-f", "%o\\t%k\\t%s\\t%T\\t%h\\n"]
    res = subprocess.run(cmd, capture_output=True, timeout=60)
    assert res.returncode == 0, "kcat -C exited %d: %s" % (res.returncode, res.stderr[-2000:])
    lines = res.stdout.split(b"\n")
    assert lines[-1] == b"", "output does not end with a newline"
    lines = lines[:-1]
    assert len(lines) == COUNT, "read %d of %d records" % (len(lines), COUNT)
    want_headers = ",".join("%s=%s" % h for h in HEADERS).encode()
    last_ts = 0
    for i, line in enumerate(lines):
        offset, key, value, ts, headers = line.split(b"\t")
        assert int(offset) == i, "record %d at offset %s" % (i, offset)
        assert key == record_key(topic, i), "offset %d: key %r" % (i, key)
        assert value == record_value(topic, i), "offset %d: value %r" % (i, value)
        assert headers == want_headers, "offset %d: headers %r" % (i, headers)
        ts = int(ts)
        assert t_start_ms <= ts <= t_end_ms, "offset %d: timestamp %d outside [%d, %d]" % (
            i, ts, t_start_ms, t_end_ms)
        assert ts >= last_ts, "offset %d: timestamp %d before %d" % (i, ts, last_ts)
        last_ts = ts


def main():
    with Broker(config={"log.segment.bytes": str(1 << 20)}) as broker:
        sizes = {}
        for codec in CODECS:
            topic = "kcat-" + codec
            t_start = int(time.time() * 1000)
            with Timer("%s produce %d" % (codec, COUNT)):
                produce(broker.bootstrap, topic, codec)
            t_end = int(time.time() * 1000)
            with Timer("%s consume+check" % codec):
                consume_and_check(broker.bootstrap, topic, t_start, t_end)
            sizes[codec] = log_bytes(broker, topic)
        print("  log bytes per codec:", sizes)
        check_compressed(broker, sizes)
        assert segment_count(broker, "kcat-none") >= 5, "segments did not roll"
    print("PASS kcat: 5 codecs x 100,000 records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
