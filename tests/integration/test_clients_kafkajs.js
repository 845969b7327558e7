// kafkajs end to end: for every compression codec, produce 100,000 records
// with keys, headers and CreateTime timestamps, plus 10,000 with an
// idempotent producer (InitProducerId, sequenced batches, gzip); then one
// consumer group subscribed to all six topics reads everything back and
// checks each record, in order per topic.
//
// Codecs: gzip is built into kafkajs; snappy and lz4 come from the
// kafkajs-snappy and kafkajs-lz4 packages; zstd has no working kafkajs codec
// package on Node 20 (@kafkajs/zstd needs cppzst, which no longer compiles),
// so a four-line codec over @mongodb-js/zstd (prebuilt N-API binary) is
// registered instead.
//
// Starts its own broker ($EDDY_BIN, default build/eddy) on a free loopback
// port with a temporary data dir, like tests/integration/harness.py does.
'use strict'
const path = require('path')
const fs = require('fs')
const os = require('os')
const net = require('net')
const { spawn } = require('child_process')

const modules = path.join(__dirname, '../js/node_modules')
const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = require(path.join(modules, 'kafkajs'))
const SnappyCodec = require(path.join(modules, 'kafkajs-snappy'))
const LZ4Codec = require(path.join(modules, 'kafkajs-lz4'))
const zstd = require(path.join(modules, '@mongodb-js/zstd'))

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: async encoder => zstd.compress(encoder.buffer),
  decompress: async buffer => zstd.decompress(buffer),
})

const ROOT = path.join(__dirname, '../..')
const EDDY_BIN = process.env.EDDY_BIN || path.join(ROOT, 'build', 'eddy')
// kafkajs spends ~100-250 us of CPU per record produced and consumed: 100,000
// per codec takes ~40 s on two idle cores (EDDY_KAFKAJS_RECORDS to change).
const COUNT = Number(process.env.EDDY_KAFKAJS_RECORDS || 100000)
const IDEMPOTENT_COUNT = 10000
const CHUNK = 2000 // records per send() call: one batch per call
const BASE_TS = 1700000000000
const FILLER = 'abcdefghij'.repeat(6)
const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

// ---- broker process ----
function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
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
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-kafkajs-'))
  const config = path.join(tmp, 'server.properties')
  fs.writeFileSync(config, [
    'node.id=1',
    'process.roles=broker,controller',
    `listeners=PLAINTEXT://127.0.0.1:${port}`,
    `log.dirs=${path.join(tmp, 'data')}`,
    'num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
  ].join('\n') + '\n')
  const logPath = path.join(tmp, 'eddy.log')
  const logFd = fs.openSync(logPath, 'a')
  const proc = spawn(EDDY_BIN, ['server', config], { stdio: ['ignore', logFd, logFd] })
  let exited = null
  proc.on('exit', code => { exited = code })
  const deadline = Date.now() + 30000
  while (!(await canConnect(port))) {
    if (exited !== null) throw new Error(`eddy exited ${exited}:\n${fs.readFileSync(logPath, 'utf8')}`)
    if (Date.now() > deadline) throw new Error('eddy did not listen')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return {
    bootstrap: `127.0.0.1:${port}`,
    dataDir: path.join(tmp, 'data'),
    log: () => fs.readFileSync(logPath, 'utf8'),
    stop: () => new Promise((resolve, reject) => {
      if (exited !== null) return resolve(exited)
      const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('eddy ignored SIGTERM')) }, 30000)
      proc.on('exit', code => { clearTimeout(timer); resolve(code) })
      proc.kill('SIGTERM')
    }),
    cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }),
  }
}

// ---- records ----
const pad = i => String(i).padStart(6, '0')
const recordKey = (tag, i) => `${tag}-key-${pad(i)}`
const recordValue = (tag, i) => `${tag}-value-${pad(i)}-` + FILLER.slice(0, i % 60)

function makeMessage (tag, i) {
  return {
    key: recordKey(tag, i),
    value: recordValue(tag, i),
    headers: { seq: String(i), run: tag },
    timestamp: String(BASE_TS + i),
  }
}

function checkMessage (tag, i, m) {
  const where = `${tag} record ${i}`
  if (m.offset !== String(i)) throw new Error(`${where} read at offset ${m.offset}`)
  if (m.key.toString() !== recordKey(tag, i)) throw new Error(`${where}: key ${m.key}`)
  if (m.value.toString() !== recordValue(tag, i)) throw new Error(`${where}: value ${m.value}`)
  const h = m.headers || {}
  const names = Object.keys(h)
  if (names.length !== 2 || String(h.seq) !== String(i) || String(h.run) !== tag) {
    throw new Error(`${where}: headers ${JSON.stringify(Object.fromEntries(names.map(k => [k, String(h[k])])))}`)
  }
  if (m.timestamp !== String(BASE_TS + i)) throw new Error(`${where}: timestamp ${m.timestamp}`)
}

