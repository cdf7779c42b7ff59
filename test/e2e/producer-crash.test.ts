/**
 * The producer on real Kafka, as its own OS process, streaming the WSN data (18,914 readings from 4 motes):
 * SIGKILLed mid-stream and restarted, it continues from its journaled positions with no reading lost and
 * none published twice (each batch and its position are one Kafka transaction; consumers read committed).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

test.run();
