/**
 * The aggregator's round actor and its deadline, on the in-memory journal and bus with a clock the test moves:
 * a deadline timer that fires while the clock still reads before the deadline (the wall clock drifted or was
 * stepped back against the monotonic clock timers run on) is armed again instead of being lost, and a round announcement that
 * hangs (a broker under load) does not hold the round open past its deadline.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLeft } from 'fp-ts/Either';
import { startAggregator, type AggregatorService } from '../../src/actors/aggregator/service';
import { currentRound, type RoundState } from '../../src/actors/aggregator/round.state';
import { loadConfig, type Config } from '../../src/config';
import { createMemoryBus } from '../../src/infra/bus/memory-bus';
import type { Bus } from '../../src/infra/bus/port';
import { createMemoryJournal } from '../../src/infra/journal/memory-journal';
import { silentLogger } from '../../src/infra/log';
import { createModelStore } from '../../src/infra/model-store';
import { waitFor } from '../support/procs';

const test = suite('round actor: deadlines');

interface Harness { svc: AggregatorService; config: Config; state: () => RoundState; dir: string }

async function start(bus: Bus, clock: () => number, deadlineMs: number): Promise<Harness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flead-round-actor-'));
  const c = loadConfig({}, {
    FLEAD_PROFILE: 'embedded', MODELS_DIR: dir, ROUND_QUORUM: '3', ROUND_MIN_UPDATES: '2', ROUND_DEADLINE_MS: String(deadlineMs), ROUND_INTERVAL_MS: '0',
  });
  if (isLeft(c)) throw new Error(c.left);
  const config = c.right;
  const svc = await startAggregator({ config, journal: createMemoryJournal(), bus, store: await createModelStore(dir), log: silentLogger, clock });
  await svc.ready;
  return { svc, config, dir, state: () => svc.registry.get('aggregator/round')!.state as RoundState };
}

const roundStatus = (h: Harness, round: number) => h.state().rounds.find((r) => r.round === round)?.status;

test('a deadline timer that fires while the clock reads before the deadline is armed again', async () => {
  let offset = 0;
  const h = await start(createMemoryBus(), () => Date.now() + offset, 300);
  try {
    await waitFor('round 1 open', async () => (h.state().phase === 'Collecting' && currentRound(h.state())?.round === 1 ? true : undefined), 5_000);
    offset = -200; // the wall clock steps back: when the timer fires, the clock reads ~200 ms before the deadline
    await waitFor('round 1 abandoned at its deadline', async () => (roundStatus(h, 1) === 'abandoned' ? true : undefined), 5_000);
    const r1 = h.state().rounds.find((r) => r.round === 1)!;
    assert.ok(r1.closedAt! >= r1.deadline, `closed at ${r1.closedAt}, deadline ${r1.deadline}: never before the deadline by the service's clock`);
    await waitFor('round 2 open', async () => (currentRound(h.state())?.round === 2 ? true : undefined), 5_000);
  } finally {
    await h.svc.stop();
    rmSync(h.dir, { recursive: true, force: true });
  }
});

test('a round announcement that hangs does not hold the round open past its deadline', async () => {
  const inner = createMemoryBus();
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let held = 0;
  const bus: Bus = {
    ...inner,
    async publish(topic, messages) {
      // round 1's announcement hangs until released; everything else goes through
      if (messages.some((m) => m.headers?.round === '1')) { held++; await gate; }
      return inner.publish(topic, messages);
    },
  };
  const h = await start(bus, Date.now, 300);
  try {
    await waitFor('round 1 open, its announcement held', async () => (currentRound(h.state())?.round === 1 && held > 0 ? true : undefined), 5_000);
    await waitFor('round 1 abandoned at its deadline', async () => (roundStatus(h, 1) === 'abandoned' ? true : undefined), 5_000);
    await waitFor('round 2 open', async () => (currentRound(h.state())?.round === 2 ? true : undefined), 5_000);
  } finally {
    release();
    await h.svc.stop();
    rmSync(h.dir, { recursive: true, force: true });
  }
});

test.run();
