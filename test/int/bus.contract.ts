/**
 * The Bus port's contract: every adapter (Kafka, in-memory, durable in-memory) passes this suite.
 * `make` builds a fresh adapter; `reopen` (durable adapters only) closes the current bus and opens a new one
 * over the same storage; `close` closes whichever bus is open. Every test uses its own topics and groups.
 * `features.outboxDedupe` says whether the adapter drops a message whose `flead-outbox-id` it already stored
 * (the memory bus: the embedded journal relays an outbox again after a failure); the Kafka adapter does not,
 * there the journal's transaction makes the outbox exactly-once.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import type { Bus, BusMessage, OutgoingMessage, Subscription } from '../../src/infra/bus/port';
import { InfraError } from '../../src/infra/errors';
import { deadLetter, decodeOrDeadLetter } from '../../src/infra/bus/dead-letter';
import { DeadLetter } from '../../src/protocols/dead-letter';
import { decodeJson } from '../../src/protocols/codec';
import { Topics } from '../../src/protocols/topics';
import { outboxIdHeader } from '../../src/infra/journal/port';
import { partitionForKey } from '../../src/infra/bus/partitioner';

export interface BusUnderTest {
  bus: Bus;
  reopen?: () => Promise<Bus>;
  close: () => Promise<void>;
}

const WAIT_MS = 45_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

const idOf = (m: BusMessage): string => `${m.topic}/${m.partition}/${m.offset}`;
const text = (m: BusMessage): string => m.value.toString('utf8');

/** perKey messages for each key, interleaved across keys: value `${key}#${i}`. */
function keyed(keys: readonly string[], perKey: number, from = 0): OutgoingMessage[] {
  const out: OutgoingMessage[] = [];
  for (let i = from; i < from + perKey; i++) for (const k of keys) out.push({ key: k, value: `${k}#${i}` });
  return out;
}
const keysN = (n: number, prefix = 'dev'): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

interface Collector {
  received: BusMessage[];
  assigned: Array<{ topic: string; partition: number }> | null;
  sub: Subscription;
}

async function collect(bus: Bus, groupId: string, topics: string[], fromBeginning?: boolean): Promise<Collector> {
  const c = { received: [] as BusMessage[], assigned: null as Collector['assigned'] } as Collector;
  c.sub = await bus.subscribe({
    groupId,
    topics,
    ...(fromBeginning === undefined ? {} : { fromBeginning }),
    eachBatch: async (batch) => {
      c.received.push(...batch);
    },
    onAssignment: (a) => {
      c.assigned = [...a];
    },
  });
  return c;
}

/** Values per key in arrival order. */
function byKey(messages: readonly BusMessage[]): Map<string | null, string[]> {
  const out = new Map<string | null, string[]>();
  for (const m of messages) out.set(m.key, [...(out.get(m.key) ?? []), text(m)]);
  return out;
}

function assertPerKeyOrder(messages: readonly BusMessage[], keys: readonly string[], perKey: number, from = 0): void {
  const got = byKey(messages);
  for (const k of keys) {
    assert.equal(got.get(k), Array.from({ length: perKey }, (_, i) => `${k}#${from + i}`), `order of key ${k}`);
  }
}

/** Partition of a key in Kafka's Java client: murmur2 (values from Kafka's own UtilsTest). */
const javaMurmur2: Record<string, number> = {
  '21': -973932308,
  foobar: -790332482,
  'a-little-bit-long-string': -985981536,
  'a-little-bit-longer-string': -1486304829,
  lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
  abc: 479470107,
};

export interface BusFeatures {
  /** drops a message whose `flead-outbox-id` header is already stored on its topic (default true) */
  outboxDedupe?: boolean;
}

