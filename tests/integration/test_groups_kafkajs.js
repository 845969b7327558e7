// Consumer groups with kafkajs: the scenario of test_groups_clients.py (three
// consumers under a steady producer, a clean leave, a kill -9, a broker
// restart) with kafkajs consumers.
//
//   node test_groups_kafkajs.js                       runs the test (the Python
//                                                     orchestrator drives it)
//   node test_groups_kafkajs.js consumer <bootstrap> <topic> <group> <log>
//                                                     one consumer process
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

async function consumer(bootstrap, topic, group, logPath) {
  const { Kafka, logLevel } = require(path.join(__dirname, '../js/node_modules/kafkajs'));
  const kafka = new Kafka({ clientId: 'kafkajs-group-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const c = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 10000,
                             metadataMaxAge: 1000 });
  const log = fs.openSync(logPath, 'a');
  const now = () => (Date.now() / 1000).toFixed(6);
  let stopping = false;
  process.on('SIGTERM', async () => {
    if (stopping) return;
    stopping = true;
    try { await c.disconnect(); } catch (e) { /* leaving anyway */ }
    fs.writeSync(log, `X ${now()}\n`);
    process.exit(0);
  });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (stopping) return;
      fs.writeSync(log, `R ${now()} ${partition} ${message.offset} ${message.value.toString()}\n`);
      const next = (BigInt(message.offset) + 1n).toString();
      try {
        await c.commitOffsets([{ topic, partition, offset: next }]);
        fs.writeSync(log, `C ${now()} ${partition} ${next}\n`);
      } catch (e) {
        // a rebalance: the new owner may process the record again
      }
    },
  });
}

if (process.argv[2] === 'consumer') {
  consumer(...process.argv.slice(3, 7)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, 'test_groups_clients.py'), 'kafkajs'],
                      { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}
