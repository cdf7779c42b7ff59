/** Producer pieces without I/O: the token bucket and the source decider. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rateText, TokenBucket } from '../../src/actors/producer/rate-limit';
import { planSources } from '../../src/actors/producer/sources';
import { isBadRow } from '../../src/infra/datasets/adapter';
import { openDataset } from '../../src/infra/datasets';
import { sourceDecider, type SourceCommand, type SourceEvent } from '../../src/actors/producer/source.decider';
import { fold } from '../../src/actors/runtime/decider';
import { given } from '../support/given';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
  const streamed = await ids(await planSources(adapter, 64, 0)); // cacheRows 0: every source passes over the file
  assert.equal(Object.keys(cached), ['mote-1', 'mote-2', 'mote-3', 'mote-4']);
  assert.equal(cached, streamed);
  assert.is(Object.values(cached).reduce((n, rows) => n + rows.length, 0), 18_914);
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

Sources.run();
