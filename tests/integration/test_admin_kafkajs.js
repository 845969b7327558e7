// test_admin_kafkajs.js - admin APIs through kafkajs 2.2.4's admin client:
// createTopics (configs, validateOnly, refusals), describeConfigs with
// synonyms, alterConfigs, createPartitions, deleteTopicRecords, deleteTopics;
// then SIGKILL and restart on the same data dir: topics and configs survive,
// the deleted topic stays gone and can be created again.
'use strict'
const path = require('path')
const fs = require('fs')
const os = require('os')
const net = require('net')
const assert = require('assert')
const { spawn } = require('child_process')
const { Kafka, logLevel, ConfigResourceTypes } = require(path.join(__dirname, '../js/node_modules/kafkajs'))

const ROOT = path.join(__dirname, '..', '..')
const EDDY_BIN = process.env.EDDY_BIN || path.join(ROOT, 'build', 'eddy')
let checks = 0

function check (cond, what) {
  checks++
  assert.ok(cond, what)
  console.log(`ok: ${what}`)
}

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

// One broker on a fixed port and data dir that can be killed and restarted.
class Broker {
  constructor (port) {
    this.port = port
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-js-admin-'))
    this.config = path.join(this.dir, 'server.properties')
    this.logPath = path.join(this.dir, 'eddy.log')
    fs.writeFileSync(this.config, [
      'node.id=1',
      `listeners=PLAINTEXT://127.0.0.1:${port}`,
      `log.dirs=${path.join(this.dir, 'data')}`,
      'num.partitions=1'
    ].join('\n') + '\n')
    this.bootstrap = `127.0.0.1:${port}`
  }

  async start () {
    const log = fs.openSync(this.logPath, 'a')
    this.proc = spawn(EDDY_BIN, ['server', this.config], { stdio: ['ignore', log, log] })
    this.exited = null
    this.proc.on('exit', (code, signal) => { this.exited = { code, signal } })
    const deadline = Date.now() + 30000
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`eddy exited ${JSON.stringify(this.exited)}:\n${this.output()}`)
      if (await canConnect(this.port)) return
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    throw new Error('eddy did not start')
  }

  output () { return fs.readFileSync(this.logPath, 'utf8') }

  stop (signal) {
    return new Promise(resolve => {
      if (this.exited) return resolve(this.exited)
      this.proc.on('exit', (code, sig) => resolve({ code, signal: sig }))
      this.proc.kill(signal)
    })
  }
}

function client (broker) {
  return new Kafka({
    clientId: 'eddy-admin-js',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 }
  })
}

async function createError (admin, topic) {
  try {
    await admin.createTopics({ topics: [topic] })
    return null
  } catch (e) {
    const inner = e.errors && e.errors[0] ? e.errors[0] : e
    return inner.type || e.type || e.message
  }
}

async function topicConfigs (admin, name) {
  const res = await admin.describeConfigs({
    includeSynonyms: true,
    resources: [{ type: ConfigResourceTypes.TOPIC, name }]
  })
  const out = {}
  for (const e of res.resources[0].configEntries) out[e.configName] = e
  return out
}

