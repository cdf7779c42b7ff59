/**
 * The trainer service on real Kafka with bad and unusual input: a reading that is not JSON, one that is not a
 * reading, one over MAX_READING_BYTES each become a dead letter with the reason; a device whose readings carry
 * 400 features (about 11 KiB each, so a fetched batch of them would make one oversized journal event) is scored
 * in full; the service stays healthy and scores what comes after.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLeft } from 'fp-ts/Either';
import { loadConfig, type Config } from '../../src/config';
import { MAX_READING_BYTES, startTrainer, type TrainerService } from '../../src/actors/trainer/service';
import { openInfra, type Infra } from '../../src/infra/profile';
import { silentLogger } from '../../src/infra/log';
import { decodeJson, encodeJson } from '../../src/protocols/codec';
import { DeadLetter } from '../../src/protocols/dead-letter';
import { SensorReading } from '../../src/protocols/readings';
import { GlobalModel } from '../../src/protocols/models';
import { encodeWeights, hashWeights, type LayerShape } from '../../src/protocols/weights';
import { initialWeights } from '../../src/actors/aggregator/initial-model';
import { modelLayers, type ModelSpec } from '../../src/actors/trainer/model';
import { waitFor } from '../support/procs';

const test = suite('trainer: bad readings become dead letters; wide readings are scored; the service keeps going');

const T0 = 1_700_000_000_000;
const reading = (deviceId: string, i: number, features: Record<string, number>): string =>
  encodeJson(SensorReading, { deviceId, readingId: `${deviceId}-${i}`, ts: T0 + i, features, source: 'test' });

async function openLocal(tag: string, env: Record<string, string> = {}, prefix = `int-trainer-${tag}-${Date.now().toString(36)}-`) {
  const c = loadConfig(process.env, { FLEAD_PROFILE: 'local', FLEAD_TOPIC_PREFIX: prefix, MODELS_DIR: mkdtempSync(path.join(os.tmpdir(), 'flead-trainer-int-')), LOG_LEVEL: 'warn', ...env });
  if (isLeft(c)) throw new Error(c.left);
  return { prefix, config: c.right, infra: await openInfra(c.right, 'trainer') };
}
/** A global model message of `version` with these layers (initial weights seeded by the version). */
const model = (version: number, layers: LayerShape[]): string => {
  const weights = initialWeights(layers, version);
  return encodeJson(GlobalModel, {
    kind: 'global-model', version, hash: hashWeights(weights), weights: encodeWeights(layers, weights), createdAt: T0,
    lineage: { parentVersion: version - 1, round: version, strategy: { name: 'fedavg', trimRatio: null }, updates: [] },
  });
};
/** The dead letters of a prefix's topic, as they arrive (stop the subscription at the end). */
async function collectDeadLetters(bus: Awaited<ReturnType<typeof openLocal>>['infra']['bus'], prefix: string, topic: string) {
  const letters: DeadLetter[] = [];
  const sub = await bus.subscribe({
    groupId: `${prefix}check`, topics: [topic], fromBeginning: true,
    eachBatch: async (ms) => { for (const m of ms) { const d = decodeJson(DeadLetter, m.value); if (!isLeft(d)) letters.push(d.right); } },
  });
  return { letters, sub };
}
/** A trainer on its own topics with the dead letters it sends collected; everything stopped after `body`. */
async function withTrainer(tag: string, body: (t: { config: Config; infra: Infra; trainer: TrainerService; letters: DeadLetter[] }) => Promise<void>): Promise<void> {
  const { prefix, config, infra } = await openLocal(tag);
  let sub: { stop(): Promise<void> } | undefined;
  let trainer: TrainerService | undefined;
  try {
    // started inside the try: a failed start still closes the infrastructure (else the process lingers)
    trainer = await startTrainer({ config, journal: infra.journal, bus: infra.bus, log: silentLogger, instanceId: 'int' });
    await trainer.ready;
    const collected = await collectDeadLetters(infra.bus, prefix, config.topics.deadLetters);
    sub = collected.sub;
    await body({ config, infra, trainer, letters: collected.letters });
  } finally {
    await sub?.stop();
    await trainer?.stop();
    await infra.close();
  }
}
type Health = { status: string; problems: string[]; latestGlobalVersion: number | null };
const healthOf = (trainer: Awaited<ReturnType<typeof startTrainer>>) => trainer.routes.find((r) => r.pattern === '/health')!.handler({}, new URLSearchParams()) as Health;

