// platformatic_check drives a broker with @platformatic/kafka, a pure
// JavaScript client written for Kafka 3.5-4.1: it speaks the newest request
// versions (Fetch v12-17 with topic ids, ListOffsets v9, JoinGroup v9,
// OffsetCommit v9, ConsumerGroupHeartbeat for KIP-848), which the other
// clients of the suite never send. tests/integration/test_clients_platformatic.py
// runs it; the package is pinned in tests/js/package.json.
//
// Usage: node platformatic_check.mjs BOOTSTRAP CHECK [COUNT]
//   roundtrip   per codec (none, gzip, snappy, lz4), COUNT records with keys,
//               headers and timestamps, read back and compared one by one
//   idempotent  the same through the idempotent producer (acks=all)
//   group       two members of a classic group share four partitions,
//               every record read once, offsets committed and listed
//   kip848      the same with the consumer group protocol (KIP-848)
//   admin       createTopics, metadata, listOffsets, describeGroups, deleteTopics
// zstd is not checked: this client compresses it with node:zlib's zstd, which
// Node 20 does not have.
import { Admin, Consumer, Producer } from '@platformatic/kafka'

const BASE_TS = 1700000000000n
const FILLER = 'abcdefghij'.repeat(6)
const [bootstrap, check, countArg] = process.argv.slice(2)
const brokers = [bootstrap]
const COUNT = Number(countArg || 10000)
const CHUNK = 1000

function fail (message) {
  console.error('FAIL: ' + message)
  process.exit(1)
}

const key = (tag, i) => Buffer.from(`${tag}-key-${String(i).padStart(6, '0')}`)
const value = (tag, i) => Buffer.from(`${tag}-value-${String(i).padStart(6, '0')}-` + FILLER.slice(0, i % 60))
const headers = (tag, i) => new Map([[Buffer.from('seq'), Buffer.from(String(i))], [Buffer.from('run'), Buffer.from(tag)]])

async function produce (topic, tag, count, options = {}) {
  const producer = new Producer({ clientId: 'platformatic-check', bootstrapBrokers: brokers, autocreateTopics: true, ...options })
  try {
    for (let start = 0; start < count; start += CHUNK) {
      const messages = []
      for (let i = start; i < Math.min(count, start + CHUNK); i++) {
        messages.push({ topic, partition: 0, key: key(tag, i), value: value(tag, i), headers: headers(tag, i), timestamp: BASE_TS + BigInt(i) })
      }
      await producer.send({ messages })
    }
  } finally {
    await producer.close()
  }
}

function checkMessage (tag, i, m) {
  if (m.offset !== BigInt(i)) fail(`${tag}: record ${i} read at offset ${m.offset}`)
  if (!m.key.equals(key(tag, i))) fail(`${tag}: offset ${i}: key ${m.key}`)
  if (!m.value.equals(value(tag, i))) fail(`${tag}: offset ${i}: value ${m.value}`)
  const got = [...m.headers].map(([k, v]) => `${k}=${v}`).join(',')
  const want = [...headers(tag, i)].map(([k, v]) => `${k}=${v}`).join(',')
  if (got !== want) fail(`${tag}: offset ${i}: headers ${got}, want ${want}`)
  if (m.timestamp !== BASE_TS + BigInt(i)) fail(`${tag}: offset ${i}: timestamp ${m.timestamp}`)
}

// Read a whole topic from the start with its own group; returns the messages
// in arrival order (partition 0 only is written by produce()).
async function readBack (topic, count) {
  const consumer = new Consumer({ clientId: 'platformatic-check', groupId: `check-${topic}`, bootstrapBrokers: brokers })
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  const got = []
  const timer = setTimeout(() => fail(`${topic}: ${got.length} of ${count} records read in 60 s`), 60000)
  for await (const m of stream) {
    got.push(m)
    if (got.length === count) break
  }
  clearTimeout(timer)
  await stream.close()
  await consumer.close()
  return got
}

async function roundtrip () {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4']) {
    const topic = `platformatic-${codec}`
    const started = Date.now()
    await produce(topic, topic, COUNT, { compression: codec })
    const got = await readBack(topic, COUNT)
    got.forEach((m, i) => checkMessage(topic, i, m))
    console.log(`  ${codec.padEnd(8)} ${COUNT} records produced and read back in ${((Date.now() - started) / 1000).toFixed(2)}s`)
  }
}

async function idempotent () {
  const topic = 'platformatic-idempotent'
  await produce(topic, topic, COUNT, { idempotent: true, acks: -1, compression: 'lz4' })
  const got = await readBack(topic, COUNT)
  got.forEach((m, i) => checkMessage(topic, i, m))
  console.log(`  idempotent producer: ${COUNT} records, each once and in order`)
}

