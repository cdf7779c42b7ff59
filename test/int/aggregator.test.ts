/**
 * The aggregator service in-process on the real Kafka journal and bus: every rejection reason becomes an
 * event, undecodable input goes to the dead-letter topic, a round closes on quorum, a round without enough
 * updates is abandoned at its deadline (previous model kept), the inspection endpoint answers, and the state
 * replayed from the Kafka journal equals the live state.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLeft } from 'fp-ts/Either';
import { loadConfig, type Config } from '../../src/config';
import { startAggregator, type AggregatorService } from '../../src/actors/aggregator/service';
import { replayRound } from '../../src/actors/aggregator/replay';
import type { RoundState } from '../../src/actors/aggregator/round.state';
import { openInfra, type Infra } from '../../src/infra/profile';
import { startInspectionServer, fetchJson, type InspectionServer } from '../../src/infra/http/inspection-server';
import { createLogger, silentLogger } from '../../src/infra/log';
import { decodeJson, encodeJson } from '../../src/protocols/codec';
import { DeadLetter } from '../../src/protocols/dead-letter';
import { LocalModelUpdate } from '../../src/protocols/models';
import { waitFor } from '../support/procs';
import { makeUpdate } from '../support/updates';

const test = suite('aggregator service on real Kafka');
const prefix = `int-agg-${Date.now().toString(36)}-`;
let config: Config;
let infra: Infra;
let svc: AggregatorService;
let http: InspectionServer;

const state = () => svc.registry.get('aggregator/round')!.state as RoundState;
const send = (us: Array<LocalModelUpdate | string>) =>
  infra.bus.publish(config.topics.localUpdates, us.map((u) => (typeof u === 'string' ? { key: 'garbage', value: u } : { key: u.clientId, value: encodeJson(LocalModelUpdate, u) })));

test.before(async () => {
  const c = loadConfig(process.env, {
    FLEAD_PROFILE: 'local', FLEAD_TOPIC_PREFIX: prefix, MODELS_DIR: mkdtempSync(path.join(os.tmpdir(), 'flead-agg-')),
    ROUND_QUORUM: '3', ROUND_MIN_UPDATES: '2', ROUND_DEADLINE_MS: '8000', ROUND_INTERVAL_MS: '0', MAX_UPDATE_BYTES: '20000', SNAPSHOT_EVERY: '5',
  });
  if (isLeft(c)) throw new Error(c.left);
  config = c.right;
  infra = await openInfra(config, 'aggregator');
  svc = await startAggregator({ config, ...infra, log: process.env.FLEAD_TEST_LOG ? createLogger('aggregator', 'debug') : silentLogger });
  http = await startInspectionServer({ port: 0, routes: svc.routes });
  await svc.ready;
  await waitFor('round 1 open', async () => (state().phase === 'Collecting' ? true : undefined), 30_000);
});

test.after(async () => {
  // each may be missing when test.before failed: then its error, not this hook's, is the one reported
  await svc?.stop();
  await http?.close();
  await infra?.close();
});

test('every rejection reason is recorded; three good updates close round 1 on quorum', async () => {
  const bigMetrics = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`m${i}`, i]));
  // Updates of different clients land on different partitions: order the phases by waiting for each.
  const r1 = () => state().rounds[0]!;
  const rejections = () => Object.values(r1().rejected).reduce((a, b) => a + (b ?? 0), 0);
  await send([makeUpdate({ client: 1, round: 1, baseVersion: 0 })]);
  await waitFor('client 1 accepted', async () => (r1().accepted.length === 1 ? true : undefined), 30_000);
  await send([
    '{"not": "an update"',
    makeUpdate({ client: 1, round: 1, baseVersion: 0, updateId: 'c1-again' }),
    makeUpdate({ client: 7, round: 1, baseVersion: 0, mutate: (w) => { w[3] = NaN; } }),
    makeUpdate({ client: 8, round: 1, baseVersion: 0, layers: [{ name: 'encoder/kernel', shape: [3, 8] }] }),
    makeUpdate({ client: 9, round: 1, baseVersion: 5 }),
    makeUpdate({ client: 10, round: 9, baseVersion: 0 }),
    { ...makeUpdate({ client: 11, round: 1, baseVersion: 0 }), metrics: bigMetrics },
  ]);
  await waitFor('six rejections', async () => (rejections() === 6 ? true : undefined), 30_000);
  await send([makeUpdate({ client: 2, round: 1, baseVersion: 0 }), makeUpdate({ client: 3, round: 1, baseVersion: 0 })]);
  await waitFor('version 1 published', async () => (state().version === 1 ? true : undefined), 30_000);
  assert.is(r1().closeReason, 'quorum');
  assert.equal(r1().accepted.map((a) => a.clientId).sort(), ['client-1', 'client-2', 'client-3']);
  assert.equal(r1().rejected, {
    'client-already-counted': 1, 'non-finite-weights': 1, 'wrong-shape': 1, 'stale-base-version': 1, 'unknown-round': 1, 'oversized-payload': 1,
  });
  const v1 = state().models.find((m) => m.version === 1)!;
  assert.is(v1.parentVersion, 0);
  assert.equal(v1.updates.map((u) => u.clientId), ['client-1', 'client-2', 'client-3']);
  assert.equal(v1.strategy, { name: 'fedavg', trimRatio: null });
});

test('undecodable input goes to the dead-letter topic with the reason and the raw bytes', async () => {
  const letters: DeadLetter[] = [];
  const sub = await infra.bus.subscribe({
    groupId: `${prefix}dlq-reader`, topics: [config.topics.deadLetters], fromBeginning: true,
    eachBatch: async (ms) => { for (const m of ms) { const d = decodeJson(DeadLetter, m.value); if (!isLeft(d)) letters.push(d.right); } },
  });
  try {
    const letter = await waitFor('a dead letter', async () => letters[0], 30_000);
    assert.is(letter.service, 'aggregator');
    assert.is(letter.source.topic, config.topics.localUpdates);
    assert.match(letter.reason, /not valid JSON/);
    assert.is(Buffer.from(letter.raw, 'base64').toString(), '{"not": "an update"');
  } finally {
    await sub.stop();
  }
});

test('a round with fewer than the minimum updates is abandoned at its deadline and the model is kept', async () => {
  const open = await waitFor('a round open on version 1', async () => {
    const s = state();
    return s.phase === 'Collecting' && s.current >= 2 ? s.current : undefined;
  }, 30_000);
  await send([makeUpdate({ client: 1, round: open, baseVersion: 1 })]);
  const r = await waitFor(`round ${open} abandoned`, async () => {
    const x = state().rounds.find((y) => y.round === open);
    return x?.status === 'abandoned' ? x : undefined;
  }, 30_000);
  assert.match(r.closeReason ?? '', /of the 2 updates needed/);
  assert.ok(r.accepted.length < 2);
  assert.is(state().version, 1);
  await waitFor('the next round open on version 1', async () => (state().rounds.find((y) => y.round === open + 1)?.baseVersion === 1 ? true : undefined), 30_000);
});

test('the inspection endpoint serves the tree, rounds, models; 404 with a reason; 405 for writes', async () => {
  const actors = await fetchJson(`${http.url}/actors`);
  assert.is(actors.status, 200);
  const round = (actors.body as Array<{ path: string; kind: string; status: string; seq: number; restarts: number; mailboxDepth: number | null }>).find((a) => a.path === 'aggregator/round')!;
  assert.is(round.kind, 'round');
  assert.is(round.status, 'running');
  assert.ok(round.seq > 10);
  assert.is(typeof round.mailboxDepth, 'number');
  const models = await fetchJson(`${http.url}/models/1`);
  assert.is(models.status, 200);
  const missing = await fetchJson(`${http.url}/models/99`);
  assert.is(missing.status, 404);
  assert.match(JSON.stringify(missing.body), /no model with version 99/);
  const post = await fetchJson(`${http.url}/rounds`, { method: 'POST' });
  assert.is(post.status, 405);
  const health = await fetchJson(`${http.url}/health`);
  assert.is((health.body as { status: string }).status, 'ok');
});

test('the state replayed from the Kafka journal equals the live state', async () => {
  const live = svc.registry.get('aggregator/round')!;
  const replayed = await replayRound(infra.journal, 'aggregator');
  assert.is(replayed.seq, live.info.seq);
  assert.equal(replayed.state, live.state);
  assert.ok(live.info.lastSnapshotSeq !== null && live.info.lastSnapshotSeq >= 5, `snapshots taken (lastSnapshotSeq ${live.info.lastSnapshotSeq})`);
});

test('restarted with another MODEL_SPEC over its journal: /health says the journaled model keeps its shape and what to do', async () => {
  await svc.stop();
  await infra.close();
  const c = loadConfig(process.env, { ...Object.fromEntries(Object.entries(process.env)), FLEAD_PROFILE: 'local', FLEAD_TOPIC_PREFIX: prefix, MODELS_DIR: config.modelsDir, MODEL_SPEC: JSON.stringify({ kind: 'autoencoder', inputs: 2, hidden: [6, 2, 6] }) });
  if (isLeft(c)) throw new Error(c.left);
  infra = await openInfra(c.right, 'aggregator');
  svc = await startAggregator({ config: c.right, ...infra, log: silentLogger });
  await svc.ready;
  const health = svc.routes.find((r) => r.pattern === '/health')!.handler({}, new URLSearchParams()) as { status: string; problems: string[] };
  assert.is(health.status, 'degraded');
  assert.equal(health.problems.length, 1);
  assert.match(health.problems[0]!, /^the global model \(v\d+\) has layers dense_1\/kernel 2x8, .* but MODEL_SPEC gives dense_1\/kernel 2x6, .*: this journal keeps its model's shape and rejects updates of another; to train a model of the new shape start on new topics \(another FLEAD_TOPIC_PREFIX\)/);
});

test.run();
