/**
 * The producer on real Kafka, as its own OS process, streaming the WSN data (18,914 readings from 4 motes), and
 * one Edge-IIoTset file split over 4 devices (80,000 rows, read again through one pass shared by the devices):
 * SIGKILLed mid-stream and restarted, it continues from its journaled positions with no reading lost and
 * none published twice (each batch and its position are one Kafka transaction; consumers read committed).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeEdgeCsv } from '../../src/infra/datasets';
import type { SensorReading } from '../../src/protocols/readings';
import { topicNames } from '../../src/protocols/topics';
import { freePort, getJson, startFlead, waitFor } from '../support/procs';
import { readAllReadings } from '../support/readings';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const test = suite('producer crash safety (separate process, real Kafka)');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-producer-'));

/** Starts the producer, SIGKILLs it once `after` readings are published, starts it again and waits for it to finish. */
async function killAndResume(args: string[], env: Record<string, string>, port: number, log: string, after: number): Promise<void> {
  let proc = startFlead(args, { ...env, INSPECT_PORT: String(port) }, log);
  type Src = Array<{ id: string; published?: number }>;
  const publishedSoFar = async () => ((await getJson<Src>(`http://127.0.0.1:${port}/sources`)) ?? []).reduce((n, s) => n + (s.published ?? 0), 0);
  await waitFor(`${after} readings published (log ${log})`, async () => ((await publishedSoFar()) >= after ? true : undefined), 180_000, 20);
  proc.child.kill('SIGKILL');
  assert.is((await proc.exited).signal, 'SIGKILL');
  proc = startFlead(args, { ...env, INSPECT_PORT: String(port) }, log);
  const exit = await proc.exited;
  assert.is(exit.code, 0, `the restarted producer finishes (log ${log})`);
}

/** Reads the topic to its end: how often each reading id came, and how many came before an earlier one of their device. */
async function readingsOn(prefix: string, expected: number, order: (r: SensorReading) => number) {
  const seen = new Map<string, number>();
  const last = new Map<string, number>();
  let outOfOrder = 0;
  await readAllReadings({
    brokers, topic: topicNames(prefix).readings, groupId: `${prefix}count`,
    onReading: (r) => {
      seen.set(r.readingId, (seen.get(r.readingId) ?? 0) + 1);
      if ((last.get(r.deviceId) ?? -1) > order(r)) outOfOrder++;
      last.set(r.deviceId, order(r));
    },
    done: () => seen.size >= expected, what: `${expected} readings on the topic`, timeoutMs: 180_000, settleMs: 1500,
  });
  return { seen, outOfOrder, devices: [...last.keys()].sort(), duplicates: [...seen.values()].filter((n) => n > 1).length };
}

test('SIGKILL mid-stream, restart: every WSN reading exactly once, per-mote order kept', async () => {
  const prefix = `e2e-prod-${Date.now().toString(36)}-`;
  const env = { KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix, DATASET: 'wsn', PRODUCER_RATE: '4000', PRODUCER_BATCH_SIZE: '200', LOG_LEVEL: 'info' };
  await killAndResume(['producer', '--exit-when-done'], env, await freePort(), path.join(tmp, 'producer.log'), 3000);
  const { seen, duplicates, outOfOrder } = await readingsOn(prefix, 18_914, (r) => r.ts);
  assert.is(seen.size, 18_914, 'no reading lost');
  assert.is(duplicates, 0, 'no reading published twice');
  assert.is(outOfOrder, 0, 'each mote’s readings stay in order');
});

test('one Edge-IIoTset file split over devices row by row (one pass shared by the sources): SIGKILL, restart, every reading exactly once', async () => {
  // 80,000 rows of ~60-95 features: past what the producer keeps in memory from its planning pass (1.5 million values),
  // so its device sources read the file again, through one shared pass
  const file = path.join(tmp, 'one-file.csv');
  await writeEdgeCsv(file, { seed: 5, rows: 80_000, devices: 4, attackFraction: 0.2 });
  // three bad rows (too few columns) spread over the file: the bad rows' source shares the pass too
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const at of [60_000, 30_000, 10]) lines.splice(at, 0, '1,2,3');
  writeFileSync(file, lines.join('\n'));
  const prefix = `e2e-prod1-${Date.now().toString(36)}-`;
  const env = { KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix, DATASET: 'edge-iiotset', DATASET_PATH: file, PRODUCER_RATE: '10000', LOG_LEVEL: 'info' };
  const log = path.join(tmp, 'producer-one-file.log');
  await killAndResume(['producer', '--devices', '4', '--exit-when-done'], env, await freePort(), log, 20_000);
  const text = readFileSync(log, 'utf8');
  assert.is(text.match(/5 sources, 80003 records \(each source's records: one pass shared by the devices\)/g)?.length, 2, 'both runs read through one shared pass');
  assert.match(text, /all 5 sources exhausted: 80000 readings published, 3 bad rows dead-lettered/);
  assert.match(text, /resuming at record [1-9]/);
  // reading ids end in the row's line in the file
  const { seen, duplicates, outOfOrder, devices } = await readingsOn(prefix, 80_000, (r) => Number(r.readingId.slice(r.readingId.lastIndexOf(':') + 1)));
  assert.is(seen.size, 80_000, 'no reading lost');
  assert.is(duplicates, 0, 'no reading published twice');
  assert.is(outOfOrder, 0, "each device's readings stay in file order");
  assert.equal(devices, ['device-1', 'device-2', 'device-3', 'device-4']);
});

test.run();
