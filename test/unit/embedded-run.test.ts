/**
 * An embedded run's record of what its directories hold (src/cli/embedded-run.ts): the first run records itself
 * in both, the same settings resume, other settings are refused with what differs and where to run instead,
 * and a refused run writes nothing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLeft } from 'fp-ts/Either';
import { loadConfig } from '../../src/config';
import { claimRunDirs, runDifferences, runFile, runIdentity, type RunIdentity } from '../../src/cli/embedded-run';

const test = suite('embedded run record');

const generated = { rows: 20000, devices: 4, seed: 7 };
function identity(env: Record<string, string>, values: Record<string, unknown> = {}): RunIdentity {
  const c = loadConfig({}, env);
  if (isLeft(c)) throw new Error(c.left);
  return runIdentity(c.right, values);
}
const wsn = identity({ DATASET: 'wsn', FEATURE_TRANSFORM: 'residual' });
const gen = identity({ DATASET: 'generated', MODEL_FEATURES: 'a,b', MODEL_SPEC: JSON.stringify({ kind: 'classifier', inputs: 2, hidden: [4], classes: 2 }) }, generated);
const dirs = () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'flead-run-'));
  return { dataDir: path.join(root, 'data'), modelsDir: path.join(root, 'models') };
};

test('the first run records itself in both directories; the same settings resume', async () => {
  const d = dirs();
  assert.equal(await claimRunDirs(d, wsn, 'npx flead embedded'), { ok: true, recorded: 'new' });
  for (const dir of [d.dataDir, d.modelsDir]) assert.equal(JSON.parse(readFileSync(path.join(dir, runFile), 'utf8')), JSON.parse(JSON.stringify(wsn)));
  assert.equal(await claimRunDirs(d, identity({ DATASET: 'wsn', FEATURE_TRANSFORM: 'residual', PRODUCER_RATE: '5' }), 'npx flead embedded'), { ok: true, recorded: 'same' }, 'the rate is not part of the run');
});

test('another data set on both directories: refused with the difference, where to run it, and nothing written', async () => {
  const d = dirs();
  await claimRunDirs(d, wsn, 'npx flead embedded');
  const before = readFileSync(path.join(d.dataDir, runFile), 'utf8');
  const r = await claimRunDirs(d, gen, 'npx flead embedded --dataset generated');
  assert.equal(r, {
    ok: false,
    reason: `${d.dataDir} (journal, bus and database) and ${d.modelsDir} (global models) hold another run (data set: "wsn" recorded, "generated" asked): ` +
      `resume that run with its own settings, or run this one on directories of its own: FLEAD_DATA_DIR=${d.dataDir}-generated MODELS_DIR=${d.modelsDir}-generated ` +
      `npx flead embedded --dataset generated (or remove ${d.dataDir} and ${d.modelsDir})`,
  });
  assert.is(readFileSync(path.join(d.dataDir, runFile), 'utf8'), before);
});

test('a new data directory with the models of another run: refused, the data directory not even created, the suggestion keeps it', async () => {
  const d = dirs();
  await claimRunDirs(d, wsn, 'npx flead embedded');
  const fresh = { dataDir: `${d.dataDir}-new`, modelsDir: d.modelsDir };
  const r = await claimRunDirs(fresh, gen, 'x');
  assert.is(r.ok, false);
  if (!r.ok) {
    assert.match(r.reason, new RegExp(`^${d.modelsDir} \\(global models\\) holds another run \\(data set`));
    assert.match(r.reason, new RegExp(`FLEAD_DATA_DIR=${fresh.dataDir} MODELS_DIR=${d.modelsDir}-generated x \\(or remove ${d.modelsDir}\\)$`));
  }
  assert.not.ok(existsSync(fresh.dataDir), 'nothing written for a refused run');
});

test('the same data set with other settings: each difference named', () => {
  assert.equal(runDifferences(gen, { ...gen, generator: { ...generated, rows: 30000 } }), ['generator (--rows, --devices, --seed): {"rows":20000,"devices":4,"seed":7} recorded, {"rows":30000,"devices":4,"seed":7} asked']);
  assert.equal(runDifferences(wsn, identity({ DATASET: 'wsn', FEATURE_TRANSFORM: 'raw', MODEL_SEED: '3' })), ['model seed (MODEL_SEED): 42 recorded, 3 asked', 'feature transform (FEATURE_TRANSFORM): "residual" recorded, "raw" asked']);
  assert.equal(runDifferences(gen, { ...gen, model: { ...gen.model, features: ['b', 'a'] } }), ['features (MODEL_FEATURES): 2 named recorded, 2 named asked (other names or order)']);
  assert.equal(runDifferences(wsn, { ...wsn, model: { ...wsn.model, spec: { kind: 'autoencoder', inputs: 2, hidden: [4] } } }), ['model (MODEL_SPEC): {"kind":"autoencoder","inputs":2,"hidden":[8,3,8]} recorded, {"kind":"autoencoder","inputs":2,"hidden":[4]} asked']);
  assert.equal(runDifferences(wsn, wsn), []);
});

test('directories from before the record (content, no run.json) take this run; an unreadable record is refused', async () => {
  const d = dirs();
  mkdirSync(path.join(d.dataDir, 'journal'), { recursive: true });
  assert.equal(await claimRunDirs(d, wsn, 'x'), { ok: true, recorded: 'new' });
  writeFileSync(path.join(d.modelsDir, runFile), 'not json');
  const r = await claimRunDirs(d, wsn, 'x');
  assert.is(r.ok, false);
  if (!r.ok) assert.match(r.reason, /models \(global models\) holds another run \(\S+run\.json is not a run record\)/);
});

test('global models no run recorded, with no embedded journal beside them (the local aggregator\'s ./models): refused, nothing written', async () => {
  const d = dirs();
  mkdirSync(d.modelsDir, { recursive: true });
  for (const v of [0, 1, 2, 10]) writeFileSync(path.join(d.modelsDir, `v${v}.json`), '{}');
  const r = await claimRunDirs(d, wsn, 'npx flead embedded');
  assert.is(r.ok, false);
  if (!r.ok) {
    assert.is(r.reason, `${d.modelsDir} (global models) holds 4 global model(s) that no embedded run recorded (v0.json, v1.json, v2.json, …; ` +
      `the local profile's aggregator writes to MODELS_DIR too), and this run would write its versions over them: run it on a directory of its own: ` +
      `MODELS_DIR=${d.modelsDir}-embedded npx flead embedded (or remove ${d.modelsDir})`);
  }
  assert.not.ok(existsSync(path.join(d.modelsDir, runFile)));
  assert.not.ok(existsSync(d.dataDir));
  // with an embedded journal beside them they are an embedded run from before the record: taken
  mkdirSync(path.join(d.dataDir, 'journal'), { recursive: true });
  assert.equal(await claimRunDirs(d, wsn, 'x'), { ok: true, recorded: 'new' });
});

test.run();