async function sharedGroup (topic, group, protocolOptions) {
  const partitions = 4
  const perPartition = 500
  const admin = new Admin({ clientId: 'platformatic-check', bootstrapBrokers: brokers })
  await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
  const producer = new Producer({ clientId: 'platformatic-check', bootstrapBrokers: brokers })
  const messages = []
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < perPartition; i++) messages.push({ topic, partition: p, value: Buffer.from(`p${p}-${i}`) })
  }
  await producer.send({ messages })
  await producer.close()

  const seen = new Map() // "partition/offset" -> times read
  const want = partitions * perPartition
  const members = []
  let done
  const allRead = new Promise(resolve => { done = resolve })
  for (let m = 0; m < 2; m++) {
    const consumer = new Consumer({ clientId: `platformatic-member-${m}`, groupId: group, bootstrapBrokers: brokers, ...protocolOptions })
    const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: 100, sessionTimeout: 10000, heartbeatInterval: 500 })
    stream.on('data', message => {
      const id = `${message.partition}/${message.offset}`
      seen.set(id, (seen.get(id) || 0) + 1)
      if (seen.size === want) done()
    })
    members.push({ consumer, stream })
  }
  const timer = setTimeout(() => fail(`${group}: ${seen.size} of ${want} records read in 60 s`), 60000)
  await allRead
  clearTimeout(timer)
  await new Promise(resolve => setTimeout(resolve, 500)) // the autocommit interval passes
  for (const { consumer, stream } of members) {
    await stream.close()
    await consumer.close()
  }
  const twice = [...seen.values()].filter(n => n > 1).length
  if (twice > 0) fail(`${group}: ${twice} records read more than once without a rebalance in between`)

  const listed = await admin.listConsumerGroupOffsets({ groups: [group] })
  const committed = new Map()
  for (const g of listed) {
    for (const t of g.topics) {
      for (const p of t.partitions) committed.set(p.partitionIndex, p.committedOffset)
    }
  }
  for (let p = 0; p < partitions; p++) {
    if (committed.get(p) !== BigInt(perPartition)) fail(`${group}: partition ${p} committed ${committed.get(p)}, want ${perPartition}`)
  }
  await admin.deleteTopics({ topics: [topic] })
  await admin.close()
  console.log(`  ${group}: 2 members read ${want} records once, offsets committed`)
}

async function adminCheck () {
  const topic = 'platformatic-admin'
  const admin = new Admin({ clientId: 'platformatic-check', bootstrapBrokers: brokers })
  await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })
  let refused = false
  try {
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })
  } catch (err) {
    refused = JSON.stringify(err.errors || err.message).includes('TOPIC_ALREADY_EXISTS') ||
      String(err).includes('already exists')
  }
  if (!refused) fail('creating a topic twice was not refused with TOPIC_ALREADY_EXISTS')
  const metadata = await admin.metadata({ topics: [topic] })
  const described = metadata.topics.get(topic)
  if (!described || described.partitionsCount !== 3) fail(`metadata for ${topic}: ${JSON.stringify(described, (k, v) => typeof v === 'bigint' ? String(v) : v)}`)
  const producer = new Producer({ clientId: 'platformatic-check', bootstrapBrokers: brokers })
  await producer.send({ messages: [0, 1, 2, 3, 4].map(i => ({ topic, partition: 1, value: Buffer.from(`r${i}`), timestamp: BASE_TS + BigInt(i) })) })
  await producer.close()
  const latest = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 1, timestamp: -1n }] }] })
  const byTime = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 1, timestamp: BASE_TS + 3n }] }] })
  const offsetOf = listed => listed[0].partitions[0].offset
  if (offsetOf(latest) !== 5n) fail(`listOffsets latest: ${offsetOf(latest)}, want 5`)
  if (offsetOf(byTime) !== 3n) fail(`listOffsets by timestamp: ${offsetOf(byTime)}, want 3`)
  await admin.deleteTopics({ topics: [topic] })
  await admin.close()
  console.log('  admin: created, refused twice, described, offsets listed (latest, by time), deleted')
}

const checks = {
  roundtrip,
  idempotent,
  group: () => sharedGroup('platformatic-group', 'platformatic-classic', {}),
  kip848: () => sharedGroup('platformatic-group848', 'platformatic-kip848', { groupProtocol: 'consumer' }),
  admin: adminCheck
}
if (!checks[check]) fail(`unknown check ${check}; one of ${Object.keys(checks).join(', ')}`)
try {
  await checks[check]()
} catch (err) {
  fail(`${check}: ${err.stack || err}${err.errors ? '\n' + err.errors.map(e => e.stack || e).join('\n') : ''}`)
}
process.exit(0)
