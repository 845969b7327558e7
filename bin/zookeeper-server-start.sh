#!/bin/sh
# zookeeper-server-start.sh - kept for users following an older Kafka guide.
# Eddy needs no ZooKeeper: its built-in KRaft-style controller holds the
# cluster metadata, so there is nothing to start.
echo "Eddy does not use ZooKeeper: the broker runs its own KRaft-style controller."
echo "Start the broker directly: bin/kafka-server-start.sh config/server.properties"
exit 0
