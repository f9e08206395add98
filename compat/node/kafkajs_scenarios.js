// kafkajs scenarios of Samsa's compatibility suite.
//
// Usage: node kafkajs_scenarios.js BOOTSTRAP SCENARIO. Exits 0 when every
// check passes; otherwise prints "FAIL: why" and exits 1.
//
// A kafkajs consumer always joins a consumer group, so the produce scenarios
// read their records back with Samsa's own CLI ($SAMSA consume, which assigns
// partitions without a group) and compare partition, offset, key, value and
// headers; consume-from-beginning uses the kafkajs consumer and waits on the
// consumer-group issue.
'use strict';

const { execFileSync } = require('child_process');
const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = require('kafkajs');
const SnappyCodec = require('kafkajs-snappy');
const LZ4Codec = require('kafkajs-lz4');
const { ZstdCodec } = require('zstd-codec');

const [bootstrap, scenario] = process.argv.slice(2);

class Check extends Error {}
function check(ok, msg) {
  if (!ok) throw new Check(msg);
}

// zstd: no kafkajs codec package builds on current Node (@kafkajs/zstd needs a
// native module that no longer compiles), so adapt zstd-codec (Emscripten).
function zstdCodec() {
  let simple;
  const ready = new Promise((resolve) => ZstdCodec.run((z) => resolve((simple = new z.Simple()))));
  return () => ({
    async compress(encoder) {
      await ready;
      return Buffer.from(simple.compress(encoder.buffer));
    },
    async decompress(buffer) {
      await ready;
      return Buffer.from(simple.decompress(buffer));
    },
  });
}

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec;
CompressionCodecs[CompressionTypes.ZSTD] = zstdCodec();

const kafka = new Kafka({
  clientId: 'samsa-compat',
  brokers: [bootstrap],
  logLevel: logLevel.WARN,
  retry: { retries: 3 },
});

async function createTopic(admin, topic, numPartitions, configEntries) {
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions, replicationFactor: 1, configEntries }],
  });
  check(created === true, `createTopics(${topic}) returned ${created}, want true`);
}

async function adminCreateTopics() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createTopic(admin, 'kj-create', 3, [{ name: 'retention.ms', value: '3600000' }]);
    const again = await admin.createTopics({ topics: [{ topic: 'kj-create', numPartitions: 3 }] });
    check(again === false, `createTopics of an existing topic returned ${again}, want false`);
    const topics = await admin.listTopics();
    check(topics.includes('kj-create'), `listTopics: ${topics}`);
    await admin.createPartitions({ topicPartitions: [{ topic: 'kj-create', count: 5 }] });
    const md = await admin.fetchTopicMetadata({ topics: ['kj-create'] });
    check(md.topics[0].partitions.length === 5, `after createPartitions: ${md.topics[0].partitions.length} partitions`);
    await admin.deleteTopics({ topics: ['kj-create'] });
    const deadline = Date.now() + 10000;
    while ((await admin.listTopics()).includes('kj-create')) {
      check(Date.now() < deadline, 'topic still listed 10s after deleteTopics');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

async function fetchTopicMetadata() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createTopic(admin, 'kj-metadata', 3, [{ name: 'cleanup.policy', value: 'delete' }]);
    const md = await admin.fetchTopicMetadata({ topics: ['kj-metadata'] });
    check(md.topics.length === 1 && md.topics[0].name === 'kj-metadata', `topics: ${JSON.stringify(md.topics)}`);
    const parts = md.topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId);
    check(parts.map((p) => p.partitionId).join() === '0,1,2', `partitions: ${JSON.stringify(parts)}`);
    const cluster = await admin.describeCluster();
    check(cluster.brokers.length === 1, `describeCluster brokers: ${JSON.stringify(cluster.brokers)}`);
    const id = cluster.brokers[0].nodeId;
    check(cluster.controller === id, `controller ${cluster.controller}, broker ${id}`);
    for (const p of parts) {
      check(p.partitionErrorCode === 0 && p.leader === id && p.replicas.join() === `${id}` && p.isr.join() === `${id}`,
        `partition ${JSON.stringify(p)}`);
    }
    const offsets = await admin.fetchTopicOffsets('kj-metadata');
    check(offsets.length === 3 && offsets.every((o) => o.low === '0' && o.high === '0'), `fetchTopicOffsets: ${JSON.stringify(offsets)}`);
    const cfg = await admin.describeConfigs({ resources: [{ type: 2, name: 'kj-metadata' }], includeSynonyms: false });
    const entries = cfg.resources[0].configEntries;
    const policy = entries.find((e) => e.configName === 'cleanup.policy');
    check(policy && policy.configValue === 'delete', `describeConfigs cleanup.policy: ${JSON.stringify(policy)}`);
    check(entries.some((e) => e.configName === 'retention.ms'), 'describeConfigs: no retention.ms');
  } finally {
    await admin.disconnect();
  }
}

