/** Producer pieces without I/O: the token bucket and the source decider. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rateText, TokenBucket } from '../../src/actors/producer/rate-limit';
import { planSources, sourceIds } from '../../src/actors/producer/sources';
import { escapeName } from '../../src/actors/runtime/nact';
import { isBadRow } from '../../src/infra/datasets/adapter';
import { EDGE_IIOTSET_HEADER, openDataset, parseCsv, writeDeviceFiles, type BadRow, type DatasetRow } from '../../src/infra/datasets';
import { edgeAdapterFromSources, resolveEdgeFiles } from '../../src/infra/datasets/edge-iiotset';
import { dataMismatch, sourceDecider, type SourceCommand, type SourceEvent, type SourceState } from '../../src/actors/producer/source.decider';
import { fold } from '../../src/actors/runtime/decider';
import { given } from '../support/given';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLeft } from 'fp-ts/Either';
import { loadConfig } from '../../src/config';
import { datasetFor } from '../../src/cli/producer';

const Bucket = suite('token bucket');

Bucket('grants the burst at once, then waits 1000/rate ms per token', () => {
  let now = 0;
  const b = new TokenBucket(10, 2, () => now);
  assert.equal([b.reserve(), b.reserve()], [0, 0]);
  assert.is(b.reserve(), 100);
  assert.is(b.reserve(), 200);
  now = 200; // the two reserved tokens have accrued; the next one is due at 300
  assert.is(b.reserve(), 100);
});

Bucket('over a long run the rate is exact', () => {
  let now = 0;
  const b = new TokenBucket(50, 1, () => now);
  let sent = 0;
  while (now < 10_000) {
    const wait = b.reserve();
    now += wait;
    sent++;
  }
  assert.ok(Math.abs(sent - 500) <= 2, `sent ${sent} in 10 s at 50/s`);
});

Bucket('unlimited never waits; a non-positive rate is refused', () => {
  const b = new TokenBucket(Infinity);
  for (let i = 0; i < 1000; i++) assert.is(b.reserve(), 0);
  assert.throws(() => new TokenBucket(0), /rate must be positive/);
});

Bucket('a rate as the logs say it: msg/s, or unlimited (not "Infinity")', () => {
  assert.equal([rateText(500), rateText(2.5), rateText(Infinity)], ['500 msg/s', '2.5 msg/s', 'unlimited']);
});

Bucket.run();

const Source = suite('source decider');
const batch = (from: number, to: number, bad = 0): SourceCommand => ({ type: 'RecordBatch', from, to, published: to - from - bad, bad, outbox: [], now: 5 });
const published = (from: number, to: number, bad = 0): SourceEvent => ({ type: 'BatchPublished', from, to, published: to - from - bad, bad, at: 5 });

Source('a batch from the recorded position is published', () => {
  given(sourceDecider, []).when(batch(0, 10)).then([published(0, 10)]);
  given(sourceDecider, [published(0, 10)]).when(batch(10, 15, 1)).then([published(10, 15, 1)]);
});

Source('a batch from a stale pump (wrong from) is refused with no event', () => {
  given(sourceDecider, [published(0, 10)]).when(batch(0, 10)).then([]);
  given(sourceDecider, [published(0, 10)]).when(batch(12, 20)).then([]);
});

Source('an empty batch is refused', () => {
  given(sourceDecider, []).when(batch(0, 0)).then([]);
});

Source('exhaustion is recorded once, at the recorded position', () => {
  given(sourceDecider, [published(0, 10)]).when({ type: 'MarkExhausted', position: 10, now: 9 }).then([{ type: 'SourceExhausted', position: 10, at: 9 }]);
  given(sourceDecider, [published(0, 10)]).when({ type: 'MarkExhausted', position: 8, now: 9 }).then([]);
  given(sourceDecider, [published(0, 10), { type: 'SourceExhausted', position: 10, at: 9 }]).when(batch(10, 12)).then([]);
});

const data = { digest: 'a'.repeat(64), origin: 'generated rows (10 rows, 1 devices, seed 7)', records: 10 };
const opened: SourceEvent = { type: 'SourceOpened', ...data, at: 1 };

Source('what a source reads is recorded once, before its first batch; a journal from before the record adopts it', () => {
  given(sourceDecider, []).when({ type: 'Open', ...data, now: 1 }).then([opened]).thenState({ data });
  given(sourceDecider, [opened]).when({ type: 'Open', ...data, digest: 'b'.repeat(64), now: 2 }).then([]);
  given(sourceDecider, [published(0, 4)]).when({ type: 'Open', ...data, now: 1 }).then([opened]).thenState({ position: 4, data });
});

Source('other data under journaled positions is a sentence naming both; the same data, or no record, is none', () => {
  const s = fold(sourceDecider, [opened, published(0, 4)]);
  assert.is(dataMismatch(s, 'device-1', data), null);
  assert.is(dataMismatch(fold(sourceDecider, [published(0, 4)]), 'device-1', { ...data, digest: 'b'.repeat(64) }), null, 'nothing to check against');
  assert.is(dataMismatch({ ...s, data: undefined } as unknown as SourceState, 'device-1', data), null, 'a snapshot from before the field');
  const why = dataMismatch(s, 'device-1', { digest: 'b'.repeat(64), origin: 'generated rows (10 rows, 1 devices, seed 8)', records: 9 });
  assert.is(why, 'source device-1 has its position journaled over other data: then generated rows (10 rows, 1 devices, seed 7), 10 records, digest aaaaaaaaaaaa; ' +
    'now generated rows (10 rows, 1 devices, seed 8), 9 records, digest bbbbbbbbbbbb. Its journaled position (record 4) counts records of the other data, so resuming ' +
    'would skip rows never published or publish rows again. Run the producer with the data set and settings it had, or on new topics for new data (another FLEAD_TOPIC_PREFIX; embedded: another FLEAD_DATA_DIR)');
});

Source('state counts readings, bad rows and batches', () => {
  const s = fold(sourceDecider, [published(0, 10, 2), published(10, 15)]);
  assert.equal({ position: s.position, published: s.published, bad: s.bad, batches: s.batches }, { position: 15, published: 13, bad: 2, batches: 2 });
});

Source.run();

const Sources = suite('producer sources (planSources)');

Sources('a data set kept in memory gives each device source its own rows, the same records in the same order as a filtered pass over the file', async () => {
  const adapter = openDataset('wsn', {});
  const ids = async (sources: Awaited<ReturnType<typeof planSources>>) => {
    const out: Record<string, string[]> = {};
    for (const s of sources) {
      const rows: string[] = [];
      for await (const r of s.records()) rows.push(isBadRow(r) ? `bad ${r.line}` : `${r.deviceId} ${r.readingId} ${JSON.stringify(r.features)}`);
      assert.is(rows.length, s.total, `source ${s.id}: yields its total`);
      out[s.id] = rows;
    }
    return out;
  };
  const cached = await ids(await planSources(adapter));
  const streamed = await ids(await planSources(adapter, { cacheRows: 0 })); // cacheRows 0: every source passes over the file
  assert.equal(Object.keys(cached), ['mote-1', 'mote-2', 'mote-3', 'mote-4']);
  assert.equal(cached, streamed);
  assert.is(Object.values(cached).reduce((n, rows) => n + rows.length, 0), 18_914);
});

Sources('device_N.csv files: each device source reads its own file only, and yields what a filtered pass over every file yields', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flead-producer-own-'));
  await writeDeviceFiles(dir, { seed: 11, rows: 900, devices: 3, attackFraction: 0.3 });
  // a bad row in device 2's file, and a protocol first seen in device 3's file (a one-hot category the earlier files lack)
  const f2 = path.join(dir, 'device_2.csv');
  writeFileSync(f2, `${readFileSync(f2, 'utf8')}1,2,3\n`);
  const f3 = path.join(dir, 'device_3.csv');
  const [head3, first3, ...rest3] = readFileSync(f3, 'utf8').split('\n');
  const proto = EDGE_IIOTSET_HEADER.indexOf('http.request.method');
  const cells = first3!.split(',');
  assert.ok(proto >= 0 && cells.length === EDGE_IIOTSET_HEADER.length, 'the first row of device 3 is a plain 63-column line');
  cells[proto] = 'BREW';
  writeFileSync(f3, [head3, cells.join(','), ...rest3].join('\n'));

  const files = resolveEdgeFiles(dir);
  const opened: string[] = [];
  const adapter = (dropDuplicates: boolean) => edgeAdapterFromSources(
    files.map(({ file, device }) => ({ file, device, records: () => { opened.push(path.basename(file)); return parseCsv(file); } })),
    { dropDuplicates },
  );
  const text = (r: DatasetRow | BadRow) => (isBadRow(r) ? `bad ${r.file}:${r.line}` : `${r.deviceId} ${r.readingId} ${r.ts} ${r.label} ${r.attackType} ${JSON.stringify(r.features)}`);
  for (const dropDuplicates of [false, true]) {
    const a = adapter(dropDuplicates);
    const sources = await planSources(a, { cacheRows: 0 }); // cacheRows 0: no source is kept in memory
    assert.equal(sources.map((x) => x.id), ['device-1', 'device-2', 'device-3', 'invalid']);
    const reference: string[] = [];
    for await (const r of a.rows()) reference.push(text(r));
    assert.ok(reference.some((r) => r.includes('"http.request.method=BREW":0')), 'rows of devices 1 and 2 carry the category device 3 brought, as 0');
    for (const source of sources.slice(0, 3)) {
      opened.length = 0;
      const got: string[] = [];
      for await (const r of source.records()) got.push(text(r));
      assert.is(got.length, source.total, `${source.id}: its total`);
      assert.equal(got, reference.filter((r) => r.startsWith(`${source.id} `)), `${source.id}: the filtered pass's rows`);
      const own = `device_${source.id.slice('device-'.length)}.csv`;
      if (dropDuplicates) assert.equal(opened, ['device_1.csv', 'device_2.csv', 'device_3.csv'], 'duplicates dropped across files: every file is read');
      else assert.equal(opened, [own], `${source.id}: its own file only`);
    }
  }
});

Sources('the planning pass tells its progress every 250,000 records (a large file takes a while)', async () => {
  const rows = async function* (): AsyncGenerator<DatasetRow> {
    for (let i = 0; i < 600_000; i++) yield { deviceId: `d${i % 3}`, readingId: `r${i}`, ts: i, features: { x: i % 10 }, label: null, attackType: null, file: 'f', line: i + 2 };
  };
  const told: number[] = [];
  const sources = await planSources({ name: 'big', featureNames: ['x'], classes: ['normal', 'anomaly'], rows }, { cacheRows: 0, onProgress: (n) => told.push(n) });
  assert.equal(told, [250_000, 500_000]);
  assert.is(sources.reduce((n, s) => n + s.total, 0), 600_000);
});

Sources('each source has a digest of its records: the same data gives the same digests, another seed or one changed row others', async () => {
  const gen = (seed: number) => openDataset('generated', { seed, rows: 600, devices: 3, attackFraction: 0.2 });
  const digests = async (adapter: ReturnType<typeof gen>) => Object.fromEntries((await planSources(adapter)).map((x) => [x.id, x.digest]));
  const a = await digests(gen(7));
  assert.equal(Object.keys(a), ['device-1', 'device-2', 'device-3']);
  assert.ok(Object.values(a).every((d) => /^[0-9a-f]{64}$/.test(d)));
  assert.is(new Set(Object.values(a)).size, 3, 'each device its own');
  assert.equal(await digests(gen(7)), a);
  const b = await digests(gen(8));
  assert.ok(Object.keys(a).every((id) => a[id] !== b[id]), 'another seed: every digest differs');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flead-producer-digest-'));
  const file = path.join(dir, 'mine.csv');
  const header = 'reading,mote_id,indoor,humidity,temperature,label\n';
  writeFileSync(file, `${header}1,1,1,45.9,27.9,0\n1,2,1,40.0,20.0,0\n2,2,1,40.1,20.0,0\n`);
  const before = await digests(openDataset('wsn', { file }));
  writeFileSync(file, `${header}1,1,1,45.9,27.9,0\n1,2,1,40.0,20.0,0\n2,2,1,40.1,20.5,0\n`);
  const after = await digests(openDataset('wsn', { file }));
  assert.is(after['mote-1'], before['mote-1'], 'an unchanged device keeps its digest');
  assert.is.not(after['mote-2'], before['mote-2'], 'one temperature changed');
});

Sources('source ids: the readable safe id (journal keys of earlier runs) unless two devices would share it; then one-to-one; else refused', () => {
  assert.equal([...sourceIds(['mote-1', 'device 2', '10.0.0.7']).entries()], [['mote-1', 'mote-1'], ['device 2', 'device_2'], ['10.0.0.7', '10.0.0.7']]);
  assert.equal([...sourceIds(['a/b', 'a_b', 'c']).entries()], [['a/b', 'a_2Fb'], ['a_b', 'a_5Fb'], ['c', 'c']]);
  assert.throws(() => sourceIds(['a/b', 'a_b', 'a_2Fb']), (e: Error) => e.message === 'producer: devices "a/b" and "a_2Fb" would share the source id a_2Fb; rename one of them');
});

Sources('--dataset wsn with --file (DATASET_PATH) reads that file, not the npm package', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flead-producer-wsn-'));
  const file = path.join(dir, 'mine.csv');
  writeFileSync(file, 'reading,mote_id,indoor,humidity,temperature,label\n1,7,1,45.9,27.9,0\n2,7,1,46.0,27.8,1\n');
  const c = loadConfig({ DATASET: 'wsn', DATASET_PATH: file });
  if (isLeft(c)) throw new Error(c.left);
  const sources = await planSources(datasetFor(c.right, {}));
  assert.equal(sources.map((x) => [x.id, x.total]), [['mote-7', 2]]);
  const none = loadConfig({ DATASET: 'wsn' });
  if (isLeft(none)) throw new Error(none.left);
  assert.is((await planSources(datasetFor(none.right, {}))).reduce((n, x) => n + x.total, 0), 18_914, 'without a file: the npm package');
});

Sources('escapeName is one-to-one and keeps plain names', () => {
  assert.equal(['mote-1', 'Device.3', '..'].map(escapeName), ['mote-1', 'Device.3', '..']);
  const texts = ['a/b', 'a_b', 'a b', 'a_2Fb', 'ü', '_C3_BC', '😀', 'A/B', '', '_'];
  const names = texts.map(escapeName);
  assert.is(new Set(names).size, texts.length, names.join(' '));
  assert.ok(names.every((n) => /^[A-Za-z0-9._-]*$/.test(n)));
});

Sources.run();
