/**
 * Journal benchmarks on the real broker (KAFKA_BROKERS), each against a raw kafkajs baseline measured in the
 * same run, on fresh topics:
 * - journal-append: events/s through `append` in batches of `batch` events (one transaction each), against a
 *   raw kafkajs transactional producer sending the same values in the same transactions.
 * - journal-replay: events/s of `read` over one key with `events` events (default 200,000), against a raw
 *   kafkajs consumer reading (and JSON-parsing) the same partition.
 * - actor-recovery: `latestSnapshot` + `read` of the tail for a key with 5 × `events` events (default
 *   1,000,000) and a snapshot 100 events before the end, on a freshly started engine; against replaying the
 *   whole key without the snapshot.
 * - journal-group-commit: appends/s of 2,000 single-event appends to 200 keys issued concurrently (200 loops of
 *   10 appends each, every loop awaiting its append before the next, like per-device actors), with group commit
 *   (the default) against the same workload on an engine with `groupCommit: false` (one transaction each).
 * - embedded-actor-recovery: the same recovery on the embedded (file) journal: a fresh engine's `highestSeq`,
 *   `latestSnapshot` and `read` of the tail of a key with 5 × `events` events, against replaying the whole key.
 * FLEAD_BENCH_EVENTS lowers `events` for a quick run.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from '../src/infra/kafka/kafkajs';
import { brokerList, brokersFromEnv } from '../src/infra/kafka/client';
import { createKafkaJournal } from '../src/infra/journal/kafka-journal';
import { createFileJournal } from '../src/infra/journal/file-journal';
import type { Journal, JournalEvent } from '../src/infra/journal/port';

const events = Number(process.env.FLEAD_BENCH_EVENTS || 200_000);
const recoveryEvents = events * 5;
const batch = 20_000;
const tail = 100;

const ev = (i: number): JournalEvent => ({ type: 'Ticked', schemaVersion: 1, timestamp: 1_700_000_000_000 + i, data: { i, v: i % 97 } });
const fmt = (n: number, digits = 0): string => n.toFixed(digits);
const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function appendMany(j: Journal, key: string, from: number, to: number): Promise<number> {
  const t0 = Date.now();
  for (let s = from; s <= to; s += batch) {
    const n = Math.min(batch, to - s + 1);
    await j.append(key, s, Array.from({ length: n }, (_, k) => ev(s + k)));
  }
  return Date.now() - t0;
}

async function count(j: Journal, key: string, afterSeq = 0): Promise<{ n: number; ms: number; last: number }> {
  const t0 = Date.now();
  let n = 0;
  let last = afterSeq;
  for await (const e of j.read(key, { afterSeq })) {
    if (e.seq !== last + 1) throw new Error(`replay of ${key}: seq ${e.seq} after ${last}`);
    last = e.seq;
    n++;
  }
  return { n, ms: Date.now() - t0, last };
}

/** `loops` concurrent loops, each appending `perLoop` single-event appends to its own key; ms for all. */
async function concurrentAppends(j: Journal, prefix: string, loops: number, perLoop: number): Promise<number> {
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: loops }, async (_, d) => {
      for (let seq = 1; seq <= perLoop; seq++) await j.append(`${prefix}/device-${d}`, seq, [ev(seq)]);
    }),
  );
  const ms = Date.now() - t0;
  for (const d of [0, loops - 1]) {
    const got = await count(j, `${prefix}/device-${d}`);
    if (got.n !== perLoop) throw new Error(`${prefix}/device-${d}: read ${got.n} of ${perLoop} events`);
  }
  return ms;
}

