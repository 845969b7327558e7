// test_foundation_metadata.js - what a kafkajs user sees of a fresh broker.
//
// Starts build/eddy ($EDDY_BIN) on a free loopback port with num.partitions=3,
// auto-creates a topic through kcat, then checks kafkajs' admin calls:
// describeCluster (broker, controller, cluster id), fetchTopicMetadata for one
// topic and for all, listTopics, and that the admin (which never asks for
// auto-creation) gets an error for an unknown topic without creating it.
// Ends with SIGTERM and expects exit code 0.
'use strict'
const path = require('path')
const fs = require('fs')
const os = require('os')
const net = require('net')
const assert = require('assert')
const { spawn, spawnSync } = require('child_process')
const { Kafka, logLevel } = require(path.join(__dirname, '../js/node_modules/kafkajs'))

const ROOT = path.join(__dirname, '..', '..')
const EDDY_BIN = process.env.EDDY_BIN || path.join(ROOT, 'build', 'eddy')
const PARTITIONS = 3

function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port
      srv.close(() => resolve(port))
    })
  })
}

function canConnect (port) {
  return new Promise(resolve => {
    const sock = net.connect(port, '127.0.0.1')
    sock.on('connect', () => { sock.destroy(); resolve(true) })
    sock.on('error', () => resolve(false))
  })
}

async function startBroker () {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-js-'))
  const config = path.join(dir, 'server.properties')
  fs.writeFileSync(config, [
    'node.id=1',
    'process.roles=broker,controller',
    `listeners=PLAINTEXT://127.0.0.1:${port}`,
    `log.dirs=${path.join(dir, 'data')}`,
    `num.partitions=${PARTITIONS}`
  ].join('\n') + '\n')
  const logPath = path.join(dir, 'eddy.log')
  const log = fs.openSync(logPath, 'a')
  const proc = spawn(EDDY_BIN, ['server', config], { stdio: ['ignore', log, log] })
  let exited = null
  proc.on('exit', (code, signal) => { exited = { code, signal } })
  const deadline = Date.now() + 30000
  while (Date.now() < deadline) {
    if (exited) throw new Error(`eddy exited ${JSON.stringify(exited)}:\n${fs.readFileSync(logPath, 'utf8')}`)
    if (await canConnect(port)) break
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return {
    port,
    dir,
    logPath,
    bootstrap: `127.0.0.1:${port}`,
    output: () => fs.readFileSync(logPath, 'utf8'),
    stop: () => new Promise(resolve => {
      if (exited) return resolve(exited)
      proc.on('exit', (code, signal) => resolve({ code, signal }))
      proc.kill('SIGTERM')
    })
  }
}

async function main () {
  const broker = await startBroker()
  let ok = false
  try {
    const kcat = spawnSync('kcat', ['-L', '-b', broker.bootstrap, '-t', 'js-topic'], { encoding: 'utf8', timeout: 60000 })
    assert.strictEqual(kcat.status, 0, `kcat failed: ${kcat.stderr}`)

    const kafka = new Kafka({
      clientId: 'eddy-foundation-js',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100 }
    })
    const admin = kafka.admin()
    await admin.connect()

    const cluster = await admin.describeCluster()
    assert.deepStrictEqual(cluster.brokers, [{ nodeId: 1, host: '127.0.0.1', port: broker.port }])
    assert.strictEqual(cluster.controller, 1)
    assert.ok(cluster.clusterId, `describeCluster has no cluster id: ${JSON.stringify(cluster)}`)
    console.log(`kafkajs describeCluster: ${JSON.stringify(cluster)}`)

    const one = await admin.fetchTopicMetadata({ topics: ['js-topic'] })
    assert.strictEqual(one.topics.length, 1)
    assert.strictEqual(one.topics[0].name, 'js-topic')
    const parts = one.topics[0].partitions.slice().sort((a, b) => a.partitionId - b.partitionId)
    assert.deepStrictEqual(parts.map(p => p.partitionId), [...Array(PARTITIONS).keys()])
    for (const p of parts) {
      assert.strictEqual(p.partitionErrorCode, 0)
      assert.strictEqual(p.leader, 1)
      assert.deepStrictEqual(p.replicas, [1])
      assert.deepStrictEqual(p.isr, [1])
    }
    console.log(`kafkajs fetchTopicMetadata(js-topic): ${PARTITIONS} partitions led by 1`)

    const all = await admin.fetchTopicMetadata()
    assert.ok(all.topics.some(t => t.name === 'js-topic'), JSON.stringify(all))
    const userTopics = async () => (await admin.listTopics()).filter(name => !name.startsWith('__'))
    const listed = await userTopics()
    assert.deepStrictEqual(listed, ['js-topic'])
    console.log(`kafkajs fetchTopicMetadata() and listTopics(): ${JSON.stringify(listed)}`)

    let error = null
    try {
      await admin.fetchTopicMetadata({ topics: ['never-made'] })
    } catch (e) {
      error = e
    }
    assert.ok(error, 'fetchTopicMetadata of an unknown topic succeeded')
    assert.ok(/does not host this topic-partition/.test(error.message) || error.type === 'UNKNOWN_TOPIC_OR_PARTITION',
      `unexpected error: ${error.type} ${error.message}`)
    assert.deepStrictEqual(await userTopics(), ['js-topic'])
    console.log(`kafkajs admin on an unknown topic: ${error.type || error.message}; not created`)

    await admin.disconnect()
    ok = true
  } finally {
    const exit = await broker.stop()
    if (!ok) console.log(`broker log (${broker.logPath}):\n${broker.output().slice(-4000)}`)
    assert.deepStrictEqual(exit, { code: 0, signal: null }, `eddy on SIGTERM: ${JSON.stringify(exit)}`)
    if (/AddressSanitizer|runtime error:|LeakSanitizer/.test(broker.output())) {
      throw new Error(`sanitizer report in broker log:\n${broker.output().slice(-6000)}`)
    }
    fs.rmSync(broker.dir, { recursive: true, force: true })
  }
  console.log('OK')
}

main().catch(e => {
  console.error(e)
  process.exit(1)
})