test('3 bad readings → 3 dead letters with reasons; 300 readings of 400 features and 60 plain ones are all scored', async () => {
  await withTrainer('bad', async ({ config, infra, trainer, letters }) => {
    const names = Array.from({ length: 400 }, (_, i) => `feature_${String(i).padStart(3, '0')}`);
    const wide = (i: number) => reading('wide', i, Object.fromEntries(names.map((n, k) => [n, Math.sin(i * 400 + k) * 1e-3 + k])));
    for (let from = 0; from < 300; from += 50) {
      await infra.bus.publish(config.topics.readings, Array.from({ length: 50 }, (_, k) => ({ key: 'wide', value: wide(from + k) })));
    }
    const huge = reading('big', 1, Object.fromEntries(Array.from({ length: 4000 }, (_, k) => [`f${k}`, k + 0.123456789])));
    assert.ok(Buffer.byteLength(huge) > MAX_READING_BYTES);
    await infra.bus.publish(config.topics.readings, [
      { key: 'bad', value: '{"deviceId": "bad", oops' },
      { key: 'bad', value: JSON.stringify({ deviceId: 'bad', readingId: 'bad-1', ts: T0 }) },
      { key: 'big', value: huge },
    ]);
    await infra.bus.publish(config.topics.readings, Array.from({ length: 60 }, (_, i) => ({ key: 'plain', value: reading('plain', i, { humidity: 40 + (i % 7), temperature: 20 + (i % 5) }) })));

    const devices = trainer.routes.find((r) => r.pattern === '/devices')!;
    const seen = () => Object.fromEntries((devices.handler({}, new URLSearchParams()) as Array<{ deviceId: string; seen: number }>).map((d) => [d.deviceId, d.seen]));
    await waitFor('every good reading scored and 3 dead letters', async () => (seen()['wide'] === 300 && seen()['plain'] === 60 && letters.length >= 3 ? true : undefined), 120_000);
    assert.equal(seen(), { plain: 60, wide: 300 }, 'no device for the bad readings');
    assert.is(letters.length, 3);
    const byOffset = [...letters].sort((a, b) => Number(a.source.offset) - Number(b.source.offset));
    assert.match(byOffset.map((l) => l.reason).join('\n'), /not valid JSON/);
    assert.match(byOffset.map((l) => l.reason).join('\n'), /SensorReading/);
    assert.match(byOffset.map((l) => l.reason).join('\n'), new RegExp(`reading of ${Buffer.byteLength(huge)} bytes: a trainer takes readings of at most ${MAX_READING_BYTES} bytes`));
    for (const l of letters) assert.equal([l.service, l.source.topic], ['trainer', config.topics.readings]);
    // the wide device does not fit the default 2-input model (only the z-score baseline scores it): said on /health
    const health = healthOf(trainer);
    assert.equal([health.status, health.problems], ['degraded', [
      '1 device(s) scored by the z-score baseline only: their readings carry 400 features, the model takes 2; set MODEL_SPEC ("inputs": 400) on the aggregator and every trainer, or MODEL_FEATURES to the 2 features to use (wide)',
    ]]);
    // the wide device's readings are in its journal in full, over several events
    let events = 0;
    let readings = 0;
    for await (const e of infra.journal.read('trainer/device/wide')) {
      const d = e.data as { type: string; readings?: unknown[] };
      if (d.type === 'ReadingsScored') { events++; readings += d.readings!.length; }
    }
    assert.is(readings, 300);
    // ~2.5 MB of scored readings in events of at most EVENT_BUDGET_BYTES (256 KiB); the fetched batches held 50
    assert.ok(events >= 10, `${events} ReadingsScored events for 300 readings of ~11 KiB`);
  });
});

test('device ids that differ only in characters an actor name cannot hold (a/b and a_b, x y and x_y, ü) each get their own actor', async () => {
  const { config, infra } = await openLocal('names');
  let trainer: Awaited<ReturnType<typeof startTrainer>> | undefined;
  const ids = ['a/b', 'a_b', 'x y', 'x_y', 'ü', 'mote-1'];
  try {
    trainer = await startTrainer({ config, journal: infra.journal, bus: infra.bus, log: silentLogger, instanceId: 'int' });
    await trainer.ready;
    for (const id of ids) {
      await infra.bus.publish(config.topics.readings, Array.from({ length: 20 }, (_, i) => ({ key: id, value: reading(id, i, { humidity: 40 + (i % 3), temperature: 20 }) })));
    }
    const devices = trainer.routes.find((r) => r.pattern === '/devices')!;
    const seen = () => Object.fromEntries((devices.handler({}, new URLSearchParams()) as Array<{ deviceId: string; seen: number }>).map((d) => [d.deviceId, d.seen]));
    // before, the second of a/b and a_b (one actor name, device-a_b) failed its partition's batch over and over
    await waitFor('every device scored', async () => (ids.every((id) => seen()[id] === 20) ? true : undefined), 60_000);
    const paths = trainer.registry.list().map((a) => a.path).filter((p) => p.startsWith('trainer/device-')).sort();
    assert.equal(paths, ['trainer/device-_C3_BC', 'trainer/device-a_2Fb', 'trainer/device-a_5Fb', 'trainer/device-mote-1', 'trainer/device-x_20y', 'trainer/device-x_5Fy']);
  } finally {
    await trainer?.stop();
    await infra.close();
  }
});

