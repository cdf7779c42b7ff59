/**
 * Two trainer processes started with one --id share a journal writer id: the second one's start fences the
 * first, whose journal can write nothing more. The first must stop on its own (exit 1, a line saying why),
 * not run on failing every append; the second scores every WSN reading exactly once.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exitedWithin, freePort, getJson, startFlead, waitFor, type Proc } from '../support/procs';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const test = suite('same writer id (separate processes, real Kafka)');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-same-writer-'));
const procs: Proc[] = [];
test.after(() => { for (const p of procs) p.child.kill('SIGKILL'); });

test('a second trainer with the same --id: the first stops with exit 1 and the reason; the second scores every reading once', async () => {
  const prefix = `e2e-same-${Date.now().toString(36)}-`;
  const common = { KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix, DATASET: 'wsn', LOG_LEVEL: 'info', MODELS_DIR: path.join(tmp, 'models') };
  const [p1, p2, pp] = [await freePort(), await freePort(), await freePort()];
  const log1 = path.join(tmp, 'first.log');
  const first = startFlead(['trainer', '--id', 'same'], { ...common, INSPECT_PORT: String(p1) }, log1);
  procs.push(first);
  await waitFor(`the first trainer's endpoint (log ${log1})`, () => getJson(`http://127.0.0.1:${p1}/health`), 60_000, 200);
  const producer = startFlead(['producer', '--exit-when-done'], { ...common, INSPECT_PORT: String(pp), PRODUCER_RATE: '1000' }, path.join(tmp, 'producer.log'));
  procs.push(producer);
  await waitFor('the first trainer to score readings', async () => {
    const d = await getJson<Array<{ seen: number }>>(`http://127.0.0.1:${p1}/devices`);
    return d && d.reduce((n, x) => n + x.seen, 0) > 500 ? true : undefined;
  }, 60_000, 200);
  const log2 = path.join(tmp, 'second.log');
  procs.push(startFlead(['trainer', '--id', 'same'], { ...common, INSPECT_PORT: String(p2) }, log2));

  const exit = await exitedWithin(first, 90_000);
  assert.equal(exit, { code: 1, signal: null }, `the fenced trainer stops by itself with exit 1 (log ${log1})`);
  assert.match(readFileSync(log1, 'utf8'), new RegExp(`error +trainer\\[same\\]: journal .*writer ${prefix}trainer-same\\): another engine with writer id ${prefix}trainer-same has taken over .*: another process runs with this service's writer id`));

  assert.equal(await producer.exited, { code: 0, signal: null });
  const seen = await waitFor(`the second trainer to score all 18,914 readings (log ${log2})`, async () => {
    const d = await getJson<Array<{ deviceId: string; seen: number }>>(`http://127.0.0.1:${p2}/devices`);
    return d && d.reduce((n, x) => n + x.seen, 0) >= 18_914 ? d.map((x) => x.seen).sort() : undefined;
  }, 120_000, 500);
  assert.equal(seen, [4417, 4417, 5039, 5041], 'each mote\'s readings scored exactly once across the two');
});

test.run();
