/**
 * Trainer rebalancing on real Kafka, each service its own OS process (issue 3 §3, issue 5 §4): two trainer
 * processes in one consumer group both get partitions of `edge-iiot-stream` (and so devices); one is SIGKILLed
 * mid-stream and the other takes over its devices with their state: each moved device actor recovers from the
 * Kafka journal, so its `seen` ends at exactly the number of readings published for the device (none lost, none
 * counted twice across the move) and its counters continue from where the killed process left them.
 *
 * Data: `--dataset generated --rows 12000 --devices 12` (Edge-IIoTset-shaped rows, 61 features each once the
 * one-hot vocabulary is learnt, which the producer's planning pass does); its devices hash to partitions 3, 4, 6,
 * 8, 9 and 10 of the readings topic's 12 (READINGS_PARTITIONS), so with two group members (ranges 0-5 and 6-11)
 * both own devices whichever member gets which range. The stream is slowed per device so the kill lands mid-stream and
 * readings of every moved device are still coming after the takeover (so t2 is seen scoring them). At the end,
 * with the aggregator stopped, `flead replay --compare` rebuilds every device from the journal both processes
 * wrote and finds it equal to t2's live state. Last, a third trainer joins after the stream: the devices of the
 * partitions it gets are recovered there from the journal at once, with no reading to wake them.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isBadRow, openDataset } from '../../src/infra/datasets';
import { topicNames } from '../../src/protocols/topics';
import { actorsStandStill, freePort, getJson, runFlead, startFlead, waitFor, type Proc } from '../support/procs';
import { readAllReadings } from '../support/readings';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const test = suite('trainer rebalance: two trainer processes split the devices; SIGKILL one, the other takes over with their state');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-rebalance-'));

const ROWS = 12_000;
const DEVICES = 12;
/** per-device rate: 12 × 35 = 420 readings/s at most, so the stream lasts ≥ 31 s (the longest device has 1,075 rows) */
const DEVICE_RATE = 35;
/** kill t1 once each of its devices has scored this many readings (≥ 6 s into the stream, long before its end) */
const KILL_AFTER_SEEN = 200;

interface Counters { zscoreAnomalies: number; modelAnomalies: number; trainings: number; updatesSent: number; duplicates: number }
const COUNTERS = ['zscoreAnomalies', 'modelAnomalies', 'trainings', 'updatesSent', 'duplicates'] as const;
interface DeviceView {
  deviceId: string;
  seen: number;
  lastOffsets: Record<string, string>;
  model: { version: number | null; source: string | null };
  counters: Counters;
}
interface HealthView { status: string; devices: number; problems: string[] }
interface RoundsView { rounds: Array<{ round: number; status: string }> }
type ActorsView = Array<{ path: string; status: string; persistenceKey: string | null; seq: number }>;
type SourcesView = Array<{ id: string; total: number; published?: number; exhausted?: boolean }>;

const since = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const byId = (ds: readonly DeviceView[]) => new Map(ds.map((d) => [d.deviceId, d]));

