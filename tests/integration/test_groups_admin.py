"""Group administration with real admin clients.

kafka-python's KafkaAdminClient (list_consumer_groups, describe_consumer_groups,
list_consumer_group_offsets, delete_consumer_groups) and librdkafka's
AdminClient.list_groups (ListGroups + DescribeGroups) and its newer
ListConsumerGroups (build/itest/list_consumer_groups) against a group with a
live librdkafka consumer, then after it left.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EDDY_BUILD, Broker, check  # noqa: E402


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def main():
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    from kafka import KafkaAdminClient
    from kafka.structs import TopicPartition as KTopicPartition

    with Broker(config={"group.initial.rebalance.delay.ms": "0"}) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        for f in admin.create_topics([NewTopic("adm", num_partitions=3, replication_factor=1)]).values():
            f.result(30)
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(30):
            p.produce("adm", value=b"v%d" % i, partition=i % 3)
        p.flush(30)

        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "adm-group", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "client.id": "adm-consumer"})
        c.subscribe(["adm"])
        got = 0
        deadline = time.time() + 30
        while got < 30 and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got += 1
        check(got == 30, "consumer read all 30 records")
        c.commit(offsets=[TopicPartition("adm", p, 10) for p in range(3)], asynchronous=False)

        kadmin = KafkaAdminClient(bootstrap_servers=b.bootstrap, api_version_auto_timeout_ms=10000)
        groups = kadmin.list_consumer_groups()
        check(("adm-group", "consumer") in groups, "kafka-python list_consumer_groups")
        desc = kadmin.describe_consumer_groups(["adm-group"])[0]
        check(desc.state == "Stable" and desc.protocol_type == "consumer" and len(desc.members) == 1,
              "kafka-python describe_consumer_groups: Stable with one member")
        member = desc.members[0]
        check(member.client_id == "adm-consumer" and member.client_host == "/127.0.0.1",
              "member client id and host")
        topic, partitions = member.member_assignment.assignment[0]
        check(topic == "adm" and sorted(partitions) == [0, 1, 2], "member assignment decodes as the consumer protocol")
        offsets = kadmin.list_consumer_group_offsets("adm-group")
        check({tp.partition: om.offset for tp, om in offsets.items()} == {0: 10, 1: 10, 2: 10},
              "kafka-python list_consumer_group_offsets")
        only = kadmin.list_consumer_group_offsets("adm-group", partitions=[KTopicPartition("adm", 1)])
        check(list(only.values())[0].offset == 10, "offsets of chosen partitions")

        lg = admin.list_groups("adm-group", timeout=10)
        check(len(lg) == 1 and lg[0].state == "Stable" and lg[0].protocol == "range" and len(lg[0].members) == 1,
              "librdkafka list_groups (ListGroups + DescribeGroups)")
        out = subprocess.run([os.path.join(EDDY_BUILD, "itest", "list_consumer_groups"), b.bootstrap],
                             capture_output=True, text=True, timeout=60)
        check(out.returncode == 0 and "adm-group\tStable" in out.stdout.splitlines(),
              "librdkafka ListConsumerGroups (ListGroups v4 with a states filter): %r %r" % (
                  out.stdout, out.stderr))

        res = kadmin.delete_consumer_groups(["adm-group"])
        check(res[0][1].errno == 68, "deleting a live group fails with NON_EMPTY_GROUP")
        c.close()
        wait_for(lambda: kadmin.describe_consumer_groups(["adm-group"])[0].state == "Empty", 15,
                 "the group to become Empty after the consumer closed")
        res = kadmin.delete_consumer_groups(["adm-group"])
        check(res[0][1].errno == 0, "kafka-python delete_consumer_groups of an empty group")
        check(("adm-group", "consumer") not in kadmin.list_consumer_groups(), "deleted group is not listed")
        check(not kadmin.list_consumer_group_offsets("adm-group"), "deleted group has no offsets")
        kadmin.close()
    print("PASS")


if __name__ == "__main__":
    main()
