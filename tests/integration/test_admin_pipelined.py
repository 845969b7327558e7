"""Admin requests in flight together: each is answered in order and sees what
the ones before it changed, while other clients keep being served.

Admin changes are fsynced by the metadata syncer thread and applied when it
reports (src/cluster/controller.h), so this checks the ordering that used to
come for free from doing everything on the event loop:
- one connection sends CreateTopics, the same CreateTopics again, DeleteTopics,
  CreateTopics (fewer partitions), CreatePartitions and IncrementalAlterConfigs
  without waiting for answers: they come back in order, the second create is
  refused as TOPIC_ALREADY_EXISTS, the topic made again has a new id, and the
  end state is what the sequence says;
- a Metadata request that auto-creates a topic, sent right behind a
  DeleteTopics of another topic it also asks about: the answer waits for the
  auto-creation, which queues behind the delete, so the deleted topic is
  answered gone (and not made again), the new one made;
- auto-created topics are answered once durable: kill -9 right after the
  answer keeps all 20 a request made, with their ids;
- four librdkafka admin clients create, grow, reconfigure and delete topics
  at once while a producer writes with acks=all: every call succeeds, the
  producer loses nothing, and after kill -9 and a restart the broker shows
  exactly the topics and configs that were acknowledged.
"""
import os
import struct
import sys
import threading
import time

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from foundation_wire import connect, recv_exact  # noqa: E402
from schema_codec import Schemas  # noqa: E402

SCHEMAS = Schemas()
TOPIC_ALREADY_EXISTS = 36
ZERO_ID = "00000000-0000-0000-0000-000000000000"
CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def create_body(name, partitions):
    topic = {"Name": name, "NumPartitions": partitions, "ReplicationFactor": 1, "Assignments": [], "Configs": []}
    return {"Topics": [topic], "timeoutMs": 5000, "validateOnly": False}


def pipelined_sequence(port):
    name = "pipelined"
    requests = [
        (19, 7, create_body(name, 3)),
        (19, 7, create_body(name, 3)),
        (20, 6, {"Topics": [{"Name": name, "TopicId": "00000000-0000-0000-0000-000000000000"}], "TimeoutMs": 5000}),
        (19, 7, create_body(name, 2)),
        (37, 3, {"Topics": [{"Name": name, "Count": 4, "Assignments": None}], "TimeoutMs": 5000,
                 "ValidateOnly": False}),
        (44, 1, {"Resources": [{"ResourceType": 2, "ResourceName": name,
                                "Configs": [{"Name": "retention.ms", "ConfigOperation": 0, "Value": "123456"}]}],
                 "ValidateOnly": False}),
    ]
    sock = connect(port)
    payload = b"".join(SCHEMAS.encode_request(key, version, body, 1000 + i)
                       for i, (key, version, body) in enumerate(requests))
    sock.sendall(payload)  # all of them before reading any answer
    answers = []
    for i, (key, version, _) in enumerate(requests):
        (size,) = struct.unpack(">i", recv_exact(sock, 4))
        header, resp = SCHEMAS.decode_response(key, version, recv_exact(sock, size))
        check(header["CorrelationId"] == 1000 + i, "pipelined answer %d comes in order" % i)
        answers.append(resp)
    first, again, deleted, remade, grown, altered = answers
    check(first["Topics"][0]["ErrorCode"] == 0, "first CreateTopics succeeds")
    check(again["Topics"][0]["ErrorCode"] == TOPIC_ALREADY_EXISTS,
          "the same CreateTopics right behind it sees the topic: TOPIC_ALREADY_EXISTS")
    check(deleted["Responses"][0]["ErrorCode"] == 0, "DeleteTopics behind them succeeds")
    check(remade["Topics"][0]["ErrorCode"] == 0 and remade["Topics"][0]["NumPartitions"] == 2,
          "CreateTopics after the delete makes the topic again (2 partitions)")
    check(remade["Topics"][0]["TopicId"] != first["Topics"][0]["TopicId"], "the topic made again has a new id")
    check(grown["Results"][0]["ErrorCode"] == 0, "CreatePartitions to 4 succeeds (it saw 2, not 3)")
    check(altered["Responses"][0]["ErrorCode"] == 0, "IncrementalAlterConfigs succeeds")
    meta = SCHEMAS.encode_request(3, 12, {"Topics": [{"TopicId": "00000000-0000-0000-0000-000000000000",
                                                      "Name": name}],
                                          "AllowAutoTopicCreation": False,
                                          "IncludeTopicAuthorizedOperations": False}, 2000)
    sock.sendall(meta)
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    _, resp = SCHEMAS.decode_response(3, 12, recv_exact(sock, size))
    t = resp["Topics"][0]
    check(t["ErrorCode"] == 0 and len(t["Partitions"]) == 4, "Metadata afterwards: 4 partitions")
    check(t["TopicId"] == remade["Topics"][0]["TopicId"], "Metadata afterwards: the new topic id")
    sock.close()