async function main () {
  const broker = new Broker(await freePort())
  await broker.start()
  let ok = false
  try {
    let kafka = client(broker)
    let admin = kafka.admin()
    await admin.connect()

    const created = await admin.createTopics({
      topics: [{ topic: 'events', numPartitions: 2, replicationFactor: 1,
        configEntries: [{ name: 'retention.ms', value: '120000' }, { name: 'cleanup.policy', value: 'compact' }] }]
    })
    check(created === true, 'events created (CreateTopics v3)')
    check(await admin.createTopics({ topics: [{ topic: 'events' }] }) === false, 'second create returns false (TOPIC_ALREADY_EXISTS)')
    check(await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: 'dry', numPartitions: 3 }] }) === true,
      'validateOnly accepted')
    check(!(await admin.listTopics()).includes('dry'), 'validateOnly created nothing')
    check(await createError(admin, { topic: 'no spaces', numPartitions: 1 }) === 'INVALID_TOPIC_EXCEPTION', 'illegal name')
    check(await createError(admin, { topic: 'rf3', numPartitions: 1, replicationFactor: 3 }) === 'INVALID_REPLICATION_FACTOR',
      'replication factor 3 on one broker')
    check(await createError(admin, { topic: 'badcfg', configEntries: [{ name: 'segment.ms', value: '0' }] }) === 'INVALID_CONFIG',
      'segment.ms=0 refused')
    check(await createError(admin, { topic: 'bad.name', numPartitions: 1 }) === null, 'bad.name created')
    check(await createError(admin, { topic: 'bad_name', numPartitions: 1 }) === 'INVALID_TOPIC_EXCEPTION',
      "'.'/'_' collision refused")

    let cfg = await topicConfigs(admin, 'events')
    check(cfg['retention.ms'].configValue === '120000', 'retention.ms described')
    check(cfg['cleanup.policy'].configValue === 'compact', 'cleanup.policy described')
    check(cfg['retention.ms'].configSynonyms.length >= 2, 'synonyms listed')
    check(cfg['segment.bytes'].isDefault === true || cfg['segment.bytes'].configSource === 5, 'segment.bytes is a default')

    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'events', configEntries: [{ name: 'retention.ms', value: '360000' }, { name: 'cleanup.policy', value: 'delete' }] }]
    })
    cfg = await topicConfigs(admin, 'events')
    check(cfg['retention.ms'].configValue === '360000', 'retention.ms altered')
    let alterError = null
    try {
      await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'events', configEntries: [{ name: 'max.message.bytes', value: '-3' }] }] })
    } catch (e) { alterError = e.type || e.message }
    check(alterError === 'INVALID_CONFIG', 'max.message.bytes=-3 refused')

    const brokerCfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }] })
    const names = brokerCfg.resources[0].configEntries.map(e => e.configName)
    check(names.includes('log.retention.hours') && names.includes('num.partitions'), 'broker configs described')

    const loggers = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER_LOGGER, name: '1' }] })
    const levels = Object.fromEntries(loggers.resources[0].configEntries.map(e => [e.configName, e.configValue]))
    check(levels.root === 'INFO' && levels.net === 'INFO', `broker loggers described (KIP-412): ${JSON.stringify(levels)}`)
    let loggerAlterError = null
    try {
      await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.BROKER_LOGGER, name: '1', configEntries: [{ name: 'net', value: 'DEBUG' }] }] })
    } catch (e) { loggerAlterError = e.type || e.message }
    check(loggerAlterError === 'INVALID_REQUEST', 'legacy AlterConfigs of broker loggers refused, as Kafka refuses it')

    await admin.createPartitions({ topicPartitions: [{ topic: 'events', count: 3 }] })
    const md = await admin.fetchTopicMetadata({ topics: ['events'] })
    check(md.topics[0].partitions.length === 3, 'events grown to 3 partitions')

    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'events', messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `m${i}` })) })
    await producer.disconnect()
    await admin.deleteTopicRecords({ topic: 'events', partitions: [{ partition: 0, offset: '4' }] })
    const offsets = await admin.fetchTopicOffsets('events')
    const p0 = offsets.find(o => o.partition === 0)
    check(p0.low === '4' && p0.high === '10', `deleteTopicRecords moved the low watermark to 4 (${JSON.stringify(p0)})`)

    await admin.deleteTopics({ topics: ['bad.name'] })
    check(!(await admin.listTopics()).includes('bad.name'), 'bad.name deleted')
    await admin.disconnect()

    const killed = await broker.stop('SIGKILL')
    check(killed.signal === 'SIGKILL', 'broker killed with SIGKILL')
    await broker.start()
    kafka = client(broker)
    admin = kafka.admin()
    await admin.connect()
    const topics = await admin.listTopics()
    check(topics.includes('events') && !topics.includes('bad.name'), `topics after kill -9: ${topics}`)
    cfg = await topicConfigs(admin, 'events')
    check(cfg['retention.ms'].configValue === '360000', 'altered config survives kill -9')
    check(await createError(admin, { topic: 'bad_name', numPartitions: 1 }) === null, 'bad_name creatable once bad.name is gone')
    check(await createError(admin, { topic: 'bad.name', numPartitions: 1 }) === 'INVALID_TOPIC_EXCEPTION', 'and now bad.name collides')
    await admin.disconnect()
    ok = true
  } finally {
    const exit = await broker.stop('SIGTERM')
    if (!ok) console.log(`broker log (${broker.logPath}):\n${broker.output().slice(-5000)}`)
    assert.deepStrictEqual(exit, { code: 0, signal: null }, `eddy on SIGTERM: ${JSON.stringify(exit)}`)
    if (/AddressSanitizer|runtime error:|LeakSanitizer/.test(broker.output())) {
      throw new Error(`sanitizer report in broker log:\n${broker.output().slice(-6000)}`)
    }
    fs.rmSync(broker.dir, { recursive: true, force: true })
  }
  console.log(`${checks} checks passed`)
}

main().catch(e => {
  console.error(e)
  process.exit(1)
})
