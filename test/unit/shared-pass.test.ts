/**
 * SharedPass: one pass over a data set shared by its devices' sources. Each source must get exactly the rows of
 * its own filtered pass, whatever the pace of the others; a source that never comes, leaves early or comes after
 * its rows were let go must not stop the others (it makes a pass of its own); the data is read once.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SharedPass } from '../../src/actors/producer/shared-pass';
import { planSources } from '../../src/actors/producer/sources';
import { isBadRow, type BadRow, type DatasetAdapter, type DatasetRow } from '../../src/infra/datasets/adapter';
import { openDataset } from '../../src/infra/datasets';
import { mulberry32 } from '../../src/infra/prng';

const test = suite('shared pass over interleaved devices');

/** n records over `devices` devices row by row (device d = row mod devices), every 37th a bad row; counts passes. */
function interleaved(n: number, devices: number, failAt = -1) {
  const passes = { count: 0 };
  const rows = async function* (): AsyncGenerator<DatasetRow | BadRow> {
    passes.count++;
    for (let i = 0; i < n; i++) {
      if (i === failAt) throw new Error(`read failed at row ${i}`);
      if (i % 37 === 36) { yield { bad: true, file: 'f.csv', line: i + 2, reason: `line ${i + 2}: bad`, raw: '' }; continue; }
      const d = `device-${(i % devices) + 1}`;
      yield { deviceId: d, readingId: `${d}/${i}`, ts: i, features: { x: i }, label: 0, attackType: null, file: 'f.csv', line: i + 2 };
    }
  };
  const adapter: DatasetAdapter = { name: 'interleaved', featureNames: ['x'], classes: ['normal', 'anomaly'], rows };
  return { adapter, passes, devices: Array.from({ length: devices }, (_, d) => `device-${d + 1}`) };
}

async function filtered(adapter: DatasetAdapter, device: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of adapter.rows()) if (!isBadRow(r) && r.deviceId === device) out.push(r.readingId);
  return out;
}

/** Reads a source, pausing now and then (the pace of a rate-limited producer source), up to `limit` rows. */
async function drain(rows: AsyncIterable<DatasetRow>, rnd: () => number, limit = Infinity): Promise<string[]> {
  const out: string[] = [];
  for await (const r of rows) {
    out.push(r.readingId);
    if (rnd() < 0.05) await new Promise((resolve) => setTimeout(resolve, rnd() < 0.5 ? 0 : 1));
    if (out.length >= limit) break;
  }
  return out;
}

test('sources at different paces each get their own filtered pass, from one read of the data', async () => {
  const { adapter, passes, devices } = interleaved(5_000, 4);
  const shared = new SharedPass(() => adapter.rows(), devices, { maxQueued: 200 });
  const rnd = mulberry32(5);
  const got = await Promise.all(devices.map((d) => drain(shared.attach(d)!, rnd)));
  assert.is(passes.count, 1, 'the data was read once');
  for (const [i, d] of devices.entries()) assert.equal(got[i], await filtered(adapter, d), d);
  assert.is(shared.waiting, 0);
  assert.is(shared.attach(devices[0]!), null, 'a second attach (a restarted source) makes a pass of its own');
});

test('a device whose source never comes (an exhausted one) has its rows let go; the others finish; it comes too late: null', async () => {
  const { adapter, devices } = interleaved(3_000, 3);
  const shared = new SharedPass(() => adapter.rows(), devices, { maxQueued: 100, graceMs: 0 });
  const rnd = mulberry32(6);
  const got = await Promise.all(devices.slice(0, 2).map((d) => drain(shared.attach(d)!, rnd)));
  for (const [i, d] of devices.slice(0, 2).entries()) assert.equal(got[i], await filtered(adapter, d), d);
  assert.is(shared.attach('device-3'), null, "device-3's rows were let go");
  assert.ok(shared.waiting <= 100, `at most maxQueued rows held (${shared.waiting})`);
});

test('sources yet to come get the grace: one that comes late within it still shares; one released (exhausted) is let go at once', async () => {
  const { adapter, devices } = interleaved(3_000, 3);
  let now = 0;
  const shared = new SharedPass(() => adapter.rows(), devices, { maxQueued: 100, graceMs: 1_000, now: () => now });
  const rnd = mulberry32(10);
  shared.release('device-3'); // exhausted: it will not read
  const first = drain(shared.attach('device-1')!, rnd);
  await new Promise((resolve) => setTimeout(resolve, 30)); // device-1 has read ahead to the bound and waits for device-2
  assert.ok(shared.waiting >= 100, `the bound is reached (${shared.waiting})`);
  const second = shared.attach('device-2');
  assert.ok(second, 'within the grace: its rows were kept past the bound');
  const [a, b] = await Promise.all([first, drain(second!, rnd)]);
  assert.equal(a, await filtered(adapter, 'device-1'));
  assert.equal(b, await filtered(adapter, 'device-2'));
  assert.is(shared.attach('device-3'), null, 'released');

  // past the grace the rows of a source that has not come are let go
  const late = new SharedPass(() => adapter.rows(), devices, { maxQueued: 100, graceMs: 1_000, now: () => now });
  now = 0;
  const only = drain(late.attach('device-1')!, rnd);
  await new Promise((resolve) => setTimeout(resolve, 30));
  now = 5_000; // the grace is over; the next space check lets go of devices 2 and 3
  assert.equal(await only, await filtered(adapter, 'device-1'));
  assert.is(late.attach('device-2'), null);
});

