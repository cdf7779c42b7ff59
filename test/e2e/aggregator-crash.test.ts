/**
 * Crash safety on real Kafka: the aggregator runs as its own OS process; one run is uninterrupted, the other
 * is SIGKILLed in the middle of round 1 and restarted. The published global model must be bit-identical, and
 * no update may be counted twice or lost. Then `flead replay --compare` must find the replayed state equal to
 * the live one.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLeft } from 'fp-ts/Either';
import { createKafkaBus } from '../../src/infra/bus/kafka-bus';
import type { Bus } from '../../src/infra/bus/port';
import { decodeJson, encodeJson } from '../../src/protocols/codec';
import { GlobalTopicMessage, LocalModelUpdate, type GlobalModel } from '../../src/protocols/models';
import { topicNames } from '../../src/protocols/topics';
import { freePort, getJson, runFlead, startFlead, waitFor, type Proc } from '../support/procs';
import { makeUpdate } from '../support/updates';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const test = suite('aggregator crash safety (separate processes, real Kafka)');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-crash-'));
const run = Date.now().toString(36);

interface RoundsView { rounds: Array<{ round: number; status: string; accepted: number; rejected: Record<string, number>; version: number | null }> }
interface ModelsView { current: number | null; versions: Array<{ version: number; hash: string; publishedAt: number | null; updates: Array<{ clientId: string; updateId: string }> }> }

const updates = [1, 2, 3, 4, 5, 6].map((client) => makeUpdate({ client, round: 1, baseVersion: 0 }));

async function publish(bus: Bus, topic: string, list: LocalModelUpdate[]): Promise<void> {
  await bus.publish(topic, list.map((u) => ({ key: u.clientId, value: encodeJson(LocalModelUpdate, u) })));
}

async function publishedModels(bus: Bus, topic: string, group: string, version: number): Promise<GlobalModel> {
  const found: GlobalModel[] = [];
  const sub = await bus.subscribe({
    groupId: group, topics: [topic], fromBeginning: true,
    eachBatch: async (ms) => {
      for (const m of ms) {
        const d = decodeJson(GlobalTopicMessage, m.value);
        if (!isLeft(d) && d.right.kind === 'global-model' && d.right.version === version) found.push(d.right);
      }
    },
  });
  try {
    return await waitFor(`global model v${version} on ${topic}`, async () => found[0], 60_000);
  } finally {
    await sub.stop();
  }
}

async function scenario(name: string, crash: boolean) {
  const prefix = `e2e-${run}-${name}-`;
  const topics = topicNames(prefix);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix, MODELS_DIR: path.join(tmp, name, 'models'), INSPECT_PORT: String(port),
    ROUND_QUORUM: '6', ROUND_MIN_UPDATES: '6', ROUND_DEADLINE_MS: '600000', ROUND_INTERVAL_MS: '0', LOG_LEVEL: 'info',
  };
  const log = path.join(tmp, `${name}.log`);
  const bus = createKafkaBus({ brokers, clientId: `test-${name}` });
  let proc: Proc = startFlead(['aggregator'], env, log);
  try {
    const roundOpen = async () => (await getJson<RoundsView>(`${base}/rounds`))?.rounds.find((r) => r.round === 1 && r.status === 'collecting');
    await waitFor(`round 1 to open (log ${log})`, roundOpen, 120_000);
    if (!crash) {
      await publish(bus, topics.localUpdates, updates);
    } else {
      await publish(bus, topics.localUpdates, updates.slice(0, 3));
      await waitFor('a first accepted update', async () => { const r = await roundOpen(); return r && r.accepted >= 1 ? r : undefined; }, 60_000, 5);
      proc.child.kill('SIGKILL');
      const exit = await proc.exited;
      assert.is(exit.signal, 'SIGKILL');
      // While it is down: the rest, and a redelivered duplicate of an update it may already have counted.
      await publish(bus, topics.localUpdates, [...updates.slice(3), updates[0]!]);
      proc = startFlead(['aggregator'], env, log);
    }
    const models = await waitFor(`version 1 (log ${log})`, async () => {
      const m = await getJson<ModelsView>(`${base}/models`);
      return m && m.versions.some((v) => v.version === 1 && v.publishedAt !== null) ? m : undefined;
    }, 120_000);
    const rounds = await waitFor('round 1 published', async () => { const r = await getJson<RoundsView>(`${base}/rounds`); return r?.rounds.find((x) => x.round === 1)?.status === 'published' ? r : undefined; });
    const published = await publishedModels(bus, topics.globalModels, `${prefix}reader`, 1);
    const replay = await runFlead(['replay', '--service', 'aggregator', '--compare', base], { KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix });
    return { models, rounds, published, replay };
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
    await bus.close();
  }
}

let clean: Awaited<ReturnType<typeof scenario>>;
let crashed: Awaited<ReturnType<typeof scenario>>;

test('an uninterrupted run publishes version 1 from the 6 updates', async () => {
  clean = await scenario('clean', false);
  const v1 = clean.models.versions.find((v) => v.version === 1)!;
  assert.is(v1.updates.length, 6);
  assert.is(clean.rounds.rounds[0]!.accepted, 6);
});

test('a run killed with SIGKILL mid-round completes the round after restart', async () => {
  crashed = await scenario('crashed', true);
  const r1 = crashed.rounds.rounds.find((r) => r.round === 1)!;
  assert.is(r1.status, 'published');
  assert.is(r1.accepted, 6);
});

test('the published global model is bit-identical to the uninterrupted run', () => {
  assert.is(crashed.published.hash, clean.published.hash);
  assert.is(crashed.published.weights.data, clean.published.weights.data);
  assert.equal(crashed.published.lineage.updates, clean.published.lineage.updates);
});

test('no update was counted twice or lost', () => {
  const ids = crashed.models.versions.find((v) => v.version === 1)!.updates.map((u) => u.updateId).sort();
  assert.equal(ids, updates.map((u) => u.updateId).sort());
});

test('flead replay --compare finds the replayed state equal to the live one', () => {
  assert.is(crashed.replay.code, 0, crashed.replay.stderr);
  assert.match(crashed.replay.stderr, /equals the live state/);
  assert.is(clean.replay.code, 0, clean.replay.stderr);
});

test.run();
