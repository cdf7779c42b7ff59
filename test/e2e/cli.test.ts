/** The `flead` command line: help, argument errors (exit 2 with a sentence), and the embedded profile resuming from its journal. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { exitedWithin, runFlead, startEmbedded, startFlead, waitFor } from '../support/procs';

const Help = suite('flead help and argument errors');

Help('flead --help lists the commands', async () => {
  const r = await runFlead(['--help'], {});
  assert.is(r.code, 0);
  for (const c of ['aggregator', 'replay', 'embedded']) assert.match(r.stdout, new RegExp(`\\n  ${c} `));
});

for (const c of ['aggregator', 'replay', 'embedded']) {
  Help(`flead ${c} --help describes its options`, async () => {
    const r = await runFlead([c, '--help'], {});
    assert.is(r.code, 0);
    assert.match(r.stdout, new RegExp(`flead ${c}`));
    assert.match(r.stdout, /--/);
  });
}

Help('an unknown command exits 2 with a sentence', async () => {
  const r = await runFlead(['aggregate'], {});
  assert.is(r.code, 2);
  assert.match(r.stderr, /unknown command "aggregate"/);
});

Help('replay without --service exits 2 saying it is required', async () => {
  const r = await runFlead(['replay'], {});
  assert.is(r.code, 2);
  assert.match(r.stderr, /--service is required/);
});

Help('replay with --until-seq and --until-time exits 2', async () => {
  const r = await runFlead(['replay', '--service', 'aggregator', '--until-seq', '3', '--until-time', '2026-01-01T00:00:00Z'], {});
  assert.is(r.code, 2);
  assert.match(r.stderr, /cannot be used together/);
});

Help('replay: --actor is not for the aggregator; --until-seq needs --actor for the trainer and the producer', async () => {
  const agg = await runFlead(['replay', '--service', 'aggregator', '--actor', 'x'], {});
  assert.is(agg.code, 2);
  assert.match(agg.stderr, /--actor is for the producer and the trainer/);
  for (const service of ['trainer', 'producer']) {
    const r = await runFlead(['replay', '--service', service, '--until-seq', '3'], {});
    assert.is(r.code, 2);
    assert.match(r.stderr, new RegExp(`--until-seq needs --actor for the ${service}`));
  }
  const both = await runFlead(['replay', '--service', 'trainer', '--events', '--compare', 'http://127.0.0.1:8091'], {});
  assert.is(both.code, 2);
  assert.match(both.stderr, /cannot be used together/);
  const sink = await runFlead(['replay', '--service', 'sink'], {});
  assert.is(sink.code, 2);
  assert.match(sink.stderr, /--service expects one of aggregator, producer, trainer, got "sink"/);
});

Help('replay of a journal without the service\'s events says so; an unreachable --compare endpoint is a one-line error', async () => {
  const env = { FLEAD_PROFILE: 'embedded', FLEAD_DATA_DIR: path.join(os.tmpdir(), `flead-no-such-dir-${process.pid}`) };
  const r = await runFlead(['replay', '--service', 'aggregator', '--compare', 'http://127.0.0.1:1'], env);
  assert.is(r.code, 1);
  assert.match(r.stderr, /holds no events of the aggregator: is this the service's FLEAD_PROFILE/);
  assert.match(r.stderr, /flead replay: cannot compare with http:\/\/127\.0\.0\.1:1: GET http:\/\/127\.0\.0\.1:1\/actors\/aggregator\/round failed/);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
});

Help('replay --compare of a service with no actors in the journal says there is nothing to compare (exit 1, no stack trace)', async () => {
  const env = { FLEAD_PROFILE: 'embedded', FLEAD_DATA_DIR: path.join(os.tmpdir(), `flead-no-such-dir-${process.pid}`) };
  for (const service of ['trainer', 'producer']) {
    const r = await runFlead(['replay', '--service', service, '--compare', 'http://127.0.0.1:1'], env);
    assert.is(r.code, 1, service);
    assert.match(r.stderr, new RegExp(`holds no events of the ${service}`));
    assert.match(r.stderr, new RegExp(`flead replay: nothing to compare with http://127\\.0\\.0\\.1:1: no ${service} actor has events in `));
    assert.not.match(r.stderr, /TypeError|\n\s+at /, 'no stack trace');
  }
});

Help('replay --until-…: a point before every event is named in the message (not "is this the right profile?"); --until-seq 0 exits 2', async () => {
  const env = { FLEAD_PROFILE: 'embedded', FLEAD_DATA_DIR: path.join(os.tmpdir(), `flead-no-such-dir-${process.pid}`) };
  const r = await runFlead(['replay', '--service', 'aggregator', '--until-time', '2010-01-01'], env);
  assert.is(r.code, 0);
  assert.match(r.stderr, /holds no events of the aggregator at or before 2010-01-01T00:00:00\.000Z: the state printed is the initial one/);
  assert.not.match(r.stderr, /FLEAD_PROFILE/);
  const events = await runFlead(['replay', '--service', 'trainer', '--until-time', '2010-01-01', '--events'], env);
  assert.match(events.stderr, /no events of the trainer at or before 2010-01-01T00:00:00\.000Z in /);
  const zero = await runFlead(['replay', '--service', 'producer', '--actor', 'mote-1', '--until-seq', '0'], env);
  assert.is(zero.code, 2);
  assert.match(zero.stderr, /--until-seq expects an integer ≥ 1, got "0"/);
});

Help('producer: options its data set does not read exit 2 before anything starts (they were ignored)', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--dataset', 'wsn', '--rows', '5'], /^flead producer: --rows applies to --dataset generated only, not wsn\n$/],
    [['--dataset', 'edge-iiotset', '--file', os.tmpdir(), '--seed', '3'], /^flead producer: --seed applies to --dataset generated only, not edge-iiotset\n$/],
    [['--dataset', 'generated', '--file', 'x.csv'], /^flead producer: --file cannot be used with --dataset generated/],
    [['--dataset', 'wsn', '--devices', '3'], /^flead producer: --devices does not apply to --dataset wsn/],
  ];
  for (const [args, message] of cases) {
    const r = await runFlead(['producer', ...args], { KAFKA_BROKERS: '127.0.0.1:1', FLEAD_PROFILE: 'local' });
    assert.is(r.code, 2, args.join(' '));
    assert.match(r.stderr, message);
  }
  const missing = await runFlead(['producer', '--dataset', 'wsn', '--file', '/no/such/wsn.csv'], { KAFKA_BROKERS: '127.0.0.1:1', FLEAD_PROFILE: 'local' });
  assert.is(missing.code, 1);
  assert.is(missing.stderr, 'flead: InfraError(unavailable): wsn: /no/such/wsn.csv does not exist\n', 'said before connecting to the broker');
});

Help('producer: a second run over other data (another seed) exits 2 saying the journal counts records of other data; the same data goes on', async () => {
  const env = { FLEAD_PROFILE: 'embedded', FLEAD_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'flead-producer-data-')), PRODUCER_RATE: 'unlimited' };
  const run = (seed: string) => runFlead(['producer', '--dataset', 'generated', '--rows', '300', '--devices', '2', '--seed', seed, '--exit-when-done', '--inspect-port', '0'], env);
  try {
    const first = await run('7');
    assert.is(first.code, 0, first.stderr);
    const other = await run('8');
    assert.is(other.code, 2, other.stderr);
    // the sources recover in no fixed order: the first refused is said in full, the other in short
    const said = /error producer: source (device-[12]) has its position journaled over other data: then generated rows \(300 rows, 2 devices, seed 7\), \d+ records, digest [0-9a-f]{12}; now generated rows \(300 rows, 2 devices, seed 8\)/.exec(other.stderr);
    assert.ok(said, other.stderr);
    assert.match(other.stderr, new RegExp(`error producer: source ${said![1] === 'device-1' ? 'device-2' : 'device-1'}: its position too is journaled over other data\n`));
    assert.match(other.stderr, /error producer: cannot go on \(the error above says why\): stopping\n/);
    const same = await run('7');
    assert.is(same.code, 0, same.stderr);
    assert.match(same.stderr, /all 2 sources exhausted: 300 readings published/);
  } finally {
    rmSync(env.FLEAD_DATA_DIR, { recursive: true, force: true });
  }
});

Help('the aggregator refuses a MODELS_DIR holding an embedded run\'s models (run.json), before connecting', async () => {
  const models = mkdtempSync(path.join(os.tmpdir(), 'flead-models-'));
  writeFileSync(path.join(models, 'run.json'), '{}');
  try {
    const r = await runFlead(['aggregator'], { MODELS_DIR: models, KAFKA_BROKERS: '127.0.0.1:1', FLEAD_PROFILE: 'local' });
    assert.is(r.code, 2);
    assert.is(r.stderr, `flead aggregator: ${models} holds the global models of an embedded run (run.json) and this aggregator would write its versions over them: set MODELS_DIR to a directory of its own, e.g. MODELS_DIR=${models}-local\n`);
  } finally {
    rmSync(models, { recursive: true, force: true });
  }
});

Help('an unreachable broker is a one-line error (no stack trace), exit 1', async () => {
  const r = await runFlead(['replay', '--service', 'trainer'], { KAFKA_BROKERS: '127.0.0.1:1', FLEAD_PROFILE: 'local' });
  assert.is(r.code, 1);
  assert.match(r.stderr, /^flead: InfraError\(unavailable\): journal kafka 127\.0\.0\.1:1 .* failed \(.*ECONNREFUSED.*\)\n$/);
});

Help('a service that cannot start exits 1 with a sentence and leaves nothing running (port taken, a file that is not Edge-IIoTset)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flead-nostart-'));
  const busy = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => busy.once('listening', r));
  const port = (busy.address() as AddressInfo).port;
  const env = { FLEAD_TOPIC_PREFIX: `e2e-nostart-${Date.now().toString(36)}-`, MODELS_DIR: path.join(dir, 'models') };
  try {
    // the trainer joins its group before its endpoint listens: it must leave again, not keep its partitions
    const trainer = startFlead(['trainer', '--id', 'x', '--inspect-port', String(port)], env, path.join(dir, 'trainer.log'));
    const exit = await exitedWithin(trainer, 60_000);
    if (exit === 'running') trainer.child.kill('SIGKILL');
    assert.equal(exit, { code: 1, signal: null }, `the trainer exits (log ${trainer.logFile})`);
    assert.not.match(readFileSync(trainer.logFile, 'utf8'), /handles were still open/, 'by itself: nothing left running');
    assert.ok(readFileSync(trainer.logFile, 'utf8').endsWith(`\nflead: InfraError(unavailable): inspection endpoint: 127.0.0.1:${port} is in use (another process listens there: another flead service, or one left running); set INSPECT_PORT (or --inspect-port) to a free port, or 0 for any free one\n`), 'one sentence, last');
    const notes = path.join(dir, 'notes.txt');
    writeFileSync(notes, 'hello\n');
    const producer = startFlead(['producer', '--dataset', 'edge-iiotset', '--file', notes, '--inspect-port', '0'], env, path.join(dir, 'producer.log'));
    const pexit = await exitedWithin(producer, 60_000);
    if (pexit === 'running') producer.child.kill('SIGKILL');
    assert.equal(pexit, { code: 1, signal: null }, `the producer exits (log ${producer.logFile})`);
    assert.not.match(readFileSync(producer.logFile, 'utf8'), /handles were still open/, 'by itself: nothing left running');
    assert.match(readFileSync(producer.logFile, 'utf8'), /flead: InfraError\(corrupt\): edge-iiotset: \S+notes\.txt is not an Edge-IIoTset file: its header column 1 is "hello"/);
  } finally {
    busy.close();
  }
});

Help('a path the operating system refuses is one line naming it, not a stack (FLEAD_DATA_DIR or MODELS_DIR a file)', async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'flead-notdir-')), 'a-file');
  writeFileSync(file, 'not a directory\n');
  const r = await runFlead(['embedded', '--inspect-port', '0'], { FLEAD_DATA_DIR: file, MODELS_DIR: file });
  assert.is(r.code, 1);
  assert.is(r.stderr, `flead: Error: ENOTDIR: not a directory, open '${file}/run.json'\n`);
});

Help('a bad configuration value exits 2 naming the variable', async () => {
  const r = await runFlead(['aggregator'], { ROUND_QUORUM: '2', ROUND_MIN_UPDATES: '5' });
  assert.is(r.code, 2);
  assert.match(r.stderr, /ROUND_MIN_UPDATES \(5\) cannot exceed ROUND_QUORUM \(2\)/);
});

Help.run();

const Embedded = suite('flead embedded (npm start): the whole loop without Kafka, resumable from its journal');

Embedded('Ctrl-C stops a run cleanly; the next run resumes from the journal and finishes the WSN data; replay agrees', async () => {
  const { dir, env, log, first } = startEmbedded('embedded', ['--rate', '1000']);
  await waitFor('the first run streaming', async () => (/round 1: opened/.test(readFileSync(log, 'utf8')) ? true : undefined), 60_000, 100);
  await new Promise((r) => setTimeout(r, 2000));
  // an audit of the running service: replay meets each live actor at its own sequence number, though both move on
  const url = /inspection endpoint (http:\/\/\S+)/.exec(readFileSync(log, 'utf8'))![1]!;
  for (const service of ['trainer', 'producer']) {
    const live = await runFlead(['replay', '--service', service, '--compare', url], { ...env, FLEAD_PROFILE: 'embedded' });
    assert.is(live.code, 0, live.stderr);
    assert.match(live.stderr, new RegExp(`replayed states of the 4 ${service} actors on \\S+ equal the live state`));
  }
  first.child.kill('SIGINT');
  const exit = await first.exited;
  assert.is(exit.code, 0, `Ctrl-C exits 0 (log ${log})`);
  assert.match(readFileSync(log, 'utf8'), /interrupted after [\d.]+ s: \d+ readings/);

  const second = await runFlead(['embedded', '--inspect-port', '0'], env);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, /resuming at record [1-9]\d* of/, 'the producer resumed from its journaled positions');
  assert.match(second.stdout, /data exhausted after [\d.]+ s: 18914 readings/);
  assert.match(second.stdout, /zscore\s+\d\.\d{3}\s+\d\.\d{3}/);
  assert.match(second.stdout, /autoencoder\s+\d\.\d{3}\s+\d\.\d{3}/);
  const version = Number(/global version (\d+)/.exec(second.stdout)![1]);
  assert.ok(version >= 2, `several rounds were aggregated (version ${version})`);
  // the sink wrote every reading into the embedded database exactly once over the interrupted and the resumed run
  assert.match(second.stdout, /database pglite \S+ \(plain tables; the sink wrote this run: readings \d+/);
  assert.match(second.stdout, /rows in all: readings 18914, anomalies \d+, local_updates \d+, global_models \d+, round_events [1-9]\d*$/m, 'round events copied from the embedded journal');
  assert.match(second.stdout, /analytics: anomaly-rates ok, [1-9]\d* row\(s\); trends ok, [1-9]\d* row\(s\); model-evaluation ok, [1-9]\d* row\(s\)/);
  const analytics = await runFlead(['analytics', 'run', 'model-evaluation', '--no-publish'], { ...env, FLEAD_PROFILE: 'embedded' });
  assert.is(analytics.code, 0, analytics.stderr);
  assert.match(analytics.stdout, /model-evaluation \(model-evaluation-\S+\): ok, [1-9]\d* row\(s\)/);
  assert.match(analytics.stdout, /zscore\s+-\s+18914\s/, 'every labelled reading of the WSN data is evaluated');
  const init = await runFlead(['init', 'db'], { ...env, FLEAD_PROFILE: 'embedded' });
  assert.is(init.code, 0, init.stderr);
  assert.match(init.stdout, /^flead init db: pglite \S+: schema mode plain, nothing to apply; schema at version 3$/m);
  const replay = await runFlead(['replay', '--service', 'aggregator'], { ...env, FLEAD_PROFILE: 'embedded' });
  assert.is(replay.code, 0, replay.stderr);
  const out = JSON.parse(replay.stdout) as { state: { version: number } };
  assert.is(out.state.version, version);
  const devices = await runFlead(['replay', '--service', 'trainer'], { ...env, FLEAD_PROFILE: 'embedded' });
  assert.is(devices.code, 0, devices.stderr);
  const d = JSON.parse(devices.stdout) as { actors: Array<{ state: { seen: number; model: { version: number | null } } }> };
  assert.is(d.actors.length, 4);
  assert.is(d.actors.reduce((n, a) => n + a.state.seen, 0), 18_914, 'the device actors replay to every reading scored once');
  const sources = await runFlead(['replay', '--service', 'producer', '--actor', 'mote-1'], { ...env, FLEAD_PROFILE: 'embedded' });
  assert.is(sources.code, 0, sources.stderr);
  const mote1 = JSON.parse(sources.stdout) as { seq: number; state: { exhausted: boolean; published: number } };
  assert.ok(mote1.state.exhausted, 'mote-1 replays to exhausted');
  // --events: the audit trail behind that state, one JSON line per event
  const trail = await runFlead(['replay', '--service', 'producer', '--actor', 'mote-1', '--events'], { ...env, FLEAD_PROFILE: 'embedded' });
  assert.is(trail.code, 0, trail.stderr);
  const events = trail.stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; seq: number; type: string; data: { published?: number } });
  assert.equal(events.map((e) => e.seq), Array.from({ length: mote1.seq }, (_, i) => i + 1));
  assert.ok(events.every((e) => e.key === 'producer/source/mote-1'));
  assert.is(events[events.length - 1]!.type, 'SourceExhausted');
  assert.is(events.reduce((n, e) => n + (e.data.published ?? 0), 0), mote1.state.published);
  const first3 = await runFlead(['replay', '--service', 'aggregator', '--events', '--until-seq', '3'], { ...env, FLEAD_PROFILE: 'embedded' });
  const types = first3.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
  assert.equal([types.length, types[0], types[1]], [3, 'ModelInitialised', 'RoundOpened']);
  const unknown = await runFlead(['replay', '--service', 'producer', '--actor', 'mote-9'], { ...env, FLEAD_PROFILE: 'embedded' });
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /no events of producer\/source\/mote-9 .*; producer actors with events: mote-1, mote-2, mote-3, mote-4/);
  // another data set on the same directories is refused before anything is opened: they stay the WSN run's
  const listing = () => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((f) => { const st = statSync(path.join(dir, f)); return `${f} ${st.size} ${st.mtimeMs}`; });
  const before = listing();
  const other = await runFlead(['embedded', '--dataset', 'generated', '--inspect-port', '0'], env);
  assert.is(other.code, 2, other.stderr);
  assert.match(other.stderr, /^flead embedded: \S+data \(journal, bus and database\) and \S+models \(global models\) hold another run \(data set: "wsn" recorded, "generated" asked\): .* FLEAD_DATA_DIR=\S+data-generated MODELS_DIR=\S+models-generated npx flead embedded --dataset generated --inspect-port 0 /);
  assert.equal(listing(), before, 'nothing written by the refused run');
  const again = await runFlead(['replay', '--service', 'trainer'], { ...env, FLEAD_PROFILE: 'embedded' });
  assert.is((JSON.parse(again.stdout) as { actors: Array<{ state: { seen: number } }> }).actors.reduce((n, a) => n + a.state.seen, 0), 18_914);
});

Embedded.run();
