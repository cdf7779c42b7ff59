/**
 * The in-process bus's retention (MemoryBusOptions.retainMessages): beyond it the oldest messages of a partition
 * are let go once every group has consumed them; offsets stay absolute; a group that starts later begins at the
 * oldest kept message; an unconsumed message is never let go. Durable (`dir`): whole segments go from disk too,
 * a group with offsets on disk holds them before it subscribes, a transient group does not once stopped, and an
 * outbox message let go is still recognised when relayed again, across a reopen.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
// journal-style outbox ids: <key>#<first seq>#<index>
const outboxId = (seq: number, index = 0): string => `producer/source-1#${seq}#${index}`;
const publishN = async (bus: ReturnType<typeof createMemoryBus>, from: number, n: number): Promise<void> => {
  for (let i = from; i < from + n; i++) await bus.publish('t', [{ key: 'k', value: `m${i}`, headers: { 'flead-outbox-id': outboxId(i) } }]);
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
  // outbox ids kept and let go still deduplicate
  await bus.publish('t', [{ key: 'k', value: 'again', headers: { 'flead-outbox-id': outboxId(99) } }]);
  await bus.publish('t', [{ key: 'k', value: 'again', headers: { 'flead-outbox-id': outboxId(3) } }]);
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


const segmentsOf = (dir: string, topic = 't'): string[] => fs.readdirSync(path.join(dir, 'topics', topic)).filter((f) => f.endsWith('.log')).sort();
const consumer = (bus: ReturnType<typeof createMemoryBus>, groupId: string, into: BusMessage[], extra: { transient?: boolean } = {}) =>
  bus.subscribe({ groupId, topics: ['t'], ...extra, eachBatch: async (ms) => { into.push(...ms); } });
/** A first run on `dir`: `group` reads m0..m4 and stops; the bus closes. */
async function firstRun(dir: string, topics: Array<{ topic: string; partitions: number; compacted?: boolean }>, group: string, extra: { transient?: boolean } = {}): Promise<void> {
  const bus = createMemoryBus({ dir, retainMessages: 10, segmentMessages: 2 });
  await bus.ensureTopics(topics);
  const seen: BusMessage[] = [];
  const sub = await consumer(bus, group, seen, extra);
  await publishN(bus, 0, 5);
  await waitFor(`${group} consumed`, () => seen.length === 5);
  await sub.stop();
  await bus.close();
}
const withDir = async (name: string, body: (dir: string) => Promise<void>): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `flead-retain-${name}-`));
  try { await body(dir); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
};

test('durable: consumed segments leave the disk; a reopened bus keeps offsets, later groups start at the oldest kept', () =>
  withDir('segments', async (dir) => {
    let bus = createMemoryBus({ dir, retainMessages: 20, segmentMessages: 5 });
    await bus.ensureTopics([{ topic: 't', partitions: 1 }]);
    const a: BusMessage[] = [];
    let sub = await consumer(bus, 'a', a);
    // offset 0: the first message of another journal key's append (seq 7); then m0..m199 at offsets 1..200
    await bus.publish('t', [{ key: 'k', value: 'x', headers: { 'flead-outbox-id': 'trainer/device-1#7#0' } }]);
    for (let i = 0; i < 200; i++) {
      await bus.publish('t', [{ key: 'k', value: `m${i}`, headers: { 'flead-outbox-id': outboxId(i) } }]);
      if (i % 10 === 9) await waitFor('group a consumed', () => a.length === i + 2);
    }
    await sub.stop();
    await bus.close();
    const files = segmentsOf(dir);
    assert.ok(files.length <= 6, `at most 20 + 2 x 5 messages in segments of 5 on disk, found ${files.join(' ')}`);
    assert.not.ok(files.includes('0.log'), 'the first segment was deleted');
    const lines = files.reduce((n, f) => n + fs.readFileSync(path.join(dir, 'topics', 't', f), 'utf8').split('\n').length - 1, 0);
    assert.ok(lines >= 20 && lines <= 30, `${lines} messages left on disk`);

    bus = createMemoryBus({ dir, retainMessages: 20, segmentMessages: 5 });
    const b: BusMessage[] = [];
    const subB = await consumer(bus, 'b', b);
    await waitFor('group b read the kept messages', () => b.length === lines);
    assert.equal(b.map((m) => Number(m.offset)), Array.from({ length: lines }, (_, j) => 201 - lines + j), 'a later group starts at the oldest kept, offsets absolute');
    assert.equal(b.map((m) => m.value.toString()), Array.from({ length: lines }, (_, j) => `m${200 - lines + j}`));
    // relayed again after the reopen: let-go messages (only in the outbox marks) and a kept one are all dropped
    const again = (id: string) => ({ key: 'k', value: 'again', headers: { 'flead-outbox-id': id } });
    await bus.publish('t', [again(outboxId(3)), again(outboxId(199)), again('trainer/device-1#7#0'), again('trainer/device-1#6#0')]);
    // the second message of the let-go append (seq 7), never stored (an outbox cut by a crash), is stored
    await bus.publish('t', [{ key: 'k', value: 'sibling', headers: { 'flead-outbox-id': 'trainer/device-1#7#1' } }]);
    sub = await consumer(bus, 'a', a);
    await waitFor('group a got the new message', () => a.length >= 202);
    assert.is(a[201]!.value.toString(), 'sibling');
    assert.is(a[201]!.offset, '201', 'group a resumed at its offset; offsets go on from the end');
    await new Promise((r) => setTimeout(r, 50));
    assert.is(a.length, 202, 'the relayed duplicates were not stored');
    await sub.stop();
    await subB.stop();
    await bus.close();
  }));