test('a device attached before its rows were let go still gets them all; one that leaves early does not hold the others', async () => {
  const { adapter, devices } = interleaved(3_000, 3);
  const shared = new SharedPass(() => adapter.rows(), devices, { maxQueued: 50 });
  const rnd = mulberry32(7);
  const a = drain(shared.attach('device-1')!, rnd);
  const early = await drain(shared.attach('device-2')!, rnd, 10); // leaves after 10 rows (a stop, a restart)
  const late = shared.attach('device-3'); // attaches after reading began: its queue holds every row of it so far
  assert.ok(late, 'attached in time');
  const [first, third] = await Promise.all([a, drain(late!, rnd)]);
  assert.equal(first, await filtered(adapter, 'device-1'));
  assert.equal(third, await filtered(adapter, 'device-3'));
  assert.equal(early, (await filtered(adapter, 'device-2')).slice(0, 10));
  assert.is(shared.attach('device-2'), null);
  assert.is(shared.waiting, 0);
});

test('when the last source reading leaves before the end (a stop), the data is let go and sources yet to come read alone', async () => {
  const { adapter, devices } = interleaved(3_000, 3);
  let closed = false;
  const rows = async function* () { try { yield* adapter.rows(); } finally { closed = true; } };
  const shared = new SharedPass(rows, devices, { maxQueued: 100 });
  const first = await drain(shared.attach('device-1')!, mulberry32(9), 25);
  assert.equal(first, (await filtered(adapter, 'device-1')).slice(0, 25));
  assert.ok(closed, 'the pass over the data was closed');
  assert.is(shared.attach('device-2'), null);
  assert.is(shared.waiting, 0);
});

test('a failure of the pass fails every source reading it, after the rows it read', async () => {
  const { adapter, devices } = interleaved(2_000, 2, 1_000);
  const shared = new SharedPass(() => adapter.rows(), devices, { maxQueued: 100 });
  const results = await Promise.allSettled(devices.map(async (d) => { const out: string[] = []; for await (const r of shared.attach(d)!) out.push(r.readingId); return out; }));
  for (const r of results) assert.ok(r.status === 'rejected' && /read failed at row 1000/.test(String(r.reason)), JSON.stringify(r));
});

test('planSources: interleaved devices of an uncached data set share one pass; devices in runs (a file sorted by device) pass alone', async () => {
  const { adapter, passes } = interleaved(4_000, 4);
  const sources = await planSources(adapter, { cacheRows: 0 });
  assert.is(passes.count, 1, 'the planning pass');
  const rnd = mulberry32(8);
  assert.equal(sources.map((s) => s.id), ['device-1', 'device-2', 'device-3', 'device-4', 'invalid']);
  assert.ok(sources.every((s) => s.reads === 'one pass shared by the devices'), 'the bad rows\' source shares it too');
  const devices = sources.slice(0, 4);
  const badLines: number[] = [];
  const [got] = await Promise.all([
    Promise.all(devices.map((s) => drain(s.records() as AsyncIterable<DatasetRow>, rnd))),
    (async () => { for await (const r of sources[4]!.records()) badLines.push(isBadRow(r) ? r.line : -1); })(),
  ]);
  assert.is(passes.count, 2, 'one shared pass for the four device sources and the bad rows');
  for (const [i, s] of devices.entries()) assert.equal(got[i], await filtered(adapter, s.id), s.id);
  const expectedBad: number[] = [];
  for await (const r of adapter.rows()) if (isBadRow(r)) expectedBad.push(r.line);
  assert.equal(badLines, expectedBad, 'the bad rows, in order');
  // a restarted source reads alone, from the start
  passes.count = 0;
  assert.equal(await drain(sources[1]!.records() as AsyncIterable<DatasetRow>, rnd), await filtered(adapter, 'device-2'));
  assert.is(passes.count, 2, 'its own pass (and the reference pass)');
  // a source released before it reads (an exhausted one) has no rows kept for it: were it read after all, it reads alone
  const again = await planSources(adapter, { cacheRows: 0 });
  again[2]!.release!();
  passes.count = 0;
  const [kept, released] = await Promise.all([drain(again[0]!.records() as AsyncIterable<DatasetRow>, rnd), drain(again[2]!.records() as AsyncIterable<DatasetRow>, rnd)]);
  assert.equal(kept, await filtered(adapter, 'device-1'));
  assert.equal(released, await filtered(adapter, 'device-3'));
  assert.is(passes.count, 4, 'the shared pass, the released source\'s own pass (and the two reference passes)');

  const dir = mkdtempSync(path.join(os.tmpdir(), 'flead-shared-pass-'));
  const file = path.join(dir, 'sorted.csv');
  const lines = ['reading,mote_id,indoor,humidity,temperature,label'];
  for (const mote of [1, 2, 3]) for (let i = 1; i <= 300; i++) lines.push(`${i},${mote},1,${40 + (i % 7)},${20 + (i % 5)},0`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const wsn = openDataset('wsn', { file });
  let wsnPasses = 0;
  const counted: DatasetAdapter = { ...wsn, rows: () => { wsnPasses++; return wsn.rows(); } };
  const sorted = await planSources(counted, { cacheRows: 0 });
  await Promise.all(sorted.map((s) => drain(s.records() as AsyncIterable<DatasetRow>, rnd)));
  assert.is(wsnPasses, 1 + 3, 'planning, then a pass each (sharing would stream one mote after the other)');
});

test.run();
