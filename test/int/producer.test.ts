/**
 * The producer on real Kafka with an Edge-IIoTset-shaped CSV (generated with the exact header and quirks)
 * into which bad rows were written: every good row becomes a reading, every bad row a dead letter with its
 * file, line and reason; the stream never stops.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLeft } from 'fp-ts/Either';
import { loadConfig } from '../../src/config';
import { startProducer } from '../../src/actors/producer/service';
import { openInfra } from '../../src/infra/profile';
import { openDataset, writeEdgeCsv, EDGE_IIOTSET_HEADER } from '../../src/infra/datasets';
import { createLogger } from '../../src/infra/log';
import { decodeJson } from '../../src/protocols/codec';
import { DeadLetter } from '../../src/protocols/dead-letter';
import { SensorReading } from '../../src/protocols/readings';
import { waitFor } from '../support/procs';

const test = suite('producer: bad rows go to the dead-letter topic with file, line and reason');

test('2,000 generated rows with quirks + 3 bad rows: 2,000 readings and 3 dead letters', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flead-producer-int-'));
  const file = path.join(dir, 'edge.csv');
  const { rows } = await writeEdgeCsv(file, { seed: 11, rows: 2000, devices: 3, attackFraction: 0.2, quirks: true });
  const cells = EDGE_IIOTSET_HEADER.length;
  appendFileSync(file, [
    Array(cells - 1).fill('0').join(','), // one column short
    [...Array(cells - 2).fill('0'), '1', 'DDoS_UDP'].map((v, i) => (i === EDGE_IIOTSET_HEADER.indexOf('tcp.len') ? 'abc' : v)).join(','), // non-numeric feature
    [...Array(cells - 2).fill('0'), '', ''].join(','), // missing label
  ].join('\n') + '\n');
  const prefix = `int-prod-${Date.now().toString(36)}-`;
  const c = loadConfig(process.env, { FLEAD_PROFILE: 'local', FLEAD_TOPIC_PREFIX: prefix, DATASET: 'edge-iiotset', DATASET_PATH: file, PRODUCER_RATE: 'unlimited' });
  if (isLeft(c)) throw new Error(c.left);
  const config = c.right;
  const infra = await openInfra(config, 'producer');
  const adapter = openDataset('edge-iiotset', { path: file, devices: 3 });
  const readings = new Set<string>();
  const letters: DeadLetter[] = [];
  const warnings: string[] = [];
  let producer: Awaited<ReturnType<typeof startProducer>> | undefined;
  let sub: { stop(): Promise<void> } | undefined;
  try {
    // started inside the try: a failed start still closes the infrastructure (else the process lingers)
    producer = await startProducer({ config, adapter, journal: infra.journal, bus: infra.bus, log: createLogger('producer', 'warn', (l) => warnings.push(l)), tty: null });
    sub = await infra.bus.subscribe({
      groupId: `${prefix}check`, topics: [config.topics.readings, config.topics.deadLetters], fromBeginning: true,
      eachBatch: async (ms) => {
        for (const m of ms) {
          if (m.topic === config.topics.readings) { const r = decodeJson(SensorReading, m.value); if (!isLeft(r)) readings.add(r.right.readingId); }
          else { const d = decodeJson(DeadLetter, m.value); if (!isLeft(d)) letters.push(d.right); }
        }
      },
    });
    await producer.done;
    const p = producer.progress();
    await waitFor('all messages consumed', async () => (readings.size === p.published && letters.length === p.bad ? true : undefined), 60_000);
    assert.ok(p.bad >= 3, `at least the 3 bad rows were found (${p.bad})`);
    assert.is(p.published + p.bad, rows + 3, 'every record is either a reading or a dead letter');
    const mine = letters.filter((l) => (l.source.line ?? 0) > rows + 1);
    assert.is(mine.length, 3, 'the three appended bad rows are dead letters');
    for (const l of mine) {
      assert.is(l.source.file, file);
      assert.match(l.reason, /^line \d+: /);
      assert.ok(Buffer.from(l.raw, 'base64').length > 0, 'the raw row is kept');
    }
    assert.match(mine[0]!.reason, /expected 63 columns, got 62/);
    assert.match(mine[1]!.reason, /tcp\.len/);
    assert.match(mine[2]!.reason, /label|Attack/);
    // the default MODEL_SPEC takes 2 features: the producer says so, and what to set instead
    const n = adapter.featureNames.length;
    const spec = `{"kind":"classifier","inputs":${n},"hidden":[32,16],"classes":2}`;
    assert.equal(warnings.filter((l) => /MODEL_SPEC/.test(l)).map((l) => l.replace(/^\S+ warn  producer: /, '')), [
      `readings of edge-iiotset carry ${n} features and MODEL_SPEC takes 2: the trainers will score them with the z-score baseline only. For the federated model give the aggregator and every trainer a MODEL_SPEC of ${n} inputs, e.g. MODEL_SPEC='${spec}'`,
    ]);
    const suggested = loadConfig({}, { MODEL_SPEC: spec });
    assert.ok(!isLeft(suggested) && suggested.right.model.layers[0]!.shape[0] === n, 'the suggested MODEL_SPEC is valid and takes every feature');
  } finally {
    await sub?.stop();
    await producer?.stop();
    await infra.close();
  }
});

test.run();