/** Raw kafkajs: a transactional producer sending the values the journal would send, in the same batches. */
async function rawAppend(kafka: Kafka, topic: string, n: number): Promise<number> {
  const producer = kafka.producer({ transactionalId: `bench-raw-${randomBytes(4).toString('hex')}`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const t0 = Date.now();
  for (let s = 1; s <= n; s += batch) {
    const values = Array.from({ length: Math.min(batch, n - s + 1) }, (_, k) => JSON.stringify({ ...ev(s + k), key: 'raw', seq: s + k }));
    const txn = await producer.transaction();
    for (let i = 0; i < values.length; i += 5000) {
      await txn.send({ topic, messages: values.slice(i, i + 5000).map((value) => ({ key: 'raw', value })) });
    }
    await txn.commit();
  }
  const ms = Date.now() - t0;
  await producer.disconnect();
  return ms;
}

/** Raw kafkajs: a fresh consumer reading (and JSON-parsing) every message of a topic; ms from `run` (joined). */
async function rawReplay(kafka: Kafka, topic: string, n: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomBytes(4).toString('hex')}`, maxBytesPerPartition: 8 << 20, maxBytes: 64 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const first = Date.now();
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch: b }) => {
        for (const m of b.messages) {
          JSON.parse(m.value!.toString());
          seen++;
        }
        if (seen >= n) resolve(Date.now() - first);
      },
    });
  });
  const ms = await done;
  await consumer.disconnect();
  return ms;
}

/** A fresh file-journal engine recovering a long-lived actor (snapshot + tail), against a full replay of the key. */
async function embeddedRecovery(print: (line: string) => void): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flead-bench-file-journal-'));
  try {
    const actor = 'bench/actor';
    const writer = await createFileJournal(dir);
    const writeMs = await appendMany(writer, actor, 1, recoveryEvents - tail);
    await writer.saveSnapshot({ key: actor, seq: recoveryEvents - tail, timestamp: Date.now(), schemaVersion: 1, data: { total: recoveryEvents - tail } });
    await appendMany(writer, actor, recoveryEvents - tail + 1, recoveryEvents);
    await writer.close();
    const fresh = await createFileJournal(dir);
    try {
      const t0 = Date.now();
      const highest = await fresh.highestSeq(actor);
      const snap = await fresh.latestSnapshot(actor);
      if (!snap || highest !== recoveryEvents) throw new Error(`after restart: highest seq ${highest}, snapshot ${snap?.seq}`);
      const rest = await count(fresh, actor, snap.seq);
      const recoveryMs = Date.now() - t0;
      if (rest.last !== recoveryEvents || rest.n !== tail) throw new Error(`recovery read ${rest.n} events up to seq ${rest.last}`);
      const full = await count(fresh, actor);
      if (full.n !== recoveryEvents) throw new Error(`full replay read ${full.n} of ${recoveryEvents}`);
      const mb = fs.statSync(path.join(dir, 'events', 'bench%2Factor.jsonl')).size / 2 ** 20;
      print(
        `bench embedded-actor-recovery: ${recoveryMs} ms (${fmt(recoveryMs / full.ms, 4)}x full replay of ${recoveryEvents} events without snapshot, ${sec(full.ms)}; a ${fmt(mb)} MiB key file written in ${sec(writeMs)})`,
      );
    } finally {
      await fresh.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(print: (line: string) => void): Promise<void> {
  await embeddedRecovery(print);
  const brokers = brokersFromEnv();
  const id = `${Date.now()}-${randomBytes(3).toString('hex')}`;
  const topics = { journalTopic: `flead-bench-journal-${id}`, snapshotTopic: `flead-bench-snapshots-${id}`, partitions: 6 };
  const kafka = new Kafka({ clientId: 'flead-bench', brokers: brokerList(brokers), logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const rawTopic = `flead-bench-raw-${id}`;
  await admin.createTopics({ topics: [{ topic: rawTopic, numPartitions: 1 }], waitForLeaders: true });

  const writer = await createKafkaJournal({ brokers, writerId: `bench-${id}`, ...topics });
  try {
    // (a) append + replay
    const key = 'bench/replay';
    const appendMs = await appendMany(writer, key, 1, events);
    const rawAppendMs = await rawAppend(kafka, rawTopic, events);
    const appendRate = events / (appendMs / 1000);
    const rawAppendRate = events / (rawAppendMs / 1000);
    print(`bench journal-append: ${fmt(appendRate)} events/s (${fmt(appendRate / rawAppendRate, 2)}x raw kafkajs transactional producer, ${fmt(rawAppendRate)} events/s)`);

    const replay = await count(writer, key);
    if (replay.n !== events) throw new Error(`replay read ${replay.n} of ${events} events`);
    const rawMs = await rawReplay(kafka, rawTopic, events);
    const rate = events / (replay.ms / 1000);
    const rawRate = events / (rawMs / 1000);
    print(`bench journal-replay: ${fmt(rate)} events/s (${fmt(rate / rawRate, 2)}x raw kafkajs consumer, ${fmt(rawRate)} events/s)`);

    // (b) group commit: many actors appending one event at a time
    {
      const loops = 200;
      const perLoop = 10;
      const n = loops * perLoop;
      const grouped = await createKafkaJournal({ brokers, writerId: `bench-group-${id}`, ...topics });
      const single = await createKafkaJournal({ brokers, writerId: `bench-single-${id}`, ...topics, groupCommit: false });
      try {
        await concurrentAppends(grouped, 'bench/warm-group', 10, 2);
        await concurrentAppends(single, 'bench/warm-single', 10, 2);
        const t0 = grouped.stats().transactions;
        const groupMs = await concurrentAppends(grouped, 'bench/group', loops, perLoop);
        const txns = grouped.stats().transactions - t0;
        const singleMs = await concurrentAppends(single, 'bench/single', loops, perLoop);
        const rate = n / (groupMs / 1000);
        const singleRate = n / (singleMs / 1000);
        print(
          `bench journal-group-commit: ${fmt(rate)} appends/s (${fmt(rate / singleRate, 1)}x one-transaction-per-append, ${fmt(singleRate)} appends/s; ${n} appends to ${loops} keys in ${txns} transactions)`,
        );
      } finally {
        await Promise.all([grouped.close(), single.close()]);
      }
    }

    // (c) recovery of a long-lived actor
    const actor = 'bench/actor';
    const writeMs = await appendMany(writer, actor, 1, recoveryEvents - tail);
    await writer.saveSnapshot({ key: actor, seq: recoveryEvents - tail, timestamp: Date.now(), schemaVersion: 1, data: { total: recoveryEvents - tail } });
    await appendMany(writer, actor, recoveryEvents - tail + 1, recoveryEvents);
    await writer.close();

    const fresh = await createKafkaJournal({ brokers, writerId: `bench-${id}`, ...topics });
    try {
      const t0 = Date.now();
      const snap = await fresh.latestSnapshot(actor);
      if (!snap) throw new Error('no snapshot after restart');
      const rest = await count(fresh, actor, snap.seq);
      const recoveryMs = Date.now() - t0;
      if (rest.last !== recoveryEvents || rest.n !== tail) throw new Error(`recovery read ${rest.n} events up to seq ${rest.last}`);
      const full = await count(fresh, actor);
      if (full.n !== recoveryEvents) throw new Error(`full replay read ${full.n} of ${recoveryEvents}`);
      print(
        `bench actor-recovery: ${recoveryMs} ms (${fmt(recoveryMs / full.ms, 4)}x full replay of ${recoveryEvents} events without snapshot, ${sec(full.ms)}; written in ${sec(writeMs)})`,
      );
    } finally {
      await fresh.close();
    }
  } finally {
    await writer.close();
    await admin.deleteTopics({ topics: [rawTopic, topics.journalTopic, `${topics.journalTopic}-index`, topics.snapshotTopic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

if (require.main === module) {
  run((line) => console.log(line)).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
