/**
 * The journal contract (see src/infra/journal/port.ts): one suite that every engine passes. Each test opens
 * its own engine through `make()` and works on keys of its own (`ns`), so the tests share nothing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { InfraError, type InfraErrorKind } from '../../src/infra/errors';
import type { Bus, BusMessage } from '../../src/infra/bus/port';
import { outboxIdHeader, type Journal, type JournalEvent, type OutboxMessage, type ReadOptions } from '../../src/infra/journal/port';
import type { FaultPoint } from '../../src/infra/journal/memory-journal';
import type { JournalEnvelope } from '../../src/protocols/journal';

export interface JournalHarness {
  journal: Journal;
  /** a new engine instance on the same store (after `journal` was closed): durability */
  reopen: () => Promise<Journal>;
  /** another engine on the same store with the same writer id, opened while `journal` is still open */
  second: () => Promise<Journal>;
  /** closes every engine the harness opened */
  close: () => Promise<void>;
  /** makes the next append of `journal` fail once at that point (a persist failure) */
  fault?: (point: FaultPoint) => void;
  /**
   * where the engines' outbox messages can be read back: the memory bus the embedded engines relay to, or a
   * Kafka bus (read_committed consumers) for the Kafka engine
   */
  bus: Bus;
  /** embedded engines: makes the next `times` relays fail (before publishing anything) */
  failRelay?: (times?: number) => void;
}

const base = Date.UTC(2025, 0, 1);
const ev = (i: number, extra: Record<string, unknown> = {}): JournalEvent => ({
  type: 'Counted',
  schemaVersion: 1,
  timestamp: base + i * 1000,
  data: { i, ...extra },
});
const evs = (from: number, to: number): JournalEvent[] => Array.from({ length: to - from + 1 }, (_, k) => ev(from + k));

export async function readAll(j: Journal, key: string, options?: ReadOptions): Promise<JournalEnvelope[]> {
  const out: JournalEnvelope[] = [];
  for await (const e of j.read(key, options)) out.push(e);
  return out;
}
const seqs = (es: readonly JournalEnvelope[]): number[] => es.map((e) => e.seq);
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, k) => from + k);

async function rejects(p: Promise<unknown>, kinds: InfraErrorKind[], what: string): Promise<InfraError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, InfraError, `${what}: expected an InfraError, got ${String(e)}`);
    const err = e as InfraError;
    assert.ok(kinds.includes(err.kind), `${what}: expected ${kinds.join(' or ')}, got ${err.kind}: ${err.message}`);
    return err;
  }
  assert.unreachable(`${what}: expected a rejection (${kinds.join(' or ')})`);
  throw new Error('unreachable');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Every message on topic, read by a fresh consumer group from the beginning: waits until at least `atLeast`
 * arrived, then `settleMs` longer, so that a duplicate would show too.
 */
export async function published(bus: Bus, topic: string, atLeast: number, settleMs = 300): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  const sub = await bus.subscribe({
    groupId: `outbox-reader-${randomBytes(6).toString('hex')}`,
    topics: [topic],
    fromBeginning: true,
    eachBatch: async (batch) => void got.push(...batch),
  });
  try {
    const until = Date.now() + 30_000;
    while (got.length < atLeast && Date.now() < until) await sleep(20);
    await sleep(settleMs);
  } finally {
    await sub.stop();
  }
  return got.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** n outbox messages for topic: values `${tag}${i}`, keys over two devices, one caller header. */
const outbox = (topic: string, tag: string, n: number): OutboxMessage[] =>
  Array.from({ length: n }, (_, i) => ({ topic, key: `dev-${i % 2}`, value: `${tag}${i}`, headers: { kind: 'reading' } }));
const values = (ms: readonly BusMessage[]): string[] => ms.map((m) => m.value.toString('utf8'));
const ids = (ms: readonly BusMessage[]): string[] => ms.map((m) => m.headers[outboxIdHeader] ?? '(none)');

/**
 * What an actor does with an append: on an unknown outcome ('unavailable') it re-learns the highest seq and
 * retries only when the events are not there. Returns the number of attempts.
 */
async function appendOnce(j: Journal, key: string, seq: number, events: JournalEvent[], messages: OutboxMessage[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      await j.append(key, seq, events, messages);
      return attempt;
    } catch (e) {
      if (!(e instanceof InfraError) || e.kind !== 'unavailable' || attempt >= 5) throw e;
      if ((await j.highestSeq(key)) >= seq + events.length - 1) return attempt;
    }
  }
}