// Offsets by timestamp, deleteTopicRecords, and the legacy AlterConfigs API
// (which replaces a topic's whole set of overrides).
async function adminOffsetsConfigs() {
  const topic = 'kj-offsets';
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createTopic(admin, topic, 1, [{ name: 'retention.ms', value: '3600000' }]);
    const producer = kafka.producer();
    await producer.connect();
    const base = Date.now() - 600000;
    const messages = [];
    for (let i = 0; i < 20; i++) messages.push({ value: `v${i}`, timestamp: String(base + i * 1000) });
    await producer.send({ topic, messages, acks: -1 });
    await producer.disconnect();
    let offs = await admin.fetchTopicOffsetsByTimestamp(topic, base + 7500);
    check(offs.length === 1 && offs[0].offset === '8', `fetchTopicOffsetsByTimestamp(t7.5): ${JSON.stringify(offs)}`);
    offs = await admin.fetchTopicOffsetsByTimestamp(topic, base);
    check(offs[0].offset === '0', `fetchTopicOffsetsByTimestamp(t0): ${JSON.stringify(offs)}`);
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '5' }] });
    offs = await admin.fetchTopicOffsets(topic);
    check(offs[0].low === '5' && offs[0].high === '20', `after deleteTopicRecords(5): ${JSON.stringify(offs)}`);

    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic,
      configEntries: [{ name: 'segment.bytes', value: '2097152' }] }] });
    const cfg = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false });
    const entries = Object.fromEntries(cfg.resources[0].configEntries.map((e) => [e.configName, e]));
    check(entries['segment.bytes'].configValue === '2097152' && !entries['segment.bytes'].isDefault,
      `segment.bytes after alterConfigs: ${JSON.stringify(entries['segment.bytes'])}`);
    // AlterConfigs replaces the whole set: the retention.ms override is gone.
    check(entries['retention.ms'].configValue !== '3600000',
      `retention.ms after a legacy alterConfigs without it: ${JSON.stringify(entries['retention.ms'])}`);
  } finally {
    await admin.disconnect();
  }
}

