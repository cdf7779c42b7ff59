import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRight } from 'fp-ts/Either';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeWith } from '../../src/protocols/codec';
import { SensorReading } from '../../src/protocols/readings';
import { collectRows, toSensorReading, type DatasetRow } from '../../src/infra/datasets/adapter';
import { openDataset } from '../../src/infra/datasets/index';
import { WSN_EPOCH_MS, wsnAdapter } from '../../src/infra/datasets/wsn';

const Wsn = suite('Suthaharan WSN data set');

let cached: DatasetRow[] | null = null;
async function rows(): Promise<DatasetRow[]> {
  if (cached) return cached;
  const { rows: r, bad } = await collectRows(openDataset('wsn', {}));
  assert.equal(bad, []);
  return (cached = r);
}

const countBy = (rs: DatasetRow[], pick: (r: DatasetRow) => boolean) => {
  const m: Record<string, number> = {};
  for (const r of rs) if (pick(r)) m[r.deviceId] = (m[r.deviceId] ?? 0) + 1;
  return m;
};

Wsn('18,914 rows from four motes: 4,417 / 4,417 / 5,039 / 5,041', async () => {
  const r = await rows();
  assert.is(r.length, 18914);
  assert.equal(countBy(r, () => true), { 'mote-1': 4417, 'mote-2': 4417, 'mote-3': 5039, 'mote-4': 5041 });
});

Wsn('149 anomalies: 117 on mote 1, 32 on mote 4, none on motes 2 and 3', async () => {
  const r = await rows();
  assert.is(r.filter((x) => x.label === 1).length, 149);
  assert.equal(countBy(r, (x) => x.label === 1), { 'mote-1': 117, 'mote-4': 32 });
  assert.ok(r.every((x) => x.label === 0 || x.label === 1));
});

Wsn('features are humidity and temperature; classes binary; no attack types', async () => {
  const adapter = wsnAdapter();
  assert.equal([...adapter.featureNames], ['humidity', 'temperature']);
  assert.equal([...adapter.classes], ['normal', 'anomaly']);
  const first = (await rows())[0]!;
  assert.equal(first, {
    deviceId: 'mote-1',
    readingId: 'mote-1/1',
    ts: WSN_EPOCH_MS,
    features: { humidity: 45.93, temperature: 27.97 },
    label: 0,
    attackType: null,
    file: first.file,
    line: 2,
  });
  assert.match(first.file, /datasets-suthaharan-single-hop-sensor-network[\\/]data[\\/]data\.csv$/);
});

Wsn('ts = fixed epoch + (reading − 1) × 5 s, rising per mote; the motes line up', async () => {
  const r = await rows();
  const mote4 = r.filter((x) => x.deviceId === 'mote-4');
  assert.is(mote4[mote4.length - 1]!.ts, WSN_EPOCH_MS + 5040 * 5000);
  for (let i = 1; i < mote4.length; i++) assert.is(mote4[i]!.ts - mote4[i - 1]!.ts, 5000);
  assert.is(new Set(r.map((x) => x.readingId)).size, r.length);
});

Wsn('every row is a valid SensorReading', async () => {
  for (const x of (await rows()).slice(0, 500)) assert.ok(isRight(decodeWith(SensorReading, toSensorReading(x, 'suthaharan-single-hop'))));
});

Wsn('a missing package is a clear error that says how to install it', () => {
  assert.throws(
    () => wsnAdapter({ packageName: '@stdlib/datasets-not-installed-here' }),
    (e: Error) => /npm package @stdlib\/datasets-not-installed-here is not installed; install it with `npm install --save-dev/.test(e.message),
  );
});

Wsn('a --file that does not exist, or is a directory, is a clear error when the adapter is opened', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flead-wsn-'));
  assert.throws(() => wsnAdapter({ file: join(dir, 'nope.csv') }), (e: Error) => e.message === `wsn: ${join(dir, 'nope.csv')} does not exist`);
  assert.throws(() => wsnAdapter({ file: dir }), (e: Error) => e.message.startsWith(`wsn: ${dir} is not a file (a CSV with the columns reading,mote_id,`));
});

Wsn('bad lines are bad rows, with line and reason; the stream goes on', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'flead-wsn-')), 'data.csv');
  writeFileSync(file, 'reading,mote_id,indoor,humidity,temperature,label\n1,1,1,45.9,27.9,0\n2,1,1,abc,27.9,0\n3,1,1,45.9\n4,1,1,45.9,27.9,2\n5,1,1,45.9,27.9,1\n');
  const { rows: r, bad } = await collectRows(wsnAdapter({ file }));
  assert.equal(r.map((x) => [x.readingId, x.label]), [['mote-1/1', 0], ['mote-1/5', 1]]);
  assert.equal(bad.map((b) => b.reason), [
    'line 3: humidity is not a number: "abc"',
    'line 4: expected 6 columns, got 4',
    'line 5: label must be 0 or 1, got 2',
  ]);
});

Wsn.run();
