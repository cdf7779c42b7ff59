/** The `flead` command line: help, argument errors (exit 2 with a sentence), and the embedded profile resuming from its journal. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFlead } from '../support/procs';

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

Help('a bad configuration value exits 2 naming the variable', async () => {
  const r = await runFlead(['aggregator'], { ROUND_QUORUM: '2', ROUND_MIN_UPDATES: '5' });
  assert.is(r.code, 2);
  assert.match(r.stderr, /ROUND_MIN_UPDATES \(5\) cannot exceed ROUND_QUORUM \(2\)/);
});

Help.run();

const Embedded = suite('flead embedded (npm start): runs without Kafka and resumes from its journal');

Embedded('two runs publish versions 1-2 then 3-4, and replay of the on-disk journal agrees', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flead-embedded-'));
  const env = { FLEAD_DATA_DIR: path.join(dir, 'data'), MODELS_DIR: path.join(dir, 'models'), KAFKA_BROKERS: '127.0.0.1:1' };
  const first = await runFlead(['embedded', '--rounds', '2', '--inspect-port', '0'], env);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, /done: global version 2 after 2 rounds/);
  const second = await runFlead(['embedded', '--rounds', '2', '--inspect-port', '0'], env);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stdout, /done: global version 4 after 4 rounds/);
  const replay = await runFlead(['replay', '--service', 'aggregator'], { ...env, FLEAD_PROFILE: 'embedded' });
  assert.is(replay.code, 0, replay.stderr);
  const out = JSON.parse(replay.stdout) as { state: { version: number; models: Array<{ version: number }> } };
  assert.is(out.state.version, 4);
  assert.equal(out.state.models.map((m) => m.version), [0, 1, 2, 3, 4]);
});

Embedded.run();