export function journalContract(name: string, make: () => Promise<JournalHarness>): void {
  const test = suite(`journal contract: ${name}`);
  const ns = (): string => `c${randomBytes(4).toString('hex')}`;

  /** Runs body with a fresh harness, always closing it. */
  const withHarness = (body: (h: JournalHarness, key: string) => Promise<void>) => async () => {
    const h = await make();
    try {
      await body(h, `${ns()}/actor`);
    } finally {
      await h.close();
    }
  };

  test('appends and reads back in order, with contiguous seq numbers from 1', withHarness(async ({ journal }, key) => {
    assert.is(await journal.highestSeq(key), 0);
    assert.equal(await readAll(journal, key), []);
    const written = await journal.append(key, 1, evs(1, 3));
    assert.equal(seqs(written), [1, 2, 3]);
    assert.equal(written[0]!.key, key);
    await journal.append(key, 4, [ev(4)]);
    const got = await readAll(journal, key);
    assert.equal(seqs(got), [1, 2, 3, 4]);
    assert.equal(got.map((e) => (e.data as { i: number }).i), [1, 2, 3, 4]);
    assert.equal(got[1], { type: 'Counted', schemaVersion: 1, key, seq: 2, timestamp: base + 2000, data: { i: 2 } });
    assert.is(await journal.highestSeq(key), 4);
  }));

  test('read(afterSeq = k) yields seq k+1..n (seq > offset)', withHarness(async ({ journal }, key) => {
    await journal.append(key, 1, evs(1, 5));
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 0 })), [1, 2, 3, 4, 5]);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 2 })), [3, 4, 5]);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 4 })), [5]);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 5 })), []);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 9 })), []);
  }));

  test('a gap or a repeated seq is a conflict and writes nothing', withHarness(async ({ journal }, key) => {
    await journal.append(key, 1, evs(1, 2));
    const gap = await rejects(journal.append(key, 4, [ev(4)]), ['conflict'], 'gap');
    assert.is(gap.retriable, false);
    await rejects(journal.append(key, 2, [ev(2, { again: true })]), ['conflict'], 'repeat');
    await rejects(journal.append(key, 0, [ev(0)]), ['conflict'], 'seq 0');
    assert.is(await journal.highestSeq(key), 2);
    const got = await readAll(journal, key);
    assert.equal(got.map((e) => e.data), [{ i: 1 }, { i: 2 }]);
    await journal.append(key, 3, [ev(3)]);
    assert.equal(seqs(await readAll(journal, key)), [1, 2, 3]);
  }));

  test('a duplicate write of the same seq is rejected and the first one stays', withHarness(async ({ journal }, key) => {
    await journal.append(key, 1, [ev(1, { who: 'first' })]);
    await rejects(journal.append(key, 1, [ev(1, { who: 'second' })]), ['conflict'], 'duplicate');
    const got = await readAll(journal, key);
    assert.equal(got.map((e) => e.data), [{ i: 1, who: 'first' }]);
  }));

  test('a second writer fences the first; the log holds no duplicate seq', withHarness(async (h, key) => {
    await h.journal.append(key, 1, evs(1, 2));
    const other = await h.second();
    assert.is(await other.highestSeq(key), 2);
    await other.append(key, 3, [ev(3, { who: 'second' })]);
    await rejects(h.journal.append(key, 3, [ev(3, { who: 'first' })]), ['fenced', 'conflict'], 'old writer');
    await rejects(h.journal.append(key, 4, [ev(4, { who: 'first' })]), ['fenced', 'conflict'], 'old writer again');
    await other.append(key, 4, [ev(4, { who: 'second' })]);
    const got = await readAll(other, key);
    assert.equal(seqs(got), [1, 2, 3, 4]);
    assert.equal(got.slice(2).map((e) => (e.data as { who: string }).who), ['second', 'second']);
  }));

  test('snapshot + tail: recovery reads only the events after the snapshot', withHarness(async ({ journal }, key) => {
    assert.is(await journal.latestSnapshot(key), undefined);
    await journal.append(key, 1, evs(1, 6));
    const snapshot = { key, seq: 6, timestamp: base + 6000, schemaVersion: 1, data: { sum: 21, nested: [1, 2] } };
    await journal.saveSnapshot(snapshot);
    await journal.append(key, 7, evs(7, 10));
    const latest = await journal.latestSnapshot(key);
    assert.equal(latest, snapshot);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: latest!.seq })), [7, 8, 9, 10]);
    await journal.saveSnapshot({ ...snapshot, seq: 9, data: { sum: 45 } });
    assert.is((await journal.latestSnapshot(key))!.seq, 9);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 9 })), [10]);
    // an older snapshot saved late does not replace a newer one
    await journal.saveSnapshot({ ...snapshot, seq: 3, data: { sum: 6 } });
    assert.is((await journal.latestSnapshot(key))!.seq, 9);
    // reading from before the snapshot still gives everything
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 2 })), range(3, 10));
  }));

  test('untilSeq and untilTime stop the read (inclusive)', withHarness(async ({ journal }, key) => {
    await journal.append(key, 1, evs(1, 8));
    assert.equal(seqs(await readAll(journal, key, { untilSeq: 3 })), [1, 2, 3]);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 1, untilSeq: 3 })), [2, 3]);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 3, untilSeq: 3 })), []);
    assert.equal(seqs(await readAll(journal, key, { untilTime: base + 4000 })), [1, 2, 3, 4]);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 2, untilTime: base + 5500 })), [3, 4, 5]);
    assert.equal(seqs(await readAll(journal, key, { untilTime: base })), []);
  }));

  test('a reader that stops early does not block later reads', withHarness(async ({ journal }, key) => {
    await journal.append(key, 1, evs(1, 20));
    const firstTwo: number[] = [];
    for await (const e of journal.read(key)) {
      firstTwo.push(e.seq);
      if (firstTwo.length === 2) break;
    }
    assert.equal(firstTwo, [1, 2]);
    assert.equal(seqs(await readAll(journal, key)), range(1, 20));
    await journal.append(key, 21, [ev(21)]);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 19 })), [20, 21]);
  }));

  test('reopen: a new engine instance sees every event and snapshot', withHarness(async (h, key) => {
    await h.journal.append(key, 1, evs(1, 4));
    await h.journal.saveSnapshot({ key, seq: 3, timestamp: base, schemaVersion: 1, data: { sum: 6 } });
    await h.journal.append(key, 5, [ev(5)]);
    await h.journal.close();
    const again = await h.reopen();
    assert.is(await again.highestSeq(key), 5);
    assert.equal(seqs(await readAll(again, key)), range(1, 5));
    assert.equal((await again.latestSnapshot(key))?.data, { sum: 6 });
    assert.equal(seqs(await readAll(again, key, { afterSeq: 3 })), [4, 5]);
    assert.ok((await again.keys()).includes(key));
    await rejects(again.append(key, 5, [ev(5)]), ['conflict'], 'repeat after reopen');
    await again.append(key, 6, [ev(6)]);
    assert.equal(seqs(await readAll(again, key)), range(1, 6));
    await rejects(h.journal.append(key, 7, [ev(7)]), ['closed', 'fenced'], 'closed engine');
  }));

  test('a failed persist neither loses nor duplicates an event', withHarness(async (h, key) => {
    if (!h.fault) throw new Error(`${name} has no fault hook`);
    const { journal } = h;
    await journal.append(key, 1, evs(1, 3));
    // failure before the commit: nothing of the append is visible, and the same append can be retried
    h.fault('before-commit');
    const err = await rejects(journal.append(key, 4, evs(4, 5)), ['unavailable'], 'failing append');
    assert.is(err.retriable, true);
    assert.is(await journal.highestSeq(key), 3);
    assert.equal(seqs(await readAll(journal, key)), [1, 2, 3]);
    await journal.append(key, 4, evs(4, 5));
    // failure after the commit (outcome unknown to the caller): all of it is visible, a retry is a conflict
    h.fault('after-commit');
    await rejects(journal.append(key, 6, evs(6, 7)), ['unavailable'], 'ambiguous append');
    assert.is(await journal.highestSeq(key), 7);
    await rejects(journal.append(key, 6, evs(6, 7)), ['conflict'], 'retry of a committed append');
    await journal.append(key, 8, [ev(8)]);
    const got = await readAll(journal, key);
    assert.equal(seqs(got), range(1, 8));
    assert.equal(got.map((e) => (e.data as { i: number }).i), range(1, 8));
  }));

  test('a multi-event append is atomic: a too-large event rejects the whole batch', withHarness(async ({ journal }, key) => {
    const written = await journal.append(key, 1, evs(1, 50));
    assert.is(written.length, 50);
    assert.equal(seqs(await readAll(journal, key)), range(1, 50));
    const big = { ...ev(53), data: { blob: 'x'.repeat(1_100_000) } };
    const err = await rejects(journal.append(key, 51, [ev(51), ev(52), big, ev(54)]), ['too-large'], 'oversized event');
    assert.match(err.message, /\d+ bytes/);
    assert.is(await journal.highestSeq(key), 50);
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 48 })), [49, 50]);
    await journal.append(key, 51, evs(51, 54));
    assert.equal(seqs(await readAll(journal, key, { afterSeq: 48 })), range(49, 54));
  }));

  test('keys(prefix) lists the keys that have events', withHarness(async ({ journal }) => {
    const n = ns();
    await journal.append(`${n}/a/1`, 1, [ev(1)]);
    await journal.append(`${n}/a/2`, 1, evs(1, 2));
    await journal.append(`${n}/b/1`, 1, [ev(1)]);
    await journal.append(`${n}/Ünïcode key.x`, 1, [ev(1)]);
    await journal.saveSnapshot({ key: `${n}/only-a-snapshot`, seq: 0, timestamp: base, schemaVersion: 1, data: {} });
    assert.equal(await journal.keys(`${n}/a/`), [`${n}/a/1`, `${n}/a/2`]);
    assert.equal(await journal.keys(`${n}/`), [`${n}/a/1`, `${n}/a/2`, `${n}/b/1`, `${n}/Ünïcode key.x`].sort());
    assert.equal(await journal.keys(`${n}/zzz`), []);
    const all = await journal.keys();
    assert.ok(all.includes(`${n}/b/1`));
  }));

  const topicOf = (what: string): string => `flead-outbox-test-${what}-${ns()}`;

  test('outbox: the messages of an append are published on their topics, each with its outbox id', withHarness(async ({ journal, bus }, key) => {
    const readings = topicOf('readings');
    const alerts = topicOf('alerts');
    await bus.ensureTopics([{ topic: readings, partitions: 1 }, { topic: alerts, partitions: 1 }]);
    const first = [...outbox(readings, 'r', 3), { topic: alerts, key: null, value: 'alert0' }];
    const written = await journal.append(key, 1, evs(1, 2), first);
    assert.equal(seqs(written), [1, 2]);
    assert.equal(first[0]!.headers, { kind: 'reading' }, 'the caller\'s messages are not modified');
    await journal.append(key, 3, [ev(3)], outbox(readings, 's', 2));
    await journal.append(key, 4, [ev(4)]); // no outbox: publishes nothing
    const r = await published(bus, readings, 5);
    assert.equal(values(r), ['r0', 'r1', 'r2', 's0', 's1']);
    assert.equal(ids(r), [`${key}#1#0`, `${key}#1#1`, `${key}#1#2`, `${key}#3#0`, `${key}#3#1`]);
    assert.equal(r.map((m) => m.key), ['dev-0', 'dev-1', 'dev-0', 'dev-0', 'dev-1']);
    for (const m of r) assert.is(m.headers.kind, 'reading', 'caller headers are kept');
    const a = await published(bus, alerts, 1);
    assert.equal(values(a), ['alert0']);
    assert.equal(ids(a), [`${key}#1#3`], 'the index counts across the whole outbox');
    assert.is(a[0]!.key, null);
    assert.equal(seqs(await readAll(journal, key)), [1, 2, 3, 4]);
  }));

  test('outbox: an outbox without events, or with a message over the limit, is refused and nothing is written', withHarness(async ({ journal, bus }, key) => {
    const topic = topicOf('refused');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    try {
      await journal.append(key, 1, [], outbox(topic, 'x', 1));
      assert.unreachable('an outbox without events must be refused');
    } catch (e) {
      assert.instance(e, TypeError);
    }
    const huge = { topic, key: 'big', value: 'x'.repeat(1_100_000) };
    await rejects(journal.append(key, 1, evs(1, 2), [...outbox(topic, 'y', 1), huge]), ['too-large'], 'oversized outbox message');
    assert.is(await journal.highestSeq(key), 0);
    await journal.append(key, 1, [ev(1)], outbox(topic, 'z', 1));
    assert.equal(values(await published(bus, topic, 1)), ['z0'], 'only the accepted append published');
  }));

  test('outbox: an append that fails before its commit publishes nothing; the retry publishes once', withHarness(async (h, key) => {
    if (!h.fault) throw new Error(`${name} has no fault hook`);
    const { journal, bus } = h;
    const topic = topicOf('before');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    await journal.append(key, 1, evs(1, 3), outbox(topic, 'a', 2));
    h.fault('before-commit');
    const err = await rejects(journal.append(key, 4, evs(4, 5), outbox(topic, 'b', 3)), ['unavailable'], 'failing append');
    assert.is(err.retriable, true);
    assert.is(await journal.highestSeq(key), 3);
    // a later append's messages come after any of the failed one's on the partition: when they are there, so
    // would be the failed ones
    await journal.append(key, 4, [ev(4, { other: true })], outbox(topic, 'c', 1));
    assert.equal(values(await published(bus, topic, 3)), ['a0', 'a1', 'c0'], 'the failed append published nothing');
    h.fault('before-commit');
    assert.is(await appendOnce(journal, key, 5, evs(5, 6), outbox(topic, 'd', 2)), 2, 'the caller retried once');
    const got = await published(bus, topic, 5);
    assert.equal(values(got), ['a0', 'a1', 'c0', 'd0', 'd1']);
    assert.equal(ids(got).slice(3), [`${key}#5#0`, `${key}#5#1`]);
    assert.equal(seqs(await readAll(journal, key)), range(1, 6));
  }));

  test('outbox: an append of unknown outcome (fault after commit), re-learned and retried, publishes exactly once', withHarness(async (h, key) => {
    if (!h.fault) throw new Error(`${name} has no fault hook`);
    const { journal, bus } = h;
    const topic = topicOf('after');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    h.fault('after-commit');
    await rejects(journal.append(key, 1, evs(1, 2), outbox(topic, 'a', 3)), ['unavailable'], 'ambiguous append');
    // the caller re-learns: the events are there, so is their outbox; a blind retry is a conflict, sends nothing
    assert.is(await journal.highestSeq(key), 2);
    await rejects(journal.append(key, 1, evs(1, 2), outbox(topic, 'a', 3)), ['conflict'], 'blind retry');
    h.fault('after-commit');
    assert.is(await appendOnce(journal, key, 3, [ev(3)], outbox(topic, 'b', 2)), 1, 'no retry once re-learned');
    await journal.append(key, 4, [ev(4)], outbox(topic, 'c', 1));
    const got = await published(bus, topic, 6, 800);
    assert.equal(values(got), ['a0', 'a1', 'a2', 'b0', 'b1', 'c0'], 'every message exactly once');
    assert.is(new Set(ids(got)).size, 6);
    assert.equal(seqs(await readAll(journal, key)), range(1, 4));
  }));

  test('outbox (embedded engines): a failed relay keeps the events; the outbox goes out before the next append, once', withHarness(async (h, key) => {
    if (!h.failRelay) return; // Kafka: the outbox is in the append's transaction, there is no relay
    const { journal, bus } = h;
    const topic = topicOf('relay');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    h.failRelay();
    const err = await rejects(journal.append(key, 1, evs(1, 2), outbox(topic, 'a', 2)), ['unavailable'], 'failed relay');
    assert.is(err.retriable, true);
    assert.is(await journal.highestSeq(key), 2, 'the events are appended');
    assert.equal(seqs(await readAll(journal, key)), [1, 2]);
    assert.equal(values(await published(bus, topic, 0, 50)), [], 'not relayed yet');
    // while the relay keeps failing, the next append writes nothing
    h.failRelay();
    const blocked = await rejects(journal.append(key, 3, [ev(3)], outbox(topic, 'b', 1)), ['unavailable'], 'append behind a failing relay');
    assert.match(blocked.message, /seq 3 wrote nothing/);
    assert.is(await journal.highestSeq(key), 2, 'nothing written behind an unrelayed outbox');
    await rejects(journal.append(key, 1, evs(1, 2), outbox(topic, 'a', 2)), ['conflict'], 'blind retry');
    await journal.append(key, 3, [ev(3)], outbox(topic, 'b', 1));
    const got = await published(bus, topic, 3);
    assert.equal(values(got), ['a0', 'a1', 'b0'], 'in append order, each once');
    assert.equal(ids(got), [`${key}#1#0`, `${key}#1#1`, `${key}#3#0`]);
  }));

  test('outbox (embedded engines): an outbox left unrelayed by a failure is published once by the next engine', withHarness(async (h, key) => {
    if (!h.failRelay) return;
    const topic = topicOf('reopen');
    await h.bus.ensureTopics([{ topic, partitions: 1 }]);
    await h.journal.append(key, 1, [ev(1)], outbox(topic, 'a', 1));
    h.failRelay();
    await rejects(h.journal.append(key, 2, evs(2, 3), outbox(topic, 'b', 2)), ['unavailable'], 'failed relay');
    await h.journal.close();
    const again = await h.reopen();
    assert.is(await again.highestSeq(key), 3);
    await again.append(key, 4, [ev(4)], outbox(topic, 'c', 1));
    const got = await published(h.bus, topic, 4);
    assert.equal(values(got), ['a0', 'b0', 'b1', 'c0']);
    assert.is(new Set(ids(got)).size, 4);
  }));

  // Concurrency: appends issued without waiting for each other (the Kafka engine commits them in groups).

  test('concurrent appends to 200 keys all land, each key in order', withHarness(async ({ journal }) => {
    const n = ns();
    const keys = Array.from({ length: 200 }, (_, i) => `${n}/device-${i}`);
    await Promise.all(
      keys.map(async (key, i) => {
        for (let seq = 1; seq <= 3; seq++) {
          const written = await journal.append(key, seq, [ev(seq, { device: i })]);
          assert.equal(seqs(written), [seq]);
        }
      }),
    );
    const back = await Promise.all(keys.map((key) => readAll(journal, key)));
    back.forEach((got, i) => {
      assert.equal(seqs(got), [1, 2, 3], keys[i]);
      assert.ok(got.every((e) => (e.data as { device: number }).device === i), `${keys[i]} holds only its own events`);
    });
    for (const key of keys.slice(0, 5)) assert.is(await journal.highestSeq(key), 3);
  }));

  test('appends of one key issued without waiting chain in order', withHarness(async ({ journal }, key) => {
    const other = `${key}-other`;
    const results = await Promise.all([
      journal.append(key, 1, evs(1, 2)),
      journal.append(other, 1, [ev(1)]),
      journal.append(key, 3, [ev(3)]),
      journal.append(key, 4, evs(4, 6)),
    ]);
    assert.equal(results.map(seqs), [[1, 2], [1], [3], [4, 5, 6]]);
    assert.equal(seqs(await readAll(journal, key)), range(1, 6));
    assert.equal(seqs(await readAll(journal, other)), [1]);
    assert.is(await journal.highestSeq(key), 6);
  }));

  test('a conflicting append among concurrent ones is rejected alone', withHarness(async ({ journal }, key) => {
    const others = Array.from({ length: 10 }, (_, i) => `${key}-${i}`);
    await journal.append(key, 1, [ev(1, { who: 'first' })]);
    const settled = await Promise.allSettled([
      ...others.slice(0, 5).map((k) => journal.append(k, 1, [ev(1)])),
      journal.append(key, 1, [ev(1, { who: 'duplicate' })]),
      journal.append(key, 2, [ev(2)]),
      ...others.slice(5).map((k) => journal.append(k, 1, evs(1, 2))),
    ]);
    const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    assert.equal(failed, [5], 'only the duplicate is rejected');
    await rejects(Promise.reject((settled[5] as PromiseRejectedResult).reason), ['conflict'], 'duplicate');
    assert.equal((await readAll(journal, key)).map((e) => e.data), [{ i: 1, who: 'first' }, { i: 2 }]);
    for (const [i, k] of others.entries()) assert.equal(seqs(await readAll(journal, k)), i < 5 ? [1] : [1, 2]);
  }));

  test('outbox: the outboxes of concurrent appends are each published exactly once', withHarness(async ({ journal, bus }) => {
    const n = ns();
    const topic = topicOf('concurrent');
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    const keys = Array.from({ length: 40 }, (_, i) => `${n}/producer-${i}`);
    await Promise.all(keys.map((key, i) => journal.append(key, 1, evs(1, 2), outbox(topic, `k${i}-`, 3))));
    const got = await published(bus, topic, 120);
    assert.is(got.length, 120, 'no message lost or published twice');
    assert.equal(new Set(ids(got)).size, 120);
    const expected = keys.flatMap((key, i) => [0, 1, 2].map((j) => `${key}#1#${j}=k${i}-${j}`)).sort();
    assert.equal(got.map((m) => `${m.headers[outboxIdHeader]}=${m.value.toString('utf8')}`).sort(), expected);
  }));

  test.run();
}