function samsaConsume(topic, n) {
  const out = execFileSync(process.env.SAMSA, ['-b', bootstrap, 'consume', topic, '--from-beginning',
    '-n', String(n), '--timeout-idle', '10s', '-f', 'json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return out.split('\n').filter((l) => l).map((l) => JSON.parse(l));
}

// Produces n keyed records with headers in batches of 100 and checks them back.
async function produce(topic, compression, idempotent) {
  const n = 2000;
  const admin = kafka.admin();
  await admin.connect();
  await createTopic(admin, topic, 3);
  const producer = kafka.producer(idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {});
  await producer.connect();
  const sent = [];
  for (let b = 0; b < n / 100; b++) {
    const messages = [];
    for (let i = b * 100; i < (b + 1) * 100; i++) {
      messages.push({ key: `key-${i % 31}`, value: `value-${i}-${'x'.repeat(i % 60)}`,
        headers: { seq: String(i), client: 'kafkajs' } });
    }
    const res = await producer.send({ topic, compression, acks: -1, messages });
    for (const r of res) check(r.errorCode === 0, `produce error ${JSON.stringify(r)}`);
    sent.push(...messages);
  }
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((s, o) => s + Number(o.high), 0);
  check(total === n, `high watermarks add up to ${total}, want ${n}: ${JSON.stringify(offsets)}`);

  const got = samsaConsume(topic, n);
  check(got.length === n, `read back ${got.length} records, want ${n}`);
  const byPart = {};
  const keyPart = {};
  for (const r of got) {
    (byPart[r.partition] = byPart[r.partition] || []).push(r);
    check((keyPart[r.key] ??= r.partition) === r.partition, `key ${r.key} in two partitions`);
  }
  check(Object.keys(byPart).length > 1, 'every record in one partition');
  for (const [p, recs] of Object.entries(byPart)) {
    recs.sort((a, b) => a.offset - b.offset);
    let prev = -1;
    recs.forEach((r, j) => {
      check(r.offset === j, `partition ${p}: offset ${r.offset} at position ${j}`);
      const seq = Number((r.headers.find((h) => h.key === 'seq') || {}).value);
      check(seq > prev, `partition ${p}: record seq ${seq} after ${prev} (order)`);
      prev = seq;
      const m = sent[seq];
      check(m && r.key === m.key && r.value === m.value, `partition ${p} offset ${r.offset}: ${r.key}=${r.value}`);
      const hs = r.headers.map((h) => `${h.key}=${h.value}`).join(',');
      check(hs === `seq=${seq},client=kafkajs`, `partition ${p} offset ${r.offset}: headers ${hs}`);
    });
  }
  console.log(`produced ${n} records (${topic}), read back in order with keys and headers`);
}

async function consumeFromBeginning() {
  const topic = 'kj-consume';
  const admin = kafka.admin();
  await admin.connect();
  await createTopic(admin, topic, 2);
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const n = 200;
  const messages = [];
  for (let i = 0; i < n; i++) messages.push({ key: `k${i % 5}`, value: `v${i}`, partition: i % 2 });
  await producer.send({ topic, messages });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'samsa-compat-kafkajs' });
  const got = { 0: [], 1: [] };
  let count = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const timer = setTimeout(() => done(new Check(`consumed ${count} of ${n} in 30s`)), 30000);
  consumer.on(consumer.events.CRASH, (e) => done(new Check(`consumer crashed: ${e.payload.error}`)));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got[partition].push([Number(message.offset), message.key.toString(), message.value.toString()]);
      if (++count === n) done();
    },
  });
  const err = await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  if (err) throw err;
  for (const p of [0, 1]) {
    const want = messages.filter((m) => m.partition === p).map((m, j) => [j, m.key, m.value]);
    check(JSON.stringify(got[p]) === JSON.stringify(want), `partition ${p}: records differ`);
  }
}

// The security listeners of compat/run.sh: SASL_SSL (the CA from setup.sh as
// ssl.ca) with PLAIN or SCRAM-SHA-256. Through the listener: the broker is
// advertised at its address, a topic is created, keyed records produced and
// read back by a consumer group; then a wrong password is refused with
// KafkaJSSASLAuthenticationError.
function env(name) {
  const v = process.env[name];
  check(v, `$${name} is not set (run by compat/run.sh?)`);
  return v;
}

function saslSSL(mechanism, username, password) {
  const fs = require('fs');
  return new Kafka({
    clientId: 'samsa-compat-sasl',
    brokers: [env('BOOTSTRAP_SASL_SSL')],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 },
    ssl: { ca: [fs.readFileSync(`${env('TLS_DIR')}/ca.crt`, 'utf8')] },
    sasl: { mechanism, username, password },
  });
}

async function saslSSLRoundTrip(mechanism, topic, username, password) {
  await secureRoundTrip(saslSSL(mechanism, username, password), env('BOOTSTRAP_SASL_SSL'), mechanism, topic);
  await expectSASLRefused(saslSSL(mechanism, username, 'not-the-password'), `${mechanism} with a wrong password`);
}