test('readings with features beyond ±1e100 (1e308, 1e200) are dead letters with the reason; their devices and partitions go on', async () => {
  await withTrainer('range', async ({ config, infra, trainer, letters }) => {
    // before: the detectors' sums of squares became infinite, the device crashed on every batch of its partition
    await infra.bus.publish(config.topics.readings, [
      ...Array.from({ length: 30 }, (_, i) => ({ key: 'huge', value: reading('huge', i, { humidity: i % 2 ? 1e308 : -1e308, temperature: 20 }) })),
      ...Array.from({ length: 60 }, (_, i) => ({ key: 'jump', value: reading('jump', i, { humidity: i < 50 ? 40 + (i % 3) : 1e200, temperature: 20 }) })),
      ...Array.from({ length: 40 }, (_, i) => ({ key: 'jump', value: reading('jump', 60 + i, { humidity: 40 + (i % 3), temperature: 20 }) })),
    ]);
    const devices = trainer.routes.find((r) => r.pattern === '/devices')!;
    const seen = () => Object.fromEntries((devices.handler({}, new URLSearchParams()) as Array<{ deviceId: string; seen: number }>).map((d) => [d.deviceId, d.seen]));
    await waitFor('the in-range readings scored, 40 dead letters', async () => (seen()['jump'] === 90 && letters.length >= 40 ? true : undefined), 60_000);
    assert.equal(seen(), { jump: 90 });
    assert.is(letters.length, 40);
    assert.ok(letters.some((l) => /^reading huge-1: feature humidity is 1e\+308: a trainer takes values within ±1e\+100/.test(l.reason)), letters[0]!.reason);
    assert.ok(letters.some((l) => /^reading jump-50: feature humidity is 1e\+200/.test(l.reason)));
    assert.is(healthOf(trainer).status, 'ok', JSON.stringify(healthOf(trainer).problems));
  });
});

test('a partition whose batch keeps failing is a /health problem naming it and the reason, until the batch goes through', async () => {
  const { config, infra } = await openLocal('stuck');
  let cursed = true; // appends of device "cursed" fail until this is cleared
  const journal: typeof infra.journal = Object.assign(Object.create(infra.journal) as typeof infra.journal, {
    append: (...args: Parameters<typeof infra.journal.append>) => (cursed && args[0] === 'trainer/device/cursed'
      ? Promise.reject(new Error('injected: the journal refuses this device')) : infra.journal.append(...args)),
  });
  let trainer: Awaited<ReturnType<typeof startTrainer>> | undefined;
  try {
    trainer = await startTrainer({ config, journal, bus: infra.bus, log: silentLogger, instanceId: 'int' });
    await trainer.ready;
    await infra.bus.publish(config.topics.readings, Array.from({ length: 10 }, (_, i) => ({ key: 'cursed', value: reading('cursed', i, { humidity: 40, temperature: 20 }) })));
    const h = await waitFor('the failing partition on /health', async () => { const x = healthOf(trainer!); return x.problems.some((p) => /failed \d+ times in a row/.test(p)) ? x : undefined; }, 90_000);
    assert.is(h.status, 'degraded');
    assert.match(h.problems.join('\n'), new RegExp(`^${config.topics.readings}\\[\\d+\\]: a batch of 10 reading\\(s\\) failed \\d+ times in a row since \\S+ \\(redelivered each time; the partition's later readings wait\\): .*injected: the journal refuses this device`, 'm'));
    cursed = false;
    const devices = trainer.routes.find((r) => r.pattern === '/devices')!;
    const seen = () => (devices.handler({}, new URLSearchParams()) as Array<{ deviceId: string; seen: number }>).find((d) => d.deviceId === 'cursed')?.seen;
    await waitFor('the batch goes through once the journal takes it', async () => (seen() === 10 ? true : undefined), 90_000);
    const after = await waitFor('no partition problem left', async () => { const x = healthOf(trainer!); return x.problems.some((p) => /in a row/.test(p)) ? undefined : x; }, 30_000);
    assert.not.match(after.problems.join('\n'), /in a row/);
  } finally {
    await trainer?.stop();
    await infra.close();
  }
});