function logBytes (dataDir, topic) {
  const dir = path.join(dataDir, `${topic}-0`)
  return fs.readdirSync(dir).filter(f => f.endsWith('.log'))
    .reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0)
}

// ---- the test ----
async function produceAll (kafka, topic, compression, count, idempotent = false) {
  const producer = kafka.producer({ allowAutoTopicCreation: true, idempotent, maxInFlightRequests: idempotent ? 1 : null })
  await producer.connect()
  for (let start = 0; start < count; start += CHUNK) {
    const messages = []
    for (let i = start; i < Math.min(count, start + CHUNK); i++) messages.push(makeMessage(topic, i))
    const [meta] = await producer.send({ topic, compression, acks: -1, messages })
    if (meta.errorCode !== 0 || meta.baseOffset !== String(start)) {
      throw new Error(`${topic}: send at ${start} got ${JSON.stringify(meta)}`)
    }
  }
  await producer.disconnect()
}

async function consumeAll (kafka, counts) {
  const topics = Object.keys(counts)
  const consumer = kafka.consumer({ groupId: 'kafkajs-check', maxBytes: 16 << 20 })
  const next = Object.fromEntries(topics.map(t => [t, 0]))
  let failure = null
  let resolveDone
  const done = new Promise(resolve => { resolveDone = resolve })
  const finished = () => topics.every(t => next[t] === counts[t])
  await consumer.connect()
  await consumer.subscribe({ topics, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      try {
        for (const m of batch.messages) {
          if (next[batch.topic] >= counts[batch.topic]) throw new Error(`${batch.topic}: record past the end at ${m.offset}`)
          checkMessage(batch.topic, next[batch.topic]++, m)
        }
      } catch (e) {
        failure = failure || e
      }
      if (failure || finished()) resolveDone()
    },
  })
  const timeout = setTimeout(() => {
    failure = failure || new Error(`timed out: read ${JSON.stringify(next)}`)
    resolveDone()
  }, 60000)
  await done
  clearTimeout(timeout)
  await consumer.disconnect()
  if (failure) throw failure
}

async function main () {
  const broker = await startBroker()
  let ok = false
  try {
    const kafka = new Kafka({ clientId: 'eddy-e2e', brokers: [broker.bootstrap], logLevel: logLevel.ERROR })
    const counts = {}
    for (const [name, type] of Object.entries(CODECS)) {
      const topic = `kjs-${name}`
      const t0 = Date.now()
      await produceAll(kafka, topic, type, COUNT)
      console.log(`  ${name} produce ${COUNT}: ${((Date.now() - t0) / 1000).toFixed(2)}s`)
      counts[topic] = COUNT
    }
    let t0 = Date.now()
    await produceAll(kafka, 'kjs-idempotent', CompressionTypes.GZIP, IDEMPOTENT_COUNT, true)
    console.log(`  idempotent gzip produce ${IDEMPOTENT_COUNT}: ${((Date.now() - t0) / 1000).toFixed(2)}s`)
    counts['kjs-idempotent'] = IDEMPOTENT_COUNT
    t0 = Date.now()
    await consumeAll(kafka, counts)
    console.log(`  consume+check all: ${((Date.now() - t0) / 1000).toFixed(2)}s`)
    const sizes = Object.fromEntries(Object.keys(CODECS).map(c => [c, logBytes(broker.dataDir, `kjs-${c}`)]))
    console.log('  log bytes per codec:', JSON.stringify(sizes))
    // The idempotent producer's batches carry a producer id (bytes 43-50 of a batch).
    const idemDir = path.join(broker.dataDir, 'kjs-idempotent-0')
    const segment = fs.readdirSync(idemDir).filter(f => f.endsWith('.log')).sort()[0]
    const producerId = fs.readFileSync(path.join(idemDir, segment)).readBigInt64BE(43)
    if (producerId < 0n) throw new Error(`idempotent batch has producer id ${producerId}`)
    for (const c of Object.keys(CODECS)) {
      if (c !== 'none' && sizes[c] > sizes.none / 2) throw new Error(`${c} log is ${sizes[c]} bytes vs ${sizes.none}: codec not used?`)
    }
    ok = true
  } finally {
    const code = await broker.stop()
    const log = broker.log()
    if (!ok) console.log(`broker log:\n${log.slice(-6000)}`)
    if (ok && code !== 0) { ok = false; console.log(`eddy exited ${code} on SIGTERM:\n${log.slice(-4000)}`) }
    if (ok && /AddressSanitizer|runtime error:|LeakSanitizer/.test(log)) { ok = false; console.log(`sanitizer report:\n${log.slice(-6000)}`) }
    if (ok) broker.cleanup()
  }
  if (!ok) process.exit(1)
  console.log(`PASS kafkajs: 5 codecs x ${COUNT} records, ${IDEMPOTENT_COUNT} idempotent`)
}

main().catch(e => { console.error(e); process.exit(1) })