def metadata_v12(names, corr, auto_create):
    topics = [{"TopicId": "00000000-0000-0000-0000-000000000000", "Name": n} for n in names]
    return SCHEMAS.encode_request(3, 12, {"Topics": topics, "AllowAutoTopicCreation": auto_create,
                                          "IncludeTopicAuthorizedOperations": False}, corr)


def read_answer(sock, key, version):
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    return SCHEMAS.decode_response(key, version, recv_exact(sock, size))[1]


def auto_create_behind_delete(port):
    sock = connect(port)
    sock.sendall(SCHEMAS.encode_request(19, 7, create_body("doomed", 8), 3000))
    check(read_answer(sock, 19, 7)["Topics"][0]["ErrorCode"] == 0, "topic doomed made (8 partitions)")
    delete = SCHEMAS.encode_request(20, 6, {"Topics": [{"Name": "doomed", "TopicId": ZERO_ID}], "TimeoutMs": 5000},
                                    3001)
    sock.sendall(delete + metadata_v12(["doomed", "born-late"], 3002, True))
    check(read_answer(sock, 20, 6)["Responses"][0]["ErrorCode"] == 0, "DeleteTopics doomed succeeds")
    topics = {t["Name"]: t for t in read_answer(sock, 3, 12)["Topics"]}
    # The answer waits for the auto-creation, which queues behind the delete.
    check(topics["doomed"]["ErrorCode"] == 3,
          "Metadata behind the delete: doomed is gone, not made again (UNKNOWN_TOPIC_OR_PARTITION, got %d)"
          % topics["doomed"]["ErrorCode"])
    check(topics["born-late"]["ErrorCode"] == 0 and len(topics["born-late"]["Partitions"]) == 1,
          "Metadata behind the delete: born-late answered made, with num.partitions (1), got error %d"
          % topics["born-late"]["ErrorCode"])
    for attempt in range(100):
        sock.sendall(metadata_v12(["doomed", "born-late"], 3100 + attempt, False))
        topics = {t["Name"]: t for t in read_answer(sock, 3, 12)["Topics"]}
        if topics["born-late"]["ErrorCode"] == 0 and topics["born-late"]["Partitions"]:
            break
        time.sleep(0.05)
    check(topics["born-late"]["ErrorCode"] == 0 and len(topics["born-late"]["Partitions"]) == 1,
          "born-late exists afterwards with num.partitions (1)")
    check(topics["doomed"]["ErrorCode"] == 3, "doomed is gone afterwards (UNKNOWN_TOPIC_OR_PARTITION)")
    sock.close()


def auto_create_durable_at_answer(b):
    """Auto-created topics are answered once durable: kill -9 right after the
    answer keeps them. Two Metadata requests naming the same new topics,
    pipelined, get the same topics (one creation)."""
    names = ["auto-%02d" % i for i in range(20)]
    sock = connect(b.port)
    sock.sendall(metadata_v12(names, 4000, True) + metadata_v12(names[:5] + ["auto-extra"], 4001, True))
    first = {t["Name"]: t for t in read_answer(sock, 3, 12)["Topics"]}
    second = {t["Name"]: t for t in read_answer(sock, 3, 12)["Topics"]}
    sock.close()
    check(all(first[n]["ErrorCode"] == 0 and len(first[n]["Partitions"]) == 1 for n in names),
          "one Metadata request auto-creates 20 topics, all answered made")
    check(all(second[n]["TopicId"] == first[n]["TopicId"] for n in names[:5]) and
          second["auto-extra"]["ErrorCode"] == 0, "a second request right behind sees the same topics")
    b.kill9()
    b.start()
    sock = connect(b.port)
    sock.sendall(metadata_v12(names + ["auto-extra"], 4002, False))
    after = {t["Name"]: t for t in read_answer(sock, 3, 12)["Topics"]}
    sock.close()
    check(all(after[n]["ErrorCode"] == 0 and after[n]["TopicId"] == first[n]["TopicId"] for n in names) and
          after["auto-extra"]["ErrorCode"] == 0,
          "kill -9 right after the answers: every auto-created topic is there, with its id")