export function busContract(name: string, make: () => Promise<BusUnderTest>, features: BusFeatures = {}): void {
  const s = suite(`bus contract: ${name}`);
  const run = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const safe = name.replace(/[^a-zA-Z0-9._-]/g, '-');
  const uniq = (what: string): string => `contract-${safe}-${what}-${run}`;
  let env: BusUnderTest | undefined;
  let bus: Bus;
  const subs: Subscription[] = [];
  const track = <C extends { sub: Subscription }>(c: C): C => {
    subs.push(c.sub);
    return c;
  };

  s.before(async () => {
    env = await make();
    bus = env.bus;
  });
  s.after.each(async () => {
    await Promise.all(subs.splice(0).map((x) => x.stop()));
  });
  s.after(async () => {
    await env?.close();
  });

  s('partitionCount: a topic\'s partitions, null for a missing topic (asking does not create it); a keyed message lands on partitionForKey(key, count)', async () => {
    const topic = uniq('count');
    assert.is(await bus.partitionCount(topic), null);
    assert.is(await bus.partitionCount(topic), null, 'asking did not create it');
    assert.equal(await bus.ensureTopics([{ topic, partitions: 5 }]), [{ topic, partitions: 5 }]);
    assert.is(await bus.partitionCount(topic), 5);
    // an existing topic keeps its count, and ensureTopics says so: the count it has, not the one asked for
    const other = uniq('count-new');
    assert.equal(await bus.ensureTopics([{ topic, partitions: 8 }, { topic: other, partitions: 2 }]), [{ topic, partitions: 5 }, { topic: other, partitions: 2 }]);
    assert.is(await bus.partitionCount(topic), 5);
    // what a trainer relies on to find the devices of its partitions without a reading from them
    const keys = [...keysN(12), 'mote-1', 'mote-2', 'device-7', 'é-ü-设备'];
    await bus.publish(topic, keys.map((k) => ({ key: k, value: k })));
    const c = track(await collect(bus, uniq('count-g'), [topic]));
    await waitFor(() => c.received.length >= keys.length, `${keys.length} messages`);
    for (const m of c.received) assert.is(m.partition, partitionForKey(m.key!, 5), `key ${m.key}`);
    assert.ok(new Set(c.received.map((m) => m.partition)).size > 1, 'the keys spread over partitions');
  });

  s('publish → subscribe receives every message; key, value and headers intact; per-key order kept across partitions', async () => {
    const topic = uniq('order');
    await bus.ensureTopics([{ topic, partitions: 3 }]);
    const keys = keysN(10);
    const all = keyed(keys, 20).map((m, i) => ({ ...m, headers: { seq: String(i) } }));
    for (let i = 0; i < all.length; i += 50) await bus.publish(topic, all.slice(i, i + 50));
    await bus.publish(topic, [
      { key: null, value: Buffer.from([0, 1, 2, 255]) },
      { key: null, value: 'no key' },
    ]);
    const c = track(await collect(bus, uniq('order-g'), [topic]));
    await waitFor(() => c.received.length >= all.length + 2, `${all.length + 2} messages`);
    await sleep(200);
    assert.is(c.received.length, all.length + 2, 'each message exactly once');
    assert.is(new Set(c.received.map(idOf)).size, all.length + 2, 'distinct offsets');
    assertPerKeyOrder(c.received, keys, 20);
    for (const k of keys) {
      const parts = new Set(c.received.filter((m) => m.key === k).map((m) => m.partition));
      assert.is(parts.size, 1, `key ${k} stays on one partition`);
    }
    assert.ok(new Set(c.received.map((m) => m.partition)).size > 1, 'keys spread over partitions');
    const lastOffset = new Map<number, bigint>();
    for (const m of c.received) {
      assert.is(m.topic, topic);
      assert.ok(Buffer.isBuffer(m.value), 'value is a Buffer');
      assert.ok(Number.isFinite(m.timestamp) && m.timestamp > 0, 'timestamp');
      const prev = lastOffset.get(m.partition);
      assert.ok(prev === undefined || BigInt(m.offset) > prev, `offsets increase on partition ${m.partition}`);
      lastOffset.set(m.partition, BigInt(m.offset));
      if (m.key !== null) assert.equal(m.headers, { seq: String(all.findIndex((x) => x.value === text(m))) }, 'headers');
    }
    const unkeyed = c.received.filter((m) => m.key === null).map((m) => m.value.toString('hex')).sort();
    assert.equal(unkeyed, [Buffer.from('no key').toString('hex'), '000102ff'].sort(), 'null-key messages and raw bytes');
  });

  s('a key always lands on the partition the Java client picks (murmur2), publish after publish', async () => {
    const topic = uniq('hash');
    await bus.ensureTopics([{ topic, partitions: 3 }]);
    const keys = Object.keys(javaMurmur2);
    await bus.publish(topic, keys.map((k) => ({ key: k, value: 'first' })));
    await bus.publish(topic, keys.map((k) => ({ key: k, value: 'second' })));
    const c = track(await collect(bus, uniq('hash-g'), [topic]));
    await waitFor(() => c.received.length >= keys.length * 2, `${keys.length * 2} messages`);
    for (const m of c.received) {
      const expected = (javaMurmur2[m.key!]! & 0x7fffffff) % 3;
      assert.is(m.partition, expected, `partition of key ${m.key} (${text(m)})`);
    }
  });

  s('a throwing handler gets its batch again, nothing is lost, per-key order holds', async () => {
    const topic = uniq('throw');
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    const keys = keysN(4);
    await bus.publish(topic, keyed(keys, 10));
    const handled: BusMessage[] = [];
    const failed: BusMessage[] = [];
    let throws = 0;
    const sub = await bus.subscribe({
      groupId: uniq('throw-g'),
      topics: [topic],
      eachBatch: async (batch) => {
        if (throws < 2 && batch.some((m) => text(m) === `${keys[1]}#5`)) {
          throws += 1;
          failed.push(...batch);
          throw new Error(`test: refusing a batch of ${batch.length} (${throws} of 2)`);
        }
        handled.push(...batch);
      },
    });
    subs.push(sub);
    await waitFor(() => handled.length >= 40, '40 handled messages');
    await sleep(200);
    assert.is(throws, 2, 'the handler threw twice');
    const handledIds = new Set(handled.map(idOf));
    assert.is(handled.length, 40, 'every message handled once after the retries');
    assert.is(handledIds.size, 40);
    for (const m of failed) assert.ok(handledIds.has(idOf(m)), `failed message ${text(m)} was redelivered`);
    assertPerKeyOrder(handled, keys, 10);
  });

  s('a handler error marked not retriable, or a TypeError, also gets its batch again (the member goes on)', async () => {
    const topic = uniq('throw-hard');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    const keys = keysN(2);
    await bus.publish(topic, keyed(keys, 5));
    const handled: BusMessage[] = [];
    const errors = [new InfraError('conflict', 'test: a non-retriable infrastructure error', false), new TypeError('test: a bug in a handler')];
    let thrown = 0;
    const sub = await bus.subscribe({
      groupId: uniq('throw-hard-g'),
      topics: [topic],
      eachBatch: async (batch) => {
        if (thrown < errors.length && batch.some((m) => text(m) === `${keys[0]}#3`)) throw errors[thrown++]!;
        handled.push(...batch);
      },
    });
    subs.push(sub);
    await waitFor(() => handled.length >= 10, '10 handled messages', 60_000);
    await sleep(200);
    assert.is(thrown, 2, 'the handler threw both errors');
    assert.is(new Set(handled.map(idOf)).size, 10);
    assert.is(handled.length, 10, 'each message handled once');
    assertPerKeyOrder(handled, keys, 5);
  });

  s('commit after the handler: a stopped member hands over exactly after its last committed batch', async () => {
    const topic = uniq('resume');
    const groupId = uniq('resume-g');
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    const keys = keysN(6);
    await bus.publish(topic, keyed(keys, 5));
    const first: BusMessage[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let held = false;
    const subA = await bus.subscribe({
      groupId,
      topics: [topic],
      eachBatch: async (batch) => {
        first.push(...batch);
        if (first.length >= 10 && !held) {
          held = true;
          await gate; // in flight while stop() is called: must still be committed
        }
      },
    });
    await waitFor(() => held, 'the first member to hold a batch');
    const stopped = subA.stop();
    await sleep(300);
    release();
    await stopped;
    await bus.publish(topic, keyed(keys, 2, 5));
    const c = track(await collect(bus, groupId, [topic]));
    const total = keys.length * 7;
    await waitFor(() => new Set([...first, ...c.received].map(idOf)).size >= total, `${total} distinct messages`);
    await sleep(500);
    const firstIds = new Set(first.map(idOf));
    const dup = c.received.filter((m) => firstIds.has(idOf(m)));
    assert.is(dup.length, 0, `committed messages redelivered: ${dup.map(text).join(', ')}`);
    assert.is(first.length + c.received.length, total, 'nothing lost, nothing twice');
    assertPerKeyOrder([...first, ...c.received], keys, 7);
  });

  s('two members of one group split the partitions (onAssignment) and together see every message once', async () => {
    const topic = uniq('split');
    const groupId = uniq('split-g');
    await bus.ensureTopics([{ topic, partitions: 4 }]);
    const a = track(await collect(bus, groupId, [topic]));
    const b = track(await collect(bus, groupId, [topic]));
    const owns = (c: Collector) => new Set((c.assigned ?? []).filter((x) => x.topic === topic).map((x) => x.partition));
    await waitFor(() => {
      const pa = owns(a);
      const pb = owns(b);
      return pa.size > 0 && pb.size > 0 && pa.size + pb.size === 4 && new Set([...pa, ...pb]).size === 4;
    }, 'both members to own disjoint partitions covering all 4');
    const keys = keysN(12);
    await bus.publish(topic, keyed(keys, 5));
    await waitFor(() => a.received.length + b.received.length >= 60, '60 messages over both members');
    await sleep(500);
    const ids = [...a.received, ...b.received].map(idOf);
    assert.is(ids.length, 60, 'every message exactly once');
    assert.is(new Set(ids).size, 60);
    assert.ok(a.received.length > 0 && b.received.length > 0, 'both members got work');
    for (const [c, label] of [[a, 'a'], [b, 'b']] as const) {
      const mine = owns(c);
      for (const m of c.received) assert.ok(mine.has(m.partition), `member ${label} got partition ${m.partition} it does not own`);
    }
    assertPerKeyOrder([...a.received, ...b.received], keys, 5);
  });

  s('fromBeginning false sees only messages published after subscribe; the committed offset wins later', async () => {
    const topic = uniq('latest');
    const groupId = uniq('latest-g');
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    const keys = keysN(8);
    await bus.publish(topic, keyed(keys, 2));
    const c = track(await collect(bus, groupId, [topic], false));
    await bus.publish(topic, keyed(keys, 2, 2));
    await waitFor(() => c.received.length >= 16, '16 new messages');
    await sleep(500);
    assert.is(c.received.length, 16, 'old messages are not delivered');
    assertPerKeyOrder(c.received, keys, 2, 2);
    await c.sub.stop();
    await bus.publish(topic, keyed(keys, 1, 4));
    const again = track(await collect(bus, groupId, [topic], false));
    await waitFor(() => again.received.length >= 8, '8 messages published while the group was away');
    await sleep(300);
    assert.is(again.received.length, 8);
    assertPerKeyOrder(again.received, keys, 1, 4);
  });

  s('dead letters: decodeOrDeadLetter passes good values and dead-letters bad ones with the reason and raw bytes', async () => {
    const topic = uniq('dl-src');
    const service = `contract-${safe}`;
    await bus.ensureTopics([{ topic, partitions: 1 }, { topic: Topics.deadLetters, partitions: 1 }]);
    const Reading = t.type({ n: t.number }, 'Reading');
    const badBytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00]);
    await bus.publish(topic, [
      { key: 'good', value: '{"n":1}' },
      { key: 'bytes', value: badBytes },
      { key: 'shape', value: '{"n":"x"}' },
    ]);
    const results: Array<{ m: BusMessage; r: unknown }> = [];
    subs.push(
      await bus.subscribe({
        groupId: uniq('dl-src-g'),
        topics: [topic],
        eachBatch: async (batch) => {
          for (const m of batch) results.push({ m, r: await decodeOrDeadLetter(bus, service, Reading, m) });
        },
      }),
    );
    await waitFor(() => results.length >= 3, '3 decoded messages');
    await deadLetter(bus, service, {
      reason: 'line 3: expected 5 columns, got 2',
      topic,
      partition: null,
      offset: null,
      file: 'devices.csv',
      line: 3,
      key: null,
      raw: 'a,b',
    });
    assert.equal(results.map((x) => x.r), [{ n: 1 }, undefined, undefined]);

    const letters: DeadLetter[] = [];
    const undecodable: string[] = [];
    subs.push(
      await bus.subscribe({
        groupId: uniq('dl-read-g'),
        topics: [Topics.deadLetters],
        eachBatch: async (batch) => {
          for (const m of batch) {
            if (m.headers['flead-source-topic'] !== topic) continue;
            const d = decodeJson(DeadLetter, m.value);
            if (isLeft(d)) undecodable.push(d.left);
            else letters.push(d.right);
          }
        },
      }),
    );
    await waitFor(() => letters.length + undecodable.length >= 3, 'our 3 dead letters');
    assert.equal(undecodable, [], 'dead letters decode with the DeadLetter codec');
    const bytes = letters.find((l) => l.key === 'bytes');
    const shape = letters.find((l) => l.key === 'shape');
    const file = letters.find((l) => l.source.file === 'devices.csv');
    assert.ok(bytes && shape && file, 'one letter per failure');
    const msgOf = (key: string) => results.find((x) => x.m.key === key)!.m;
    assert.match(bytes.reason, /not valid JSON/);
    assert.equal(Buffer.from(bytes.raw, 'base64'), badBytes, 'raw bytes kept byte for byte');
    assert.equal(bytes.source, { topic, partition: msgOf('bytes').partition, offset: msgOf('bytes').offset, file: null, line: null });
    assert.is(bytes.service, service);
    assert.ok(Math.abs(bytes.at - Date.now()) < 120_000, 'at is now');
    assert.match(shape.reason, /Reading: at n: expected a number, got "x"/);
    assert.is(Buffer.from(shape.raw, 'base64').toString('utf8'), '{"n":"x"}');
    assert.equal(file.source, { topic, partition: null, offset: null, file: 'devices.csv', line: 3 });
    assert.is(file.reason, 'line 3: expected 5 columns, got 2');
    assert.is(Buffer.from(file.raw, 'base64').toString('utf8'), 'a,b');
  });

  s('a message over the size limit is refused with kind too-large (not retriable); the bus keeps working', async () => {
    const topic = uniq('large');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    const huge = Buffer.alloc(12 * 1024 * 1024, 7);
    let err: unknown;
    try {
      await bus.publish(topic, [{ key: 'big', value: huge }]);
    } catch (e) {
      err = e;
    }
    assert.instance(err, InfraError, 'rejects with an InfraError');
    const ie = err as InfraError;
    assert.is(ie.kind, 'too-large');
    assert.is(ie.retriable, false);
    assert.ok(ie.message.split(' ').length > 6, `a sentence: ${ie.message}`);
    await bus.publish(topic, [{ key: 'half', value: Buffer.alloc(512 * 1024, 1) }, { key: 'small', value: 'ok' }]);
    const c = track(await collect(bus, uniq('large-g'), [topic]));
    await waitFor(() => c.received.length >= 2, 'the two smaller messages');
    await sleep(200);
    assert.equal(c.received.map((m) => [m.key, m.value.length]), [['half', 512 * 1024], ['small', 2]], 'the refused message was not stored');
  });

  s('reopen (durable adapters): messages, partitions and committed offsets survive a restart', async () => {
    if (!env?.reopen) return; // an adapter without storage has nothing to survive
    const topic = uniq('durable');
    const groupId = uniq('durable-g');
    await bus.ensureTopics([{ topic, partitions: 3 }]);
    const keys = keysN(6);
    await bus.publish(topic, keyed(keys, 5).map((m) => ({ ...m, headers: { h: String(m.value) } })));
    const before = await collect(bus, groupId, [topic]);
    await waitFor(() => before.received.length >= 30, '30 messages before the restart');
    await sleep(200);
    await before.sub.stop();
    await bus.publish(topic, keyed(keys, 2, 5));
    bus = await env.reopen();
    const after = track(await collect(bus, groupId, [topic]));
    await waitFor(() => after.received.length >= 12, '12 messages after the restart');
    await sleep(300);
    assert.is(after.received.length, 12, 'the group resumes after its committed offsets');
    assertPerKeyOrder(after.received, keys, 2, 5);
    const fresh = track(await collect(bus, uniq('durable-fresh-g'), [topic]));
    await waitFor(() => fresh.received.length >= 42, 'all 42 messages for a new group');
    const seen = new Map(fresh.received.map((m) => [idOf(m), m]));
    for (const m of [...before.received, ...after.received]) {
      const again = seen.get(idOf(m));
      assert.ok(again, `message ${idOf(m)} survived`);
      assert.is(again.key, m.key);
      assert.equal(again.value, m.value);
      assert.equal(again.headers, m.headers);
    }
    assertPerKeyOrder(fresh.received, keys, 7);
  });

  const dedupes = features.outboxDedupe ?? true;
  // Not uvu's s.skip: scripts/test.js counts a skipped test as failed (uvu's Total leaves skips out). A
  // skipped adapter gets a test that names the reason and checks nothing.
  s(
    `idempotent publish: a message whose flead-outbox-id is already stored on the topic is dropped${
      dedupes ? '' : ' (SKIPPED for this adapter: it does not dedupe; the Kafka journal sends the outbox in its append transaction and consumers read_committed)'
    }`,
    async () => {
      if (!dedupes) return;
      const topic = uniq('outbox');
      const other = uniq('outbox-other');
      await bus.ensureTopics([{ topic, partitions: 2 }, { topic: other, partitions: 1 }]);
      const id = (n: number) => ({ [outboxIdHeader]: `producer/1#${n}#0`, kind: 'reading' });
      await bus.publish(topic, [
        { key: 'dev-0', value: 'a', headers: id(1) },
        { key: 'dev-1', value: 'b', headers: id(2) },
        { key: 'dev-1', value: 'b again in the same publish', headers: id(2) },
      ]);
      await bus.publish(topic, [
        { key: 'dev-0', value: 'a again', headers: id(1) }, // a re-relayed copy
        { key: 'dev-0', value: 'plain' }, // no outbox id: never deduplicated
        { key: 'dev-0', value: 'plain' },
        { key: 'dev-2', value: 'c', headers: id(3) },
      ]);
      await bus.publish(other, [{ key: 'dev-0', value: 'a on another topic', headers: id(1) }]); // ids are per topic
      if (env?.reopen) {
        bus = await env.reopen(); // the stored ids survive a restart
        await bus.publish(topic, [{ key: 'dev-1', value: 'b after restart', headers: id(2) }, { key: 'dev-3', value: 'd', headers: id(4) }]);
      }
      const c = track(await collect(bus, uniq('outbox-g'), [topic, other]));
      const expected = env?.reopen ? 7 : 6; // a, b, plain, plain, c (, d) + the other topic's one
      await waitFor(() => c.received.length >= expected, `${expected} messages`);
      await sleep(300);
      const mine = c.received.filter((m) => m.topic === topic);
      assert.equal(
        mine.map(text).sort(),
        ['a', 'b', 'c', 'plain', 'plain', ...(env?.reopen ? ['d'] : [])].sort(),
        'one message per outbox id',
      );
      assert.equal(c.received.filter((m) => m.topic === other).map(text), ['a on another topic']);
      assert.equal(mine.find((m) => text(m) === 'a')!.headers, id(1), 'headers kept');
    },
  );

  s.run();
}
