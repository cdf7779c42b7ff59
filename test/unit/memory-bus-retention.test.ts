/**
 * The in-process bus's retention (MemoryBusOptions.retainMessages): beyond it the oldest messages of a partition
 * are let go once every group of the process has consumed them; offsets stay absolute; a group that starts later
 * begins at the oldest kept message; an unconsumed message is never let go.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryBus } from '../../src/infra/bus/memory-bus';
import type { BusMessage } from '../../src/infra/bus/port';

const test = suite('memory bus retention');
const waitFor = async (what: string, ok: () => boolean, ms = 5000): Promise<void> => {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};
const publishN = async (bus: ReturnType<typeof createMemoryBus>, from: number, n: number): Promise<void> => {
  for (let i = from; i < from + n; i++) await bus.publish('t', [{ key: 'k', value: `m${i}`, headers: { 'flead-outbox-id': `id-${i}` } }]);
};

test('consumed messages beyond the limit are let go: a later group starts at the oldest kept one, offsets absolute', async () => {
  const bus = createMemoryBus({ retainMessages: 10 });
  await bus.ensureTopics([{ topic: 't', partitions: 1 }]);
  const seen: string[] = [];
  const sub = await bus.subscribe({ groupId: 'a', topics: ['t'], eachBatch: async (ms) => { for (const m of ms) seen.push(m.value.toString()); } });
  for (let i = 0; i < 100; i += 10) {
    await publishN(bus, i, 10);
    await waitFor('group a consumed', () => seen.length === i + 10);
  }
  const late: BusMessage[] = [];
  const sub2 = await bus.subscribe({ groupId: 'b', topics: ['t'], eachBatch: async (ms) => { late.push(...ms); } });
  await waitFor('group b consumed', () => late.length > 0 && late[late.length - 1]!.offset === '99');
  assert.ok(late.length >= 10 && late.length <= 11, `kept ${late.length} of 100`);
  assert.equal(late.map((m) => m.value.toString()), Array.from({ length: late.length }, (_, j) => `m${100 - late.length + j}`));
  assert.equal(late.map((m) => Number(m.offset)), Array.from({ length: late.length }, (_, j) => 100 - late.length + j), 'offsets stay absolute');
  // the outbox ids of let-go messages are forgotten, those kept still deduplicate
  await bus.publish('t', [{ key: 'k', value: 'again', headers: { 'flead-outbox-id': 'id-99' } }]);
  await new Promise((r) => setTimeout(r, 50));
  assert.is(late[late.length - 1]!.offset, '99', 'a kept outbox id is still a duplicate');
  await sub.stop();
  await sub2.stop();
  await bus.close();
});

test('a message a group has not consumed is never let go', async () => {
  const bus = createMemoryBus({ retainMessages: 5 });
  await bus.ensureTopics([{ topic: 't', partitions: 1 }]);
  let open = false;
  const got: string[] = [];
  const sub = await bus.subscribe({
    groupId: 'slow', topics: ['t'],
    eachBatch: async (ms) => { if (!open) throw new Error('not yet'); for (const m of ms) got.push(m.value.toString()); },
  });
  await publishN(bus, 0, 40);
  open = true;
  await waitFor('the slow group consumed all 40', () => got.length === 40, 10_000);
  assert.equal(got, Array.from({ length: 40 }, (_, i) => `m${i}`));
  await sub.stop();
  await bus.close();
});

test.run();
