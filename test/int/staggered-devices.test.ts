/**
 * Devices whose data come at different times, on real Kafka (trainer and aggregator in this process): with
 * ROUND_MIN_UPDATES=2, device a's readings arrive while b has none, so a's update goes to a round that ends
 * without a model (abandoned); b's readings come later. A device trains for a round only when it has readings
 * in no update sent yet, so b alone could never make a round either; a's last update must stay in play until a
 * global model holds it. Checks: a sends the same update again to the rounds after (without training again),
 * b's update and a's meet in one round, the version published names both, and then neither sends anything.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLeft } from 'fp-ts/Either';
import { loadConfig } from '../../src/config';
import { startAggregator } from '../../src/actors/aggregator/service';
import { startTrainer } from '../../src/actors/trainer/service';
import type { deviceSummary } from '../../src/actors/trainer/device.state';
import type { modelsView, roundsView } from '../../src/actors/aggregator/round.view';
import { openInfra } from '../../src/infra/profile';
import { silentLogger } from '../../src/infra/log';
import { encodeJson } from '../../src/protocols/codec';
import { SensorReading } from '../../src/protocols/readings';
import { waitFor } from '../support/procs';

const test = suite('staggered devices: an update from an abandoned round stays in play until a global model holds it');

const T0 = 1_700_000_000_000;
const DEADLINE_MS = 2_500;
const reading = (deviceId: string, i: number): { key: string; value: string } => ({
  key: deviceId,
  value: encodeJson(SensorReading, { deviceId, readingId: `${deviceId}-${i}`, ts: T0 + i, features: { humidity: 40 + (i % 7) * 0.5, temperature: 20 + (i % 5) * 0.3 }, source: 'test' }),
});
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Device = ReturnType<typeof deviceSummary>;
type Models = ReturnType<typeof modelsView>;
type Rounds = ReturnType<typeof roundsView>;

test('a then b, ROUND_MIN_UPDATES=2: a resends its update to each round until b joins; version 1 holds both; then nothing is sent', async () => {
  const prefix = `int-stagger-${Date.now().toString(36)}-`;
  const models = mkdtempSync(path.join(os.tmpdir(), 'flead-stagger-'));
  const c = loadConfig(process.env, {
    FLEAD_PROFILE: 'local', FLEAD_TOPIC_PREFIX: prefix, MODELS_DIR: models, LOG_LEVEL: 'warn',
    ROUND_QUORUM: '2', ROUND_MIN_UPDATES: '2', ROUND_DEADLINE_MS: String(DEADLINE_MS), ROUND_INTERVAL_MS: '200',
    TRAIN_EVERY: '1000000', TRAIN_MIN_SAMPLES: '20', TRAIN_WINDOW: '100', TRAIN_EPOCHS: '1',
  });
  if (isLeft(c)) throw new Error(c.left);
  const config = c.right;
  const aggInfra = await openInfra(config, 'aggregator');
  const trainerInfra = await openInfra(config, 'trainer');
  // started inside the try below, so that a failed start still stops what started (else the process lingers)
  let aggregator!: Awaited<ReturnType<typeof startAggregator>>;
  let trainer!: Awaited<ReturnType<typeof startTrainer>>;
  const route = <T>(routes: ReadonlyArray<{ pattern: string; handler: (p: Record<string, string>, q: URLSearchParams) => unknown }>, pattern: string): T =>
    routes.find((r) => r.pattern === pattern)!.handler({}, new URLSearchParams()) as T;
  const devices = (): Record<string, Device> => Object.fromEntries(route<Device[]>(trainer.routes, '/devices').map((d) => [d.deviceId, d]));
  const versions = () => route<Models | null>(aggregator.routes, '/models')?.versions ?? [];
  const rounds = () => route<Rounds | null>(aggregator.routes, '/rounds')?.rounds ?? [];
  try {
    aggregator = await startAggregator({ config, ...aggInfra, log: silentLogger });
    trainer = await startTrainer({ config, journal: trainerInfra.journal, bus: trainerInfra.bus, log: silentLogger, instanceId: 'int' });
    await trainer.ready;
    await waitFor('the trainer to hold global version 0', async () => (route<{ latestGlobalVersion: number | null }>(trainer.routes, '/health').latestGlobalVersion === 0 ? true : undefined), 60_000);

    // a's readings: a trains once and sends for the open round; b has nothing, so that round is abandoned
    await trainerInfra.bus.publish(config.topics.readings, Array.from({ length: 40 }, (_, i) => reading('a', i)));
    // (its 40 readings come in one batch here; were they split, it would train once more for the second part)
    const resent = (d: Device | undefined) => d !== undefined && d.unsent === 0 && d.counters.updatesSent > d.counters.trainings;
    await waitFor('a to send its update again, untrained, to a round after an abandoned one', async () => (resent(devices()['a']) ? true : undefined), 60_000);
    assert.ok(rounds().some((r) => r.status === 'abandoned'), `a round was abandoned: ${JSON.stringify(rounds())}`);
    assert.equal(versions().map((v) => v.version), [0], 'no version beyond 0 yet');
    const a = devices()['a']!;
    assert.equal([a.seen, a.unsent, a.unmerged], [40, 0, 40], 'every reading in an update sent, none in a global model');

    // b's readings, later: b's update and a's (again) meet in one round
    await trainerInfra.bus.publish(config.topics.readings, Array.from({ length: 40 }, (_, i) => reading('b', i)));
    const v1 = await waitFor('version 1', async () => versions().find((v) => v.version === 1), 4 * DEADLINE_MS + 30_000);
    assert.equal(v1.updates.map((u) => u.clientId).sort(), ['a', 'b'], 'version 1 holds both devices\' updates');
    await waitFor('both devices to hold version 1', async () => (Object.values(devices()).every((d) => d.model.version === 1) ? true : undefined), 30_000);
    const settled = devices();
    for (const id of ['a', 'b']) assert.equal([settled[id]!.unsent, settled[id]!.unmerged], [0, 0], `${id}: every reading is in version 1`);
    assert.is(settled['a']!.counters.trainings, a.counters.trainings, 'a never trained again');

    // the data has stopped and every reading is in a model: rounds go on (and are abandoned), nothing is sent
    await sleep(DEADLINE_MS + 1_000);
    assert.ok(rounds().some((r) => r.baseVersion === 1), `a round opened on version 1 (the devices had one to send to): ${JSON.stringify(rounds())}`);
    const later = devices();
    for (const id of ['a', 'b']) assert.is(later[id]!.counters.updatesSent, settled[id]!.counters.updatesSent, `${id} sent nothing more`);
    assert.equal(versions().map((v) => v.version), [0, 1]);
  } finally {
    await trainer?.stop();
    await aggregator?.stop();
    await trainerInfra.close();
    await aggInfra.close();
    rmSync(models, { recursive: true, force: true });
  }
});

test.run();
