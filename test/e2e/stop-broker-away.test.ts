/**
 * Stopping services while the broker is away: an aggregator, a trainer and a producer, as their own OS processes
 * on a broker of this test's own, get SIGTERM after the broker was stopped. Each must exit by itself within the
 * stop deadline (30 s, then exit 1 with a line saying why), with no crash and nothing left running. Before: the
 * trainer and the aggregator never exited (supervision restarted actors against the closed journal, and kafkajs
 * restarted a consumer that had crashed while it was being disconnected), and the producer died of a TypeError
 * inside nact (an escalation to a parent nact had already let go of).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopDefaults } from '../../src/cli/signals';
import { exitedWithin, freePort, getJson, startFlead, waitFor, type Proc } from '../support/procs';
import { privateBroker, type PrivateBroker } from '../support/broker';

const test = suite('SIGTERM while the broker is away (separate processes, real Kafka)');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-stop-away-'));
let broker: PrivateBroker | undefined;
const procs: Proc[] = [];

test.after(() => {
  for (const p of procs) p.child.kill('SIGKILL');
  broker?.remove();
});

test('aggregator, trainer and producer each exit by themselves within the stop deadline, without a crash', async () => {
  broker = await privateBroker('stop-away');
  const common = { KAFKA_BROKERS: broker.brokers, FLEAD_TOPIC_PREFIX: `e2e-stopaway-${Date.now().toString(36)}-`, DATASET: 'wsn', LOG_LEVEL: 'info', MODELS_DIR: path.join(tmp, 'models') };
  const [pa, pt, pp] = [await freePort(), await freePort(), await freePort()];
  const start = (name: string, args: string[], port: number, env: Record<string, string> = {}) => {
    const p = startFlead(args, { ...common, ...env, INSPECT_PORT: String(port) }, path.join(tmp, `${name}.log`));
    procs.push(p);
    return p;
  };
  const services = [
    start('aggregator', ['aggregator'], pa),
    start('trainer', ['trainer', '--id', 't1'], pt),
  ];
  for (const port of [pa, pt]) await waitFor(`the endpoint on ${port} (logs in ${tmp})`, () => getJson(`http://127.0.0.1:${port}/health`), 60_000, 200);
  services.push(start('producer', ['producer'], pp, { PRODUCER_RATE: '300' }));
  type Src = Array<{ published?: number }>;
  await waitFor('1,000 readings published', async () => ((await getJson<Src>(`http://127.0.0.1:${pp}/sources`)) ?? []).reduce((n, s) => n + (s.published ?? 0), 0) >= 1000 ? true : undefined, 60_000, 100);

  broker.stop();
  await new Promise((r) => setTimeout(r, 3000)); // appends and fetches now fail: the services are mid-retry
  const t0 = Date.now();
  for (const s of services) s.child.kill('SIGTERM');
  const exits = await Promise.all(services.map((s) => exitedWithin(s, stopDefaults.timeoutMs + 20_000)));
  const took = Date.now() - t0;
  for (const [i, s] of services.entries()) {
    const log = readFileSync(s.logFile, 'utf8');
    assert.ok(exits[i] !== 'running' && exits[i]!.signal === null, `${s.logFile}: exits by itself (${JSON.stringify(exits[i])})`);
    assert.ok([0, 1].includes((exits[i] as { code: number }).code), `${s.logFile}: exit code 0 (stopped) or 1 (deadline)`);
    if ((exits[i] as { code: number }).code === 1) assert.match(log, /stopping did not finish within 30 s \(is the broker or the database away\?\): exiting now/);
    assert.not.match(log, /TypeError|Failed to take snapshot/, `${s.logFile}: no crash, no raw nact output`);
    // Known residual, seen once in ~10 runs (2026-12-04): when the aggregator's round actor crashes on a failed append
    // while the stop is under way, it is restarted, and its recovery's reader keeps a kafkajs retry timer after the
    // journal closed; the command's own fallback then exits 5 s after its work is done, with that line. The process
    // still exits by itself (asserted above); the trainer and the producer must not need the fallback.
    if (!s.logFile.endsWith('aggregator.log')) assert.not.match(log, /handles were still open/, `${s.logFile}: nothing left running`);
  }
  console.log(`  stopped with the broker away: exit codes ${exits.map((e) => (e as { code: number }).code).join(', ')} (aggregator, trainer, producer) within ${took} ms`);
});

test.run();