test('durable: a group with offsets on disk holds its unconsumed messages before it subscribes again', () =>
  withDir('pin', async (dir) => {
    await firstRun(dir, [{ topic: 't', partitions: 1 }], 'sink');
    // the next run: the trainer consumes a long stream while the sink has not subscribed yet
    const bus = createMemoryBus({ dir, retainMessages: 10, segmentMessages: 2 });
    const trained: BusMessage[] = [];
    const trainer = await consumer(bus, 'trainer', trained);
    for (let i = 5; i < 100; i += 5) {
      await publishN(bus, i, 5);
      await waitFor('trainer consumed', () => trained.length === i + 5);
    }
    const late: BusMessage[] = [];
    const sink2 = await consumer(bus, 'sink', late);
    await waitFor('the sink caught up', () => late.length >= 95);
    assert.equal(late.map((m) => m.value.toString()), Array.from({ length: 95 }, (_, j) => `m${j + 5}`), 'the sink lost nothing');
    // its catching up (no publish since) lets the segments go
    await waitFor('the sink committed its last batch', () => segmentsOf(dir).length <= 7, 2000).catch(() => undefined);
    assert.ok(segmentsOf(dir).length <= 7, `10 to 11 messages kept in segments of 2 once the sink caught up: ${segmentsOf(dir).join(' ')}`);
    await trainer.stop();
    await sink2.stop();
    await bus.close();
  }));

test('durable: a transient group holds nothing once stopped, nor after a reopen; compacted topics keep everything', () =>
  withDir('transient', async (dir) => {
    await firstRun(dir, [{ topic: 't', partitions: 1 }, { topic: 'c', partitions: 1, compacted: true }], 'eval-1', { transient: true });
    assert.not.ok(fs.existsSync(path.join(dir, 'groups', 'eval-1.log')), 'no offsets on disk');
    const bus = createMemoryBus({ dir, retainMessages: 10, segmentMessages: 2 });
    const a: BusMessage[] = [];
    const sub = await consumer(bus, 'a', a);
    for (let i = 5; i < 100; i += 5) {
      await publishN(bus, i, 5);
      await bus.publish('c', [{ key: `k${i}`, value: `c${i}`, headers: {} }]);
      await waitFor('group a consumed', () => a.length === i + 5);
    }
    const c: string[] = [];
    const subC = await bus.subscribe({ groupId: 'c-reader', topics: ['c'], eachBatch: async (ms) => { c.push(...ms.map((m) => m.value.toString())); } });
    await waitFor('the compacted topic read', () => c.length === 19);
    await sub.stop();
    await subC.stop();
    await bus.close();
    assert.ok(segmentsOf(dir).length <= 11, `the stopped transient group held no segment: ${segmentsOf(dir).join(' ')}`);
    const kept = segmentsOf(dir, 'c').map((f) => fs.readFileSync(path.join(dir, 'topics', 'c', f), 'utf8').split('\n').length - 1);
    assert.is(kept.reduce((n, x) => n + x, 0), 19, 'a compacted topic is never let go');
  }));

test('keepTopics (the dead letters) are never let go, read or not', () =>
  withDir('keep', async (dir) => {
    const bus = createMemoryBus({ dir, retainMessages: 10, segmentMessages: 2, keepTopics: ['dead'] });
    await bus.ensureTopics([{ topic: 'dead', partitions: 1 }]);
    const seen: BusMessage[] = [];
    const sub = await bus.subscribe({ groupId: 'reader', topics: ['dead'], eachBatch: async (ms) => { seen.push(...ms); } });
    for (let i = 0; i < 60; i++) await bus.publish('dead', [{ key: 'k', value: `d${i}`, headers: {} }]);
    await waitFor('the reader read them', () => seen.length === 60);
    await sub.stop();
    const late: BusMessage[] = [];
    const sub2 = await bus.subscribe({ groupId: 'late', topics: ['dead'], eachBatch: async (ms) => { late.push(...ms); } });
    await waitFor('a later group reads every dead letter', () => late.length === 60);
    await sub2.stop();
    await bus.close();
    assert.is(segmentsOf(dir, 'dead').length, 30, 'all on disk');
  }));

test.run();
