/**
 * The whole federated loop on real Kafka, each service its own OS process: producer → trainer → aggregator on
 * the WSN data. Checked through the inspection endpoints: rounds close, every device applied the latest
 * global version, anomalies were emitted; and the dead-letter topic stays empty for clean input. Then, the
 * aggregator stopped and the device actors still, `flead replay` rebuilds every device actor from the Kafka
 * journal equal to the live trainer's (`--compare`), and every producer source at its end.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKafkaBus } from '../../src/infra/bus/kafka-bus';
import { topicNames } from '../../src/protocols/topics';
import { actorsStandStill, freePort, getJson, runFlead, startFlead, waitFor, type Proc } from '../support/procs';
import { parsePrometheus } from '../support/metrics';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const test = suite('federated loop: producer → trainer → aggregator as processes on real Kafka');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-pipeline-'));

interface ModelsView { current: number | null; versions: Array<{ version: number; publishedAt: number | null }> }
interface RoundsView { rounds: Array<{ round: number; status: string; accepted: number }> }
interface DeviceView { deviceId: string; seen: number; model: { version: number | null }; counters: { zscoreAnomalies: number; modelAnomalies: number; updatesSent: number; trainings: number } }

test('rounds close, every device applies the latest version, anomalies are emitted, no dead letters', async () => {
  const prefix = `e2e-pipe-${Date.now().toString(36)}-`;
  const topics = topicNames(prefix);
  const [pa, pt, pp] = [await freePort(), await freePort(), await freePort()];
  const common = {
    KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix, MODELS_DIR: path.join(tmp, 'models'), LOG_LEVEL: 'info',
    ROUND_QUORUM: '4', ROUND_MIN_UPDATES: '2', ROUND_DEADLINE_MS: '20000', ROUND_INTERVAL_MS: '200',
    // 1,000/s: the stream lasts ~19 s (the two shorter motes end after ~18 s). A device trains for a round only
    // with readings in no update it sent yet, so the rounds all four devices answer are the ones the stream spans.
    PRODUCER_RATE: '1000', PRODUCER_BATCH_SIZE: '250', TRAIN_EVERY: '300',
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

    // /metrics (Prometheus text) agrees with the JSON views of the same live services
    const scrape = async (port: number) => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.is(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      return parsePrometheus(await res.text());
    };
    const tm = await scrape(pt);
    assert.is(tm.get('flead_trainer_devices'), 4);
    assert.is(tm.get('flead_actors', { kind: 'device', status: 'running' }), 4);
    assert.is(tm.get('flead_trainer_device_readings_scored'), 18_914);
    assert.ok(tm.get('flead_trainer_readings_total')! >= 18_914, 'this process took in every reading');
    assert.is(tm.get('flead_trainer_dead_letters_total'), 0);
    const now = (await getJson<DeviceView[]>(`http://127.0.0.1:${pt}/devices`))!;
    assert.is(tm.get('flead_trainer_device_anomalies', { detector: 'zscore' }), now.reduce((n, d) => n + d.counters.zscoreAnomalies, 0));
    assert.is(tm.get('flead_actor_restarts_total'), 0);
    assert.ok(tm.get('process_resident_memory_bytes')! > 0);
    const am = await scrape(pa);
    assert.ok(am.get('flead_aggregator_global_version')! >= latest!, `global version ${am.get('flead_aggregator_global_version')} ≥ ${latest}`);
    assert.ok(am.get('flead_aggregator_updates_total', { outcome: 'accepted' })! >= 4 * 3, 'four devices over at least three rounds');
    assert.is(am.get('flead_aggregator_updates_total', { outcome: 'dead-lettered' }), 0);
    assert.is(am.get('flead_actors', { kind: 'round', status: 'running' }), 1);

    const bus = createKafkaBus({ brokers, clientId: 'pipeline-dlq' });
    let letters = 0;
    await bus.ensureTopics([{ topic: topics.deadLetters, partitions: 1 }]);
    const sub = await bus.subscribe({ groupId: `${prefix}dlq`, topics: [topics.deadLetters], fromBeginning: true, eachBatch: async (ms) => { letters += ms.length; } });
    await new Promise((r) => setTimeout(r, 2000));
    await sub.stop();
    await bus.close();
    assert.is(letters, 0, 'nothing in the dead-letter topic for clean input');

    // The data has stopped: rounds go on (200 ms apart) with the aggregator running, but they no longer move
    // the devices (no training without new readings; a round nobody answers waits for its 20 s deadline).
    await actorsStandStill(`http://127.0.0.1:${pt}`, 3000);
    const stillAt = (await getJson<ModelsView>(`http://127.0.0.1:${pa}/models`))!.current;
    const trainings = (await getJson<DeviceView[]>(`http://127.0.0.1:${pt}/devices`))!.map((d) => d.counters.trainings);
    await new Promise((r) => setTimeout(r, 2000));
    assert.is((await getJson<ModelsView>(`http://127.0.0.1:${pa}/models`))!.current, stillAt, 'no new version without new readings');
    assert.equal((await getJson<DeviceView[]>(`http://127.0.0.1:${pt}/devices`))!.map((d) => d.counters.trainings), trainings, 'no training without new readings');

    // Replay: with the aggregator gone no round moves the devices any more; once their journal positions stand
    // still, the states rebuilt from the journal must equal the live ones.
    procs[0]!.child.kill('SIGTERM');
    await procs[0]!.exited;
    await actorsStandStill(`http://127.0.0.1:${pt}`);
    const replayed = await runFlead(['replay', '--service', 'trainer', '--compare', `http://127.0.0.1:${pt}`], common);
    assert.is(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stderr, /replayed states of the 4 trainer actors on http:\/\/127\.0\.0\.1:\d+ equal the live state/);
    const trainerOut = JSON.parse(replayed.stdout) as { actors: Array<{ path: string; seq: number; state: { seen: number } }> };
    assert.equal(trainerOut.actors.map((a) => a.path), ['trainer/device-mote-1', 'trainer/device-mote-2', 'trainer/device-mote-3', 'trainer/device-mote-4']);
    assert.is(trainerOut.actors.reduce((n, a) => n + a.state.seen, 0), 18_914);
    // evolve keeps TRAIN_WINDOW readings: a replay with another window rebuilds other states, and says where
    const otherWindow = await runFlead(['replay', '--service', 'trainer', '--compare', `http://127.0.0.1:${pt}`], { ...common, TRAIN_WINDOW: '100' });
    assert.is(otherWindow.code, 1, otherWindow.stderr);
    assert.match(otherWindow.stderr, /\$\.windowSize: 100 ≠ 1000/); // the default TRAIN_WINDOW
    assert.match(otherWindow.stderr, /4 of the 4 trainer actors on http:\/\/127\.0\.0\.1:\d+ differ from the live state/);
    // actors that run elsewhere (here: the producer's sources, on the trainer's endpoint) are listed, not compared
    const elsewhere = await runFlead(['replay', '--service', 'producer', '--compare', `http://127.0.0.1:${pt}`], common);
    assert.is(elsewhere.code, 1, 'none of them could be compared');
    assert.match(elsewhere.stderr, /4 of 4 replayed actors are not on http:\/\/127\.0\.0\.1:\d+ \(another process of the service may run them\): producer\/mote-1, producer\/mote-2, producer\/mote-3, producer\/mote-4/);
    const one = await runFlead(['replay', '--service', 'trainer', '--actor', 'mote-2', '--until-seq', '2'], common);
    assert.is(one.code, 0, one.stderr);
    const early = JSON.parse(one.stdout) as { seq: number; state: { seen: number } };
    assert.is(early.seq, 2);
    assert.ok(early.state.seen < trainerOut.actors[1]!.state.seen, 'an earlier state: fewer readings seen');
    const sources = await runFlead(['replay', '--service', 'producer'], common);
    assert.is(sources.code, 0, sources.stderr);
    const producerOut = JSON.parse(sources.stdout) as { actors: Array<{ state: { published: number; exhausted: boolean } }> };
    assert.is(producerOut.actors.length, 4);
    assert.ok(producerOut.actors.every((a) => a.state.exhausted), 'every source replays to exhausted');
    assert.is(producerOut.actors.reduce((n, a) => n + a.state.published, 0), 18_914);
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
  }
});

test.run();