test('a global model whose layers do not fit MODEL_SPEC is ignored and shown on /health until one that fits arrives', async () => {
  const { config, infra } = await openLocal('misfit');
  let trainer: Awaited<ReturnType<typeof startTrainer>> | undefined;
  try {
    trainer = await startTrainer({ config, journal: infra.journal, bus: infra.bus, log: silentLogger, instanceId: 'int' });
    await trainer.ready;
    const other = modelLayers({ kind: 'autoencoder', inputs: 3, hidden: [4] });
    await infra.bus.publish(config.topics.globalModels, [{ key: 'global', value: model(1, other) }]);
    const h = await waitFor('health degraded', async () => { const x = healthOf(trainer!); return x.status === 'degraded' ? x : undefined; }, 60_000);
    assert.equal(h.problems, [`global model v1 ignored: its layers (${other.map((l) => `${l.name} ${l.shape.join('x')}`).join(', ')}) do not match this trainer's MODEL_SPEC (${config.model.layers.map((l) => `${l.name} ${l.shape.join('x')}`).join(', ')}); the aggregator and the trainers must share MODEL_SPEC`]);
    assert.is(h.latestGlobalVersion, null, 'not applied');
    await infra.bus.publish(config.topics.globalModels, [{ key: 'global', value: model(2, config.model.layers) }]);
    const ok = await waitFor('health ok again', async () => { const x = healthOf(trainer!); return x.status === 'ok' ? x : undefined; }, 60_000);
    assert.equal([ok.problems, ok.latestGlobalVersion], [[], 2]);
  } finally {
    await trainer?.stop();
    await infra.close();
  }
});

test('restarted with another MODEL_SPEC, a device holding the old weights is scored without the model and shown on /health until a model that fits arrives', async () => {
  const first = await openLocal('respec');
  const plain = (from: number) => Array.from({ length: 20 }, (_, i) => ({ key: 'plain', value: reading('plain', from + i, { humidity: 40 + (i % 7), temperature: 20 + (i % 5) }) }));
  const seen = (t: Awaited<ReturnType<typeof startTrainer>>) => (t.routes.find((r) => r.pattern === '/devices/:id')!.handler({ id: 'plain' }, new URLSearchParams()) as { seen?: number; model?: { version: number | null } } | undefined);
  let trainer: Awaited<ReturnType<typeof startTrainer>> | undefined;
  try {
    trainer = await startTrainer({ config: first.config, journal: first.infra.journal, bus: first.infra.bus, log: silentLogger, instanceId: 'int' });
    await trainer.ready;
    await first.infra.bus.publish(first.config.topics.readings, plain(0));
    await waitFor('20 readings scored', async () => (seen(trainer!)?.seen === 20 ? true : undefined), 60_000);
    await first.infra.bus.publish(first.config.topics.globalModels, [{ key: 'global', value: model(1, first.config.model.layers) }]);
    await waitFor('v1 applied', async () => (seen(trainer!)?.model?.version === 1 ? true : undefined), 60_000);
  } finally {
    await trainer?.stop();
    await first.infra.close();
  }
  const spec: ModelSpec = { kind: 'autoencoder', inputs: 2, hidden: [6, 2, 6] };
  const second = await openLocal('respec', { MODEL_SPEC: JSON.stringify(spec) }, first.prefix);
  try {
    trainer = await startTrainer({ config: second.config, journal: second.infra.journal, bus: second.infra.bus, log: silentLogger, instanceId: 'int' });
    await trainer.ready;
    await second.infra.bus.publish(second.config.topics.readings, plain(20));
    await waitFor('40 readings scored, no crash', async () => (seen(trainer!)?.seen === 40 ? true : undefined), 60_000);
    const h = healthOf(trainer);
    assert.equal([h.status, h.problems], ['degraded', [
      "1 device(s) scored by the z-score baseline only: plain: plain: its model v1 has 101 parameters but MODEL_SPEC's has 64 (was the trainer started with another MODEL_SPEC?): only the z-score baseline scores this device until a global model that fits arrives",
    ]]);
    await second.infra.bus.publish(second.config.topics.globalModels, [{ key: 'global', value: model(2, modelLayers(spec)) }]);
    await waitFor('v2 applied', async () => (seen(trainer!)?.model?.version === 2 ? true : undefined), 60_000);
    await second.infra.bus.publish(second.config.topics.readings, plain(40));
    await waitFor('60 readings scored', async () => (seen(trainer!)?.seen === 60 ? true : undefined), 60_000);
    assert.equal([healthOf(trainer).status, healthOf(trainer).problems], ['ok', []]);
  } finally {
    await trainer?.stop();
    await second.infra.close();
  }
});

test.run();