def admin_worker(bootstrap, index, errors):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        names = ["conc-%d-%d" % (index, i) for i in range(6)]
        for f in admin.create_topics([NewTopic(n, 2, 1) for n in names], operation_timeout=30).values():
            f.result()
        for f in admin.create_partitions([NewPartitions(names[0], 5)]).values():
            f.result()
        res = ConfigResource("topic", names[1], set_config={"retention.ms": str(60000 + index)})
        for f in admin.alter_configs([res]).values():
            f.result()
        for f in admin.delete_topics(names[3:], operation_timeout=30).values():
            f.result()
        for f in admin.create_topics([NewTopic(names[5], 3, 1)], operation_timeout=30).values():
            f.result()
    except Exception as e:  # noqa: BLE001 (reported by the main thread)
        errors.append("admin %d: %r" % (index, e))


def producer_worker(bootstrap, stop, acked, errors):
    p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 1})

    def on_delivery(err, msg):
        if err:
            errors.append("producer: %s" % err)
        else:
            acked.append(int(msg.value()))

    i = 0
    while not stop.is_set():
        p.produce("steady", value=b"%d" % i, on_delivery=on_delivery)
        i += 1
        p.poll(0.001 if i % 50 else 0.005)
    p.flush(30)


def topic_shapes(admin):
    md = admin.list_topics(timeout=10)
    return {n: len(t.partitions) for n, t in md.topics.items() if n.startswith("conc-")}


def concurrent_clients(b):
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    for f in admin.create_topics([NewTopic("steady", 1, 1)]).values():
        f.result()
    stop, acked, errors = threading.Event(), [], []
    producer = threading.Thread(target=producer_worker, args=(b.bootstrap, stop, acked, errors))
    producer.start()
    workers = [threading.Thread(target=admin_worker, args=(b.bootstrap, i, errors)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    for _ in range(1000):  # a few hundred records on either side of the admin calls
        if len(acked) >= 500:
            break
        threading.Event().wait(0.01)
    stop.set()
    producer.join(60)
    check(not errors, "four admin clients and a producer at once: no error (%s)" % errors[:3])
    expected = {}
    for i in range(4):
        expected["conc-%d-0" % i] = 5
        expected["conc-%d-1" % i] = 2
        expected["conc-%d-2" % i] = 2
        expected["conc-%d-5" % i] = 3
    check(topic_shapes(admin) == expected, "the topics are what the acknowledged calls made")
    check(len(acked) >= 500, "the producer was served (%d acks)" % len(acked))

    b.kill9()
    b.start()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    check(topic_shapes(admin) == expected, "after kill -9: the same topics and partition counts")
    for i in range(4):
        res = ConfigResource("topic", "conc-%d-1" % i)
        cfg = list(admin.describe_configs([res]).values())[0].result()
        check(cfg["retention.ms"].value == str(60000 + i), "after kill -9: conc-%d-1 keeps its retention.ms" % i)
    c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "pipelined-check", "auto.offset.reset": "earliest",
                     "enable.auto.commit": False})
    c.assign([ck.TopicPartition("steady", 0, 0)])
    seen = set()
    while len(seen) < len(set(acked)):
        m = c.poll(10)
        if m is None:
            break
        if not m.error():
            seen.add(int(m.value()))
    c.close()
    check(set(acked) <= seen, "after kill -9: every acknowledged record of the producer is there")


def main():
    with Broker() as b:
        pipelined_sequence(b.port)
        auto_create_behind_delete(b.port)
        auto_create_durable_at_answer(b)
        concurrent_clients(b)
    print("%d checks passed" % CHECKS)


if __name__ == "__main__":
    main()
