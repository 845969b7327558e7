"""kafka-python end to end: for every compression codec, produce 100,000
records with keys, headers and CreateTime timestamps, read them all back and
check each one, in order; and the compressed codecs really compressed what
the broker stored. One topic per codec.

kafka-python is pure Python (60-300 us of client CPU per record produced and
consumed): ~30 s on two idle cores, much more on a busy machine; set
EDDY_KPY_RECORDS to change the count.
"""
import os
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from clients_common import (CODECS, Broker, Timer, check_compressed, check_record,
                            log_bytes, record_headers, record_key, record_timestamp,
                            record_value)

COUNT = int(os.environ.get("EDDY_KPY_RECORDS", "100000"))


def produce(bootstrap, topic, tag, codec):
    producer = KafkaProducer(bootstrap_servers=bootstrap,
                             compression_type=None if codec == "none" else codec,
                             linger_ms=20, batch_size=256 * 1024, acks=1,
                             max_request_size=4 * 1024 * 1024)
    futures = []
    for i in range(COUNT):
        futures.append(producer.send(topic, key=record_key(tag, i), value=record_value(tag, i),
                                     headers=record_headers(tag, i),
                                     timestamp_ms=record_timestamp(i)))
    producer.flush(60)
    for i, f in enumerate(futures):
        meta = f.get(0)
        assert meta.offset == i, "record %d acknowledged at offset %d" % (i, meta.offset)
    producer.close(10)


def consume_and_check(bootstrap, topic, tag):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             max_poll_records=20000, fetch_max_bytes=16 * 1024 * 1024,
                             max_partition_fetch_bytes=8 * 1024 * 1024)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    seen = 0
    deadline = time.time() + 60
    while seen < COUNT and time.time() < deadline:
        for records in consumer.poll(1000).values():
            for r in records:
                assert r.timestamp_type == 0, "timestamp type %d" % r.timestamp_type
                check_record(tag, seen, r.offset, r.key, r.value, r.headers, r.timestamp)
                seen += 1
    assert seen == COUNT, "read %d of %d records" % (seen, COUNT)
    assert not consumer.poll(300), "records past the end"
    consumer.close()


def run_codec(bootstrap, codec):
    topic = "kpy-" + codec
    with Timer("%s produce %d" % (codec, COUNT)):
        produce(bootstrap, topic, topic, codec)
    with Timer("%s consume+check" % codec):
        consume_and_check(bootstrap, topic, topic)


def main():
    with Broker() as broker:
        for codec in CODECS:
            run_codec(broker.bootstrap, codec)
        sizes = {codec: log_bytes(broker, "kpy-" + codec) for codec in CODECS}
        print("  log bytes per codec:", sizes)
        check_compressed(broker, sizes)
    print("PASS kafka-python: 5 codecs x %d records" % COUNT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
