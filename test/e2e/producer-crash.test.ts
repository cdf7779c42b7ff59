/**
 * The producer on real Kafka, as its own OS process, streaming the WSN data (18,914 readings from 4 motes), and
 * one Edge-IIoTset file split over 4 devices (80,000 rows, read again through one pass shared by the devices):
 * SIGKILLed mid-stream and restarted, it continues from its journaled positions with no reading lost and
 * none published twice (each batch and its position are one Kafka transaction; consumers read committed).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeEdgeCsv } from '../../src/infra/datasets';
import { topicNames } from '../../src/protocols/topics';
import { freePort, getJson, startFlead, waitFor } from '../support/procs';
import { readAllReadings } from '../support/readings';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const test = suite('producer crash safety (separate process, real Kafka)');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-producer-'));

test('SIGKILL mid-stream, restart: every WSN reading exactly once, per-mote order kept', async () => {
  const prefix = `e2e-prod-${Date.now().toString(36)}-`;
  const topics = topicNames(prefix);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix, INSPECT_PORT: String(port), DATASET: 'wsn',
    PRODUCER_RATE: '4000', PRODUCER_BATCH_SIZE: '200', LOG_LEVEL: 'info',
  };
  const log = path.join(tmp, 'producer.log');
  let proc = startFlead(['producer', '--exit-when-done'], env, log);
  type Src = Array<{ id: string; published?: number }>;
  const publishedSoFar = async () => ((await getJson<Src>(`${base}/sources`)) ?? []).reduce((n, s) => n + (s.published ?? 0), 0);
  await waitFor(`3,000 readings published (log ${log})`, async () => ((await publishedSoFar()) >= 3000 ? true : undefined), 120_000, 20);
  proc.child.kill('SIGKILL');
  assert.is((await proc.exited).signal, 'SIGKILL');
  proc = startFlead(['producer', '--exit-when-done'], env, log);
  const exit = await proc.exited;
  assert.is(exit.code, 0, `the restarted producer finishes (log ${log})`);

  const seen = new Map<string, number>();
  const lastPerDevice = new Map<string, number>();
  let outOfOrder = 0;
  await readAllReadings({
    brokers, topic: topics.readings, groupId: `${prefix}count`,
    onReading: (r) => {
      seen.set(r.readingId, (seen.get(r.readingId) ?? 0) + 1);
      if ((lastPerDevice.get(r.deviceId) ?? -1) > r.ts) outOfOrder++;
      lastPerDevice.set(r.deviceId, r.ts);
    },
    done: () => seen.size >= 18_914, what: '18,914 readings on the topic', timeoutMs: 120_000, settleMs: 1500,
  });
  const duplicates = [...seen.values()].filter((n) => n > 1).length;
  assert.is(seen.size, 18_914, 'no reading lost');
  assert.is(duplicates, 0, 'no reading published twice');
  assert.is(outOfOrder, 0, 'each mote’s readings stay in order');
});

test('one Edge-IIoTset file split over devices row by row (one pass shared by the sources): SIGKILL, restart, every reading exactly once', async () => {
  // 80,000 rows of ~60-95 features: past what the producer keeps in memory from its planning pass (4 million values),
  // so its device sources read the file again, through one shared pass
  const file = path.join(tmp, 'one-file.csv');
  await writeEdgeCsv(file, { seed: 5, rows: 80_000, devices: 4, attackFraction: 0.2 });
  const prefix = `e2e-prod1-${Date.now().toString(36)}-`;
  const topics = topicNames(prefix);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix, INSPECT_PORT: String(port), DATASET: 'edge-iiotset', DATASET_PATH: file,
    PRODUCER_RATE: '10000', LOG_LEVEL: 'info',
  };
  const log = path.join(tmp, 'producer-one-file.log');
  const args = ['producer', '--devices', '4', '--exit-when-done'];
  let proc = startFlead(args, env, log);
  type Src = Array<{ id: string; published?: number }>;
  const publishedSoFar = async () => ((await getJson<Src>(`${base}/sources`)) ?? []).reduce((n, s) => n + (s.published ?? 0), 0);
  await waitFor(`20,000 readings published (log ${log})`, async () => ((await publishedSoFar()) >= 20_000 ? true : undefined), 180_000, 20);
  proc.child.kill('SIGKILL');
  assert.is((await proc.exited).signal, 'SIGKILL');
  proc = startFlead(args, env, log);
  const exit = await proc.exited;
  assert.is(exit.code, 0, `the restarted producer finishes (log ${log})`);
  const text = readFileSync(log, 'utf8');
  assert.is(text.match(/4 sources, 80000 records \(each source's records: one pass shared by the devices\)/g)?.length, 2, 'both runs read through one shared pass');
  assert.match(text, /resuming at record [1-9]/);

  const seen = new Map<string, number>();
  const lastLine = new Map<string, number>();
  let outOfOrder = 0;
  await readAllReadings({
    brokers, topic: topics.readings, groupId: `${prefix}count`,
    onReading: (r) => {
      seen.set(r.readingId, (seen.get(r.readingId) ?? 0) + 1);
      const line = Number(r.readingId.slice(r.readingId.lastIndexOf(':') + 1));
      if ((lastLine.get(r.deviceId) ?? 0) >= line) outOfOrder++;
      lastLine.set(r.deviceId, line);
    },
    done: () => seen.size >= 80_000, what: '80,000 readings on the topic', timeoutMs: 180_000, settleMs: 1500,
  });
  assert.is(seen.size, 80_000, 'no reading lost');
  assert.is([...seen.values()].filter((n) => n > 1).length, 0, 'no reading published twice');
  assert.is(outOfOrder, 0, "each device's readings stay in file order");
  assert.equal([...lastLine.keys()].sort(), ['device-1', 'device-2', 'device-3', 'device-4']);
});

test.run();
