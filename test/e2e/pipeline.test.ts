/**
 * The whole federated loop on real Kafka, each service its own OS process: producer → trainer → aggregator on
 * the WSN data. Checked through the inspection endpoints: rounds close, every device applied the latest
 * global version, anomalies were emitted; and the dead-letter topic stays empty for clean input.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKafkaBus } from '../../src/infra/bus/kafka-bus';
import { topicNames } from '../../src/protocols/topics';
import { freePort, getJson, startFlead, waitFor, type Proc } from '../support/procs';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const test = suite('federated loop: producer → trainer → aggregator as processes on real Kafka');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-pipeline-'));

interface ModelsView { current: number | null; versions: Array<{ version: number; publishedAt: number | null }> }
interface RoundsView { rounds: Array<{ round: number; status: string; accepted: number }> }
interface DeviceView { deviceId: string; seen: number; model: { version: number | null }; counters: { zscoreAnomalies: number; modelAnomalies: number; updatesSent: number } }

test('rounds close, every device applies the latest version, anomalies are emitted, no dead letters', async () => {
  const prefix = `e2e-pipe-${Date.now().toString(36)}-`;
  const topics = topicNames(prefix);
  const [pa, pt, pp] = [await freePort(), await freePort(), await freePort()];
  const common = {
    KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix, MODELS_DIR: path.join(tmp, 'models'), LOG_LEVEL: 'info',
    ROUND_QUORUM: '4', ROUND_MIN_UPDATES: '2', ROUND_DEADLINE_MS: '20000', ROUND_INTERVAL_MS: '200',
    PRODUCER_RATE: '2500', PRODUCER_BATCH_SIZE: '250', TRAIN_EVERY: '300',
  };
  const procs: Proc[] = [];
  try {
    procs.push(startFlead(['aggregator'], { ...common, INSPECT_PORT: String(pa) }, path.join(tmp, 'aggregator.log')));
    await waitFor('round 1 open', async () => ((await getJson<RoundsView>(`http://127.0.0.1:${pa}/rounds`))?.rounds[0]?.status === 'collecting' ? true : undefined), 120_000);
    procs.push(startFlead(['trainer', '--id', 't1'], { ...common, INSPECT_PORT: String(pt) }, path.join(tmp, 'trainer.log')));
    await waitFor('trainer ready', async () => ((await getJson<{ status: string }>(`http://127.0.0.1:${pt}/health`))?.status === 'ok' ? true : undefined), 120_000);
    const producer = startFlead(['producer', '--exit-when-done'], { ...common, INSPECT_PORT: String(pp) }, path.join(tmp, 'producer.log'));
    procs.push(producer);
    assert.is((await producer.exited).code, 0, `producer finished (log ${tmp}/producer.log)`);

    const devices = await waitFor('all 18,914 readings scored by 4 device actors', async () => {
      const d = await getJson<DeviceView[]>(`http://127.0.0.1:${pt}/devices`);
      return d && d.length === 4 && d.reduce((n, x) => n + x.seen, 0) === 18_914 ? d : undefined;
    }, 240_000, 500);
    const models = await waitFor('at least 3 global versions', async () => {
      const m = await getJson<ModelsView>(`http://127.0.0.1:${pa}/models`);
      return m && (m.current ?? 0) >= 3 ? m : undefined;
    }, 120_000, 500);
    const rounds = (await getJson<RoundsView>(`http://127.0.0.1:${pa}/rounds`))!;
    assert.ok(rounds.rounds.filter((r) => r.status === 'published').length >= 3, 'rounds close and publish');
    const latest = await waitFor('every device on the latest global version', async () => {
      const m = await getJson<ModelsView>(`http://127.0.0.1:${pa}/models`);
      const d = await getJson<DeviceView[]>(`http://127.0.0.1:${pt}/devices`);
      return m && d && d.every((x) => x.model.version === m.current) ? m.current : undefined;
    }, 120_000, 500);
    assert.ok(latest !== null && latest >= models.current!);
    const anomalies = devices.reduce((n, d) => n + d.counters.zscoreAnomalies + d.counters.modelAnomalies, 0);
    assert.ok(anomalies > 0, 'anomalies were emitted');
    assert.ok(devices.every((d) => d.counters.updatesSent >= 1), 'every device sent local updates');

    const bus = createKafkaBus({ brokers, clientId: 'pipeline-dlq' });
    let letters = 0;
    await bus.ensureTopics([{ topic: topics.deadLetters, partitions: 1 }]);
    const sub = await bus.subscribe({ groupId: `${prefix}dlq`, topics: [topics.deadLetters], fromBeginning: true, eachBatch: async (ms) => { letters += ms.length; } });
    await new Promise((r) => setTimeout(r, 2000));
    await sub.stop();
    await bus.close();
    assert.is(letters, 0, 'nothing in the dead-letter topic for clean input');
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
  }
});

test.run();