// secureRoundTrip: through one security listener (its address: listener), the
// broker is advertised there, a topic is created, records are produced and
// read back by a consumer group, record for record.
async function secureRoundTrip(secure, listener, label, topic) {
  const admin = secure.admin();
  await admin.connect();
  const cluster = await admin.describeCluster();
  const names = cluster.brokers.map((b) => `${b.host}:${b.port}`);
  check(JSON.stringify(names) === JSON.stringify([listener]),
    `brokers advertised as ${names} through ${listener}`);
  await createTopic(admin, topic, 2);
  await admin.disconnect();
  const producer = secure.producer();
  await producer.connect();
  const n = 400;
  const messages = [];
  for (let i = 0; i < n; i++) messages.push({ key: `k${i % 7}`, value: `v${i}`, partition: i % 2 });
  const res = await producer.send({ topic, acks: -1, messages });
  for (const r of res) check(r.errorCode === 0, `produce error ${JSON.stringify(r)}`);
  await producer.disconnect();

  const consumer = secure.consumer({ groupId: `${topic}-group` });
  const got = { 0: [], 1: [] };
  let count = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const timer = setTimeout(() => done(new Check(`consumed ${count} of ${n} in 30s`)), 30000);
  consumer.on(consumer.events.CRASH, (e) => done(new Check(`consumer crashed: ${e.payload.error}`)));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got[partition].push([Number(message.offset), message.key.toString(), message.value.toString()]);
      if (++count === n) done();
    },
  });
  const err = await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  if (err) throw err;
  for (const p of [0, 1]) {
    const want = messages.filter((m) => m.partition === p).map((m, j) => [j, m.key, m.value]);
    check(JSON.stringify(got[p]) === JSON.stringify(want), `partition ${p}: records differ`);
  }
  console.log(`${label}: ${n} records through ${listener}`);
}

// expectSASLRefused: the client's admin.connect() must fail with
// KafkaJSSASLAuthenticationError carrying Kafka's message.
async function expectSASLRefused(client, what) {
  const wrong = client.admin();
  try {
    await wrong.connect();
    await wrong.disconnect();
    throw new Check(`${what}: admin.connect() succeeded`);
  } catch (e) {
    if (e instanceof Check) throw e;
    check(e.name === 'KafkaJSSASLAuthenticationError', `${what}: ${e.name}: ${e.message}`);
    check(e.message.includes('Authentication failed during authentication due to invalid credentials'),
      `${what}: message [${e.message}]`);
    console.log(`${what}: refused as expected: ${e.name}: ${e.message}`);
  }
}

// OAUTHBEARER on SASL_PLAINTEXT with an oauthBearerProvider handing kafkajs
// the token in one of the scenario's files ($OAUTH_TOKENS/name).
function oauth(name) {
  const fs = require('fs');
  const token = fs.readFileSync(`${env('OAUTH_TOKENS')}/${name}`, 'utf8').trim();
  return new Kafka({
    clientId: 'samsa-compat-oauth',
    brokers: [env('BOOTSTRAP_SASL')],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 },
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token }) },
  });
}

async function saslOAuthBearer() {
  await secureRoundTrip(oauth('good'), env('BOOTSTRAP_SASL'), 'oauthbearer', 'kj-sasl-oauth');
  for (const name of ['expired', 'forged', 'wrong-audience']) {
    await expectSASLRefused(oauth(name), `oauthbearer with a token ${name}`);
  }
}

const scenarios = {
  'sasl-oauthbearer': saslOAuthBearer,
  'sasl-ssl-plain': () => saslSSLRoundTrip('plain', 'kj-sasl-plain', env('PLAIN_USER'), env('PLAIN_PASSWORD')),
  'sasl-ssl-scram-sha-256': () => saslSSLRoundTrip('scram-sha-256', 'kj-sasl-scram', env('SCRAM_USER'), env('SCRAM_PASSWORD')),
  'admin-create-topics': adminCreateTopics,
  'fetch-topic-metadata': fetchTopicMetadata,
  'admin-offsets-configs': adminOffsetsConfigs,
  'produce-none': () => produce('kj-none', CompressionTypes.None, false),
  'produce-idempotent': () => produce('kj-idempotent', CompressionTypes.None, true),
  'produce-gzip': () => produce('kj-gzip', CompressionTypes.GZIP, false),
  'produce-snappy': () => produce('kj-snappy', CompressionTypes.Snappy, false),
  'produce-lz4': () => produce('kj-lz4', CompressionTypes.LZ4, false),
  'produce-zstd': () => produce('kj-zstd', CompressionTypes.ZSTD, false),
  'consume-from-beginning': consumeFromBeginning,
};

if (bootstrap === '--version') {
  console.log(`kafkajs ${require('kafkajs/package.json').version}`);
  process.exit(0);
}
scenarios[scenario]().then(
  () => {
    console.log(`ok ${scenario}`);
    process.exit(0);
  },
  (e) => {
    if (!(e instanceof Check)) console.error(e);
    console.error(`FAIL: ${e instanceof Check ? e.message : e}`);
    process.exit(1);
  },
);