test('both trainers own devices; after SIGKILL of one, the other continues every moved device from its journaled state', async () => {
  const t0 = Date.now();
  const timings: Record<string, string> = {};

  // What the producer will publish: the same generator options as `flead producer --dataset generated` (seed 7,
  // attackFraction 0.2). After one pass the adapter knows the whole one-hot vocabulary: the model's inputs.
  const adapter = openDataset('generated', { seed: 7, rows: ROWS, devices: DEVICES, attackFraction: 0.2 });
  const expected = new Map<string, number>();
  let badRows = 0;
  for await (const r of adapter.rows()) {
    if (isBadRow(r)) badRows++;
    else expected.set(r.deviceId, (expected.get(r.deviceId) ?? 0) + 1);
  }
  const inputs = adapter.featureNames.length;
  assert.is(expected.size, DEVICES, 'the generator yields every device');
  assert.is([...expected.values()].reduce((a, b) => a + b, 0) + badRows, ROWS);
  const allDevices = [...expected.keys()].sort();

  const prefix = `e2e-rebal-${Date.now().toString(36)}-`;
  const topics = topicNames(prefix);
  const [pa, p1, p2, pp] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const url = { t1: `http://127.0.0.1:${p1}`, t2: `http://127.0.0.1:${p2}`, producer: `http://127.0.0.1:${pp}`, aggregator: `http://127.0.0.1:${pa}` };
  const common = {
    KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix, MODELS_DIR: path.join(tmp, 'models'), LOG_LEVEL: 'info',
    MODEL_SPEC: JSON.stringify({ kind: 'autoencoder', inputs, hidden: [16, 4, 16] }),
    ROUND_QUORUM: '6', ROUND_MIN_UPDATES: '2', ROUND_DEADLINE_MS: '10000', ROUND_INTERVAL_MS: '200',
    TRAIN_EVERY: '100', TRAIN_EPOCHS: '2', SNAPSHOT_EVERY: '20',
    PRODUCER_BATCH_SIZE: '50', PRODUCER_DEVICE_RATE: String(DEVICE_RATE),
  };
  const log = (name: string) => path.join(tmp, `${name}.log`);
  const procs: Proc[] = [];
  let sourcesPoll: NodeJS.Timeout | undefined;
  const devicesOf = (u: string) => getJson<DeviceView[]>(`${u}/devices`);
  try {
    procs.push(startFlead(['aggregator'], { ...common, INSPECT_PORT: String(pa) }, log('aggregator')));
    await waitFor(`round 1 open (log ${log('aggregator')})`, async () => ((await getJson<RoundsView>(`${url.aggregator}/rounds`))?.rounds[0]?.status === 'collecting' ? true : undefined), 120_000);
    const t1 = startFlead(['trainer', '--id', 't1'], { ...common, INSPECT_PORT: String(p1) }, log('t1'));
    const t2 = startFlead(['trainer', '--id', 't2'], { ...common, INSPECT_PORT: String(p2) }, log('t2'));
    procs.push(t1, t2);
    for (const [name, u] of [['t1', url.t1], ['t2', url.t2]] as const) {
      await waitFor(`${name} ready (log ${log(name)})`, async () => ((await getJson<HealthView>(`${u}/health`))?.status === 'ok' ? true : undefined), 120_000);
    }
    timings.trainersReady = since(t0);

    const producer = startFlead(
      ['producer', '--dataset', 'generated', '--rows', String(ROWS), '--devices', String(DEVICES), '--rate', '1500', '--exit-when-done'],
      { ...common, INSPECT_PORT: String(pp) }, log('producer'),
    );
    procs.push(producer);
    const producerStart = Date.now();
    let lastSources: SourcesView | undefined;
    let producerExited = false;
    void producer.exited.then(() => { producerExited = true; });
    sourcesPoll = setInterval(() => { void getJson<SourcesView>(`${url.producer}/sources`).then((s) => { if (s) lastSources = s; }, () => undefined); }, 250);

    // 1. The partitions split: both trainers own devices (disjoint sets) and both scored readings.
    const split = await waitFor('both trainers own devices', async () => {
      const [h1, h2] = [await getJson<HealthView>(`${url.t1}/health`), await getJson<HealthView>(`${url.t2}/health`)];
      const [d1, d2] = [await devicesOf(url.t1), await devicesOf(url.t2)];
      if (!h1 || !h2 || !d1 || !d2 || h1.devices === 0 || h2.devices === 0) return undefined;
      if (!d1.some((d) => d.seen > 0) || !d2.some((d) => d.seen > 0)) return undefined;
      const ids2 = new Set(d2.map((d) => d.deviceId));
      return d1.every((d) => !ids2.has(d.deviceId)) ? { d1, d2, h1, h2 } : undefined;
    }, 120_000, 200);
    timings.split = since(t0);
    assert.is(split.h1.status, 'ok');
    assert.is(split.h2.status, 'ok');
    console.log(`t1 owns [${split.d1.map((d) => d.deviceId).join(', ')}]; t2 owns [${split.d2.map((d) => d.deviceId).join(', ')}]`);

    // 2. Let t1's devices build up state (counters, trainings), then SIGKILL it right after reading its /devices.
    const beforeKill = await waitFor(`each t1 device scored ${KILL_AFTER_SEEN} readings`, async () => {
      const d1 = await devicesOf(url.t1);
      return d1 && d1.length > 0 && d1.every((d) => d.seen >= KILL_AFTER_SEEN) ? d1 : undefined;
    }, 120_000, 100);
    t1.child.kill('SIGKILL');
    const killedAt = Date.now();
    timings.killed = since(t0);
    assert.is((await t1.exited).signal, 'SIGKILL');
    assert.not.ok(producerExited, 'the kill lands while the producer is still streaming');
    const moved = beforeKill.map((d) => d.deviceId).sort();
    const t1Last = byId(beforeKill);
    console.log(`killed t1 ${((killedAt - producerStart) / 1000).toFixed(1)} s into the stream; its last /devices: ${beforeKill.map((d) => `${d.deviceId} seen ${d.seen} z ${d.counters.zscoreAnomalies} trainings ${d.counters.trainings}`).join('; ')}`);

    // 3. t2 takes over every device. Each moved device, as soon as its actor in t2 has recovered (status
    // 'running' in /actors: while 'recovering', /devices shows the initial state), must already be at or past
    // t1's last known state (recovered from the journal, not restarted from zero).
    const firstSeenByT2 = new Map<string, DeviceView>();
    const listedAt = new Map<string, number>(); // ms after the kill when t2 first listed a moved device
    const runningAt = new Map<string, number>(); // … and when its actor there had recovered
    const notContinued: string[] = [];
    await waitFor('t2 lists every device', async () => {
      const actors = await getJson<ActorsView>(`${url.t2}/actors`);
      const d2 = await devicesOf(url.t2);
      if (!actors || !d2) return undefined;
      const running = new Set(actors.filter((a) => a.status === 'running' && a.persistenceKey?.startsWith('trainer/device/')).map((a) => a.persistenceKey!.slice('trainer/device/'.length)));
      for (const d of d2) if (moved.includes(d.deviceId) && !listedAt.has(d.deviceId)) listedAt.set(d.deviceId, Date.now() - killedAt);
      for (const d of d2) {
        const before = t1Last.get(d.deviceId);
        if (!before || firstSeenByT2.has(d.deviceId) || !running.has(d.deviceId)) continue;
        firstSeenByT2.set(d.deviceId, d);
        runningAt.set(d.deviceId, Date.now() - killedAt);
        if (d.seen < before.seen) notContinued.push(`${d.deviceId}: t2's first recovered view has seen ${d.seen} < t1's last ${before.seen}`);
        for (const k of COUNTERS) {
          if (d.counters[k] < before.counters[k]) notContinued.push(`${d.deviceId}: t2's first recovered view has ${k} ${d.counters[k]} < t1's last ${before.counters[k]}`);
        }
      }
      return allDevices.every((id) => d2.some((d) => d.deviceId === id)) && moved.every((id) => firstSeenByT2.has(id)) ? true : undefined;
    }, 120_000, 100);
    timings.takeover = since(t0);
    console.log(`t2 owns every device ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; moved devices (listed / recovered, ms after the kill; first recovered view): ${moved.map((id) => `${id} ${listedAt.get(id)} / ${runningAt.get(id)} ms, seen ${firstSeenByT2.get(id)!.seen} (t1 ${t1Last.get(id)!.seen})`).join('; ')}`);

    const exit = await producer.exited;
    clearInterval(sourcesPoll);
    timings.producerDone = since(t0);
    assert.is(exit.code, 0, `producer finished (log ${log('producer')})`);

    // 4. What was published, per device, counted on the readings topic (read committed).
    const published = new Map<string, number>();
    const readingIds = new Set<string>();
    let copies = 0;
    await readAllReadings({
      brokers, topic: topics.readings, groupId: `${prefix}count`,
      onReading: (r) => {
        if (readingIds.has(r.readingId)) copies++;
        readingIds.add(r.readingId);
        published.set(r.deviceId, (published.get(r.deviceId) ?? 0) + 1);
      },
      done: () => readingIds.size >= ROWS - badRows, what: `${ROWS - badRows} readings on ${topics.readings}`, timeoutMs: 60_000, settleMs: 1000,
    });
    assert.is(copies, 0, 'the producer published each reading once');
    for (const id of allDevices) assert.is(published.get(id), expected.get(id), `${id}: readings on the topic = rows the generator yields`);
    if (lastSources) {
      for (const s of lastSources.filter((x) => x.id !== 'invalid')) assert.is(s.total, published.get(s.id), `${s.id}: the producer's /sources total`);
    }

    // 5. t2 scores everything: every device's `seen` ends at exactly its published count.
    const final = await waitFor('t2 scored every published reading', async () => {
      const d2 = await devicesOf(url.t2);
      return d2 && d2.length === DEVICES && d2.every((d) => d.seen >= (published.get(d.deviceId) ?? 0)) ? d2 : undefined;
    }, 120_000, 250);
    await new Promise((r) => setTimeout(r, 1500)); // a reading counted twice would show up here
    const settled = byId((await devicesOf(url.t2))!);
    timings.allScored = since(t0);
    console.log(`final (t2): ${final.map((d) => `${d.deviceId} seen ${settled.get(d.deviceId)!.seen}/${published.get(d.deviceId)} dup ${settled.get(d.deviceId)!.counters.duplicates}`).join('; ')}`);

    for (const id of allDevices) {
      const d = settled.get(id)!;
      assert.is(d.seen, published.get(id), `${id}${moved.includes(id) ? ' (moved)' : ''}: seen = readings published, none lost or counted twice`);
    }
    assert.equal(notContinued, [], 'each moved device, once recovered in t2, continued from t1\'s last known state');
    for (const id of moved) {
      const before = t1Last.get(id)!;
      const after = settled.get(id)!;
      assert.ok(after.seen > before.seen, `${id}: t2 scored readings after the takeover`);
      for (const k of COUNTERS) {
        assert.ok(after.counters[k] >= before.counters[k], `${id}: counter ${k} continued (${after.counters[k]} ≥ t1's ${before.counters[k]})`);
      }
      for (const [p, off] of Object.entries(before.lastOffsets)) {
        assert.ok(BigInt(after.lastOffsets[p] ?? '-1') >= BigInt(off), `${id}: lastOffsets[${p}] continued`);
      }
    }
    const withCounters = moved.filter((id) => t1Last.get(id)!.counters.zscoreAnomalies + t1Last.get(id)!.counters.trainings > 0);
    assert.ok(withCounters.length > 0, 'some moved device had non-zero counters in t1 (so "did not restart from zero" is tested)');
    const h2 = (await getJson<HealthView>(`${url.t2}/health`))!;
    assert.is(h2.status, 'ok', `t2 healthy: ${h2.problems.join('; ')}`);
    assert.is(h2.devices, DEVICES);

    // 5. The journal written by both processes (and snapshotted every 20 events) replays to t2's live states:
    // with the aggregator gone no round moves the devices, so once t2's journal positions stand still, every
    // device rebuilt by `flead replay` from the Kafka journal must equal t2's, moved ones included.
    procs[0]!.child.kill('SIGTERM');
    await procs[0]!.exited;
    await actorsStandStill(url.t2);
    const replay = await runFlead(['replay', '--service', 'trainer', '--compare', url.t2], common);
    assert.is(replay.code, 0, replay.stderr);
    assert.match(replay.stderr, new RegExp(`replayed states of the ${DEVICES} trainer actors on ${url.t2} equal the live state`));
    timings.replayed = since(t0);

    // 6. A third trainer joins after the stream: no device sends another reading, yet the devices of the
    // partitions it gets are recovered there from the journal at once (listed in its /devices with their state),
    // and t2 keeps the others: every device is live in exactly one process, each at its published count.
    const p3 = await freePort();
    const url3 = `http://127.0.0.1:${p3}`;
    procs.push(startFlead(['trainer', '--id', 't3'], { ...common, INSPECT_PORT: String(p3) }, log('t3')));
    const spread = await waitFor(`t3 recovers the devices of its partitions without a reading (log ${log('t3')})`, async () => {
      const [d2, d3] = [await devicesOf(url.t2), await devicesOf(url3)];
      if (!d2 || !d3 || d3.length === 0) return undefined;
      const ids = [...d2, ...d3].map((d) => d.deviceId).sort();
      const all = [...d2, ...d3].every((d) => d.seen === published.get(d.deviceId));
      return all && ids.length === DEVICES && JSON.stringify(ids) === JSON.stringify(allDevices) ? { d2, d3 } : undefined;
    }, 90_000, 250);
    timings.thirdTrainer = since(t0);
    console.log(`after t3 joined: t2 [${spread.d2.map((d) => d.deviceId).join(', ')}], t3 [${spread.d3.map((d) => `${d.deviceId} seen ${d.seen}`).join(', ')}]`);
    console.log(`timings: ${Object.entries(timings).map(([k, v]) => `${k} ${v}`).join(', ')}; logs in ${tmp}`);
  } finally {
    clearInterval(sourcesPoll);
    const running = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const p of running) p.child.kill('SIGTERM');
    const hardKill = setTimeout(() => { for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL'); }, 20_000);
    await Promise.all(procs.map((p) => p.exited));
    clearTimeout(hardKill);
  }
});

test.run();
