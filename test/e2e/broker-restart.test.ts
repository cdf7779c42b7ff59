/**
 * Services on real Kafka keep going when the broker goes away and comes back: a producer and a trainer, as
 * their own OS processes, on a broker of this test's own that is stopped mid-stream for 25 s (long enough for
 * kafkajs's retries to run out, so its consumers crash) and started again. The producer must finish the WSN
 * data with every reading on the topic exactly once, and the trainer must score each one exactly once.
 * (Before the journal's reader rebuilt its consumer after a crash, the producer stood still for good.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { topicNames } from '../../src/protocols/topics';
import { exitedWithin, freePort, getJson, startFlead, waitFor, type Proc } from '../support/procs';
import { readAllReadings } from '../support/readings';
import { privateBroker, type PrivateBroker } from '../support/broker';

const test = suite('broker restart under running services (separate processes, real Kafka)');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-broker-restart-'));
const outageMs = 25_000;
let broker: PrivateBroker | undefined;
const procs: Proc[] = [];

test.after(() => {
  for (const p of procs) p.child.kill('SIGKILL');
  broker?.remove();
});

test('producer and trainer go on after the broker is stopped for 25 s and started again: every reading once', async () => {
  broker = await privateBroker('restart');
  const prefix = `e2e-outage-${Date.now().toString(36)}-`;
  const topics = topicNames(prefix);
  const [pp, pt] = [await freePort(), await freePort()];
  const common = { KAFKA_BROKERS: broker.brokers, FLEAD_TOPIC_PREFIX: prefix, DATASET: 'wsn', LOG_LEVEL: 'info', MODELS_DIR: path.join(tmp, 'models') };
  const trainerLog = path.join(tmp, 'trainer.log');
  const producerLog = path.join(tmp, 'producer.log');
  const trainer = startFlead(['trainer', '--id', 't1'], { ...common, INSPECT_PORT: String(pt) }, trainerLog);
  procs.push(trainer);
  await waitFor(`the trainer's endpoint (log ${trainerLog})`, () => getJson(`http://127.0.0.1:${pt}/health`), 60_000, 200);
  const producer = startFlead(['producer', '--exit-when-done'], { ...common, INSPECT_PORT: String(pp), PRODUCER_RATE: '1500', PRODUCER_BATCH_SIZE: '200' }, producerLog);
  procs.push(producer);
  type Src = Array<{ published?: number }>;
  const published = async () => ((await getJson<Src>(`http://127.0.0.1:${pp}/sources`)) ?? []).reduce((n, s) => n + (s.published ?? 0), 0);
  await waitFor(`3,000 readings published (log ${producerLog})`, async () => ((await published()) >= 3000 ? true : undefined), 120_000, 50);

  broker.stop();
  const atStop = await published();
  await new Promise((r) => setTimeout(r, outageMs));
  broker.start();

  const t0 = Date.now();
  const exit = await exitedWithin(producer, 180_000);
  assert.equal(exit, { code: 0, signal: null }, `the producer finishes the data after the outage (stopped at ${atStop} published; log ${producerLog})`);
  const tExit = Date.now() - t0;
  type DeviceView = { deviceId: string; seen: number };
  const devices = await waitFor(`the trainer to score 18,914 readings (log ${trainerLog})`, async () => {
    const d = await getJson<DeviceView[]>(`http://127.0.0.1:${pt}/devices`);
    return d && d.reduce((n, x) => n + x.seen, 0) >= 18_914 ? d : undefined;
  }, 120_000, 500);
  const tScored = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 1500)); // late copies would show here
  const seenNow = (await getJson<DeviceView[]>(`http://127.0.0.1:${pt}/devices`))!;
  assert.equal(seenNow.map((d) => [d.deviceId, d.seen]).sort(), devices.map((d) => [d.deviceId, d.seen]).sort());
  assert.equal(seenNow.map((d) => d.seen).sort(), [4417, 4417, 5039, 5041], 'each mote\'s readings scored exactly once');
  const health = await getJson<{ status: string; problems: string[] }>(`http://127.0.0.1:${pt}/health`);
  assert.equal([health?.status, health?.problems], ['ok', []], 'the trainer is healthy after the outage');

  const seen = new Map<string, number>();
  await readAllReadings({
    brokers: broker.brokers, topic: topics.readings, groupId: `${prefix}count`,
    onReading: (r) => { seen.set(r.readingId, (seen.get(r.readingId) ?? 0) + 1); },
    done: () => seen.size >= 18_914, what: '18,914 readings on the topic', timeoutMs: 120_000, settleMs: 1500,
  });
  assert.is(seen.size, 18_914, 'no reading lost');
  assert.is([...seen.values()].filter((n) => n > 1).length, 0, 'no reading published twice');
  // what the outage did to the services, for the record (the test is about going on, whatever they met)
  const crashes = (readFileSync(producerLog, 'utf8').match(/ActorCrashed/g) ?? []).length;
  console.log(`  outage: stopped at ${atStop} published; producer actors crashed ${crashes} time(s); after the restart the producer finished in ${tExit} ms, the trainer had scored every reading in ${tScored} ms, all read back in ${Date.now() - t0} ms`);
});

test.run();
