/**
 * Runs the journal contract against every engine: memory (shared store), file (a temp directory) and Kafka
 * (the real broker on KAFKA_BROKERS, topics unique to this run). The embedded engines relay their outbox to a
 * memory bus (durable for the file engine, as in the embedded profile); the Kafka engine's outbox is read back
 * through the Kafka bus. Plus the file engine's crash cases and the Kafka engine's group commit.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { brokersFromEnv } from '../../src/infra/kafka/client';
import { createKafkaBus } from '../../src/infra/bus/kafka-bus';
import { createMemoryBus } from '../../src/infra/bus/memory-bus';
import type { Bus, BusMessage } from '../../src/infra/bus/port';
import { relayToBus } from '../../src/infra/profile';
import { createFileJournal } from '../../src/infra/journal/file-journal';
import { encodeKey } from '../../src/infra/journal/file-journal-files';
import type { JournalEnvelope } from '../../src/protocols/journal';
import { createKafkaJournal, type KafkaJournalOptions, type TransactionReport } from '../../src/infra/journal/kafka-journal';
import { createMemoryJournal, createMemoryStore, type FaultHook, type FaultPoint } from '../../src/infra/journal/memory-journal';
import { outboxIdHeader, type Journal, type OutboxMessage, type OutboxRelay } from '../../src/infra/journal/port';
import { InfraError } from '../../src/infra/errors';
import { KafkaJSProtocolError } from 'kafkajs';
import { journalContract, published, readAll, type JournalHarness } from './journal.contract';

/** A one-shot fault: `arm(point)` makes the next pass through that point throw. */
function oneShotFault(): { hook: FaultHook; arm: (p: FaultPoint) => void } {
  let armed: FaultPoint | undefined;
  return {
    hook: (p) => {
      if (armed === p) {
        armed = undefined;
        throw new Error(`injected fault at ${p}`);
      }
    },
    arm: (p) => {
      armed = p;
    },
  };
}

/** A relay to bus that can be made to fail (before publishing) the next `times` calls. */
function failingRelay(bus: Bus): { relay: OutboxRelay; fail: (times?: number) => void; calls: OutboxMessage[][] } {
  const publish = relayToBus(bus);
  let failures = 0;
  const calls: OutboxMessage[][] = [];
  return {
    calls,
    relay: async (messages) => {
      calls.push([...messages]);
      if (failures > 0) {
        failures -= 1;
        throw new Error('injected relay failure');
      }
      await publish(messages);
    },
    fail: (times = 1) => {
      failures = times;
    },
  };
}

/**
 * open(fault?, relay) opens an engine on the harness's store; `bus` is where the outbox is read back;
 * `relayed` (embedded engines) is the relay the engines publish through.
 */
function harness(
  open: (fault: FaultHook | undefined, relay: OutboxRelay | undefined) => Promise<Journal>,
  bus: Bus,
  relayed: boolean,
): () => Promise<JournalHarness> {
  return async () => {
    const f = oneShotFault();
    const r = relayed ? failingRelay(bus) : undefined;
    const opened: Journal[] = [];
    const track = async (j: Promise<Journal>) => {
      const x = await j;
      opened.push(x);
      return x;
    };
    const journal = await track(open(f.hook, r?.relay));
    return {
      journal,
      reopen: () => track(open(undefined, r?.relay)),
      second: () => track(open(undefined, r?.relay)),
      close: async () => {
        for (const j of opened) await j.close();
        await bus.close();
      },
      fault: f.arm,
      bus,
      ...(r ? { failRelay: r.fail } : {}),
    };
  };
}

journalContract('memory', async () => {
  const store = createMemoryStore();
  return harness(async (fault, relay) => createMemoryJournal({ store, fault, relay }), createMemoryBus(), true)();
});

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'flead-journal-test-'));
let dirs = 0;
journalContract('file', async () => {
  const dir = path.join(tmpRoot, `j${++dirs}`);
  const bus = createMemoryBus({ dir: path.join(dir, 'bus') });
  return harness((fault, relay) => createFileJournal(path.join(dir, 'journal'), { fault, relay }), bus, true)();
});

const run = Date.now();
let writers = 0;
journalContract('kafka', async () => {
  const writerId = `test-${run}-${++writers}`;
  const bus = createKafkaBus({ brokers: brokersFromEnv(), clientId: `journal-outbox-reader-${process.pid}` });
  return harness(
    (fault) =>
      createKafkaJournal({
        brokers: brokersFromEnv(),
        writerId,
        journalTopic: `flead-journal-test-${run}`,
        snapshotTopic: `flead-snapshots-test-${run}`,
        partitions: 3,
        fault,
      }),
    bus,
    false,
  )();
});

const crash = suite('file journal: crash cases');

crash('a torn last line is ignored by readers and cut off before the next append', async () => {
  const dir = path.join(tmpRoot, 'torn');
  const key = 'device/7';
  const j = await createFileJournal(dir);
  await j.append(key, 1, [{ type: 'Counted', schemaVersion: 1, timestamp: 1, data: { i: 1 } }]);
  await j.append(key, 2, [{ type: 'Counted', schemaVersion: 1, timestamp: 2, data: { i: 2 } }]);
  await j.close();
  const file = path.join(dir, 'events', `${encodeKey(key)}.jsonl`);
  fs.appendFileSync(file, '[{"type":"Counted","schemaVersion":1,"key":"device/7","seq":3,"timest');
  const again = await createFileJournal(dir);
  const read = async () => {
    const out: number[] = [];
    for await (const e of again.read(key)) out.push(e.seq);
    return out;
  };
  assert.equal(await read(), [1, 2]);
  assert.is(await again.highestSeq(key), 2);
  await again.append(key, 3, [{ type: 'Counted', schemaVersion: 1, timestamp: 3, data: { i: 3 } }]);
  assert.equal(await read(), [1, 2, 3]);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.is(lines.length, 4); // three complete lines and the empty string after the last newline
  assert.is(lines[3], '');
  await again.close();
});

crash('a torn write during an append is repaired before the next append', async () => {
  const dir = path.join(tmpRoot, 'torn-write');
  const f = oneShotFault();
  const j = await createFileJournal(dir, { fault: f.hook });
  const key = 'k';
  await j.append(key, 1, [{ type: 'A', schemaVersion: 1, timestamp: 1, data: null }]);
  f.arm('before-commit');
  await j.append(key, 2, [{ type: 'A', schemaVersion: 1, timestamp: 2, data: 'x'.repeat(100) }]).then(
    () => assert.unreachable('the append should fail'),
    (e: Error) => assert.match(e.message, /injected fault/),
  );
  const file = path.join(dir, 'events', `${encodeKey(key)}.jsonl`);
  assert.ok(!fs.readFileSync(file, 'utf8').endsWith('\n'), 'the fault leaves half a line');
  await j.append(key, 2, [{ type: 'A', schemaVersion: 1, timestamp: 2, data: 'y' }]);
  const got: unknown[] = [];
  for await (const e of j.read(key)) got.push([e.seq, e.data]);
  assert.equal(got, [[1, null], [2, 'y']]);
  await j.close();
});

crash('keys survive the file-name encoding', async () => {
  for (const key of ['a/b', 'A/b', '..', 'x%41', 'ünï code', 'aggregator/round-7_x']) {
    assert.ok(/^([a-z0-9_-]|%[0-9A-F]{2})+$/.test(encodeKey(key)), `${key} → ${encodeKey(key)}`);
  }
  assert.is.not(encodeKey('A'), encodeKey('a'));
});

crash('a read-only engine reads without taking over the directory', async () => {
  const dir = path.join(tmpRoot, 'read-only');
  const j = await createFileJournal(dir);
  await j.append('k', 1, [{ type: 'A', schemaVersion: 1, timestamp: 1, data: 1 }]);
  const ro = await createFileJournal(dir, { readOnly: true });
  const got: number[] = [];
  for await (const e of ro.read('k')) got.push(e.seq);
  assert.equal(got, [1]);
  await ro.append('k', 2, [{ type: 'A', schemaVersion: 1, timestamp: 2, data: 2 }]).then(
    () => assert.unreachable('a read-only engine must not append'),
    (e: Error) => assert.match(e.message, /read-only/),
  );
  await j.append('k', 2, [{ type: 'A', schemaVersion: 1, timestamp: 2, data: 2 }]); // the writer was not fenced
  await Promise.all([j.close(), ro.close()]);
});

crash('a read-only engine on a missing directory reads an empty journal and creates nothing', async () => {
  const dir = path.join(tmpRoot, 'not-there');
  const ro = await createFileJournal(dir, { readOnly: true });
  assert.equal(await ro.keys(), []);
  const got: number[] = [];
  for await (const e of ro.read('k')) got.push(e.seq);
  assert.equal(got, []);
  assert.is(await ro.latestSnapshot('k'), undefined);
  await ro.close();
  assert.not.ok(fs.existsSync(dir), 'nothing was created');
});

/** Every message on topic, read from the beginning by a fresh group of bus (a memory bus: all there now). */
async function onTopic(bus: Bus, topic: string): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  const sub = await bus.subscribe({ groupId: `read-${Math.random()}`, topics: [topic], eachBatch: async (b) => void got.push(...b) });
  await new Promise((r) => setTimeout(r, 100));
  await sub.stop();
  return got;
}
const readingsOf = (n: number, tag: string): OutboxMessage[] =>
  Array.from({ length: n }, (_, i) => ({ topic: 'readings', key: `dev-${i}`, value: `${tag}${i}` }));
const event = (i: number) => ({ type: 'OffsetsRead', schemaVersion: 1, timestamp: i, data: { offset: i } });

crash('outbox: a crash after the line is written but before the relay: reopening relays it, exactly once', async () => {
  const dir = path.join(tmpRoot, 'outbox-crash');
  let bus = createMemoryBus({ dir: path.join(dir, 'bus') });
  const r = failingRelay(bus);
  const j = await createFileJournal(path.join(dir, 'journal'), { relay: r.relay });
  await j.append('producer/1', 1, [event(1)], readingsOf(2, 'a'));
  r.fail(); // the process "dies" between the fsync of the line and the relay
  await j.append('producer/1', 2, [event(2), event(3)], readingsOf(3, 'b')).then(
    () => assert.unreachable('the append should report the failed relay'),
    (e: Error) => assert.match(e.message, /seq 2\.\.3 are appended.*injected relay failure/),
  );
  await j.close();
  assert.equal((await onTopic(bus, 'readings')).map((m) => m.value.toString()), ['a0', 'a1']);

  const j2 = await createFileJournal(path.join(dir, 'journal'), { relay: relayToBus(bus) });
  const after = await onTopic(bus, 'readings');
  assert.equal(after.map((m) => m.value.toString()), ['a0', 'a1', 'b0', 'b1', 'b2'], 'relayed on open, the earlier line not again');
  assert.equal(after.slice(2).map((m) => m.headers[outboxIdHeader]), ['producer/1#2#0', 'producer/1#2#1', 'producer/1#2#2']);
  await j2.close();

  // every later open relays the last line again; the bus (reopened too: its id set is rebuilt) drops the copies
  await bus.close();
  bus = createMemoryBus({ dir: path.join(dir, 'bus') });
  const j3 = await createFileJournal(path.join(dir, 'journal'), { relay: relayToBus(bus) });
  assert.is((await onTopic(bus, 'readings')).length, 5, 'no duplicate after another reopen');
  await j3.append('producer/1', 4, [event(4)], readingsOf(1, 'c'));
  assert.equal((await onTopic(bus, 'readings')).map((m) => m.value.toString()), ['a0', 'a1', 'b0', 'b1', 'b2', 'c0']);
  await j3.close();
  await bus.close();
});

crash('outbox: a crash after the relay published but before the append resolved: the re-relayed copy is dropped', async () => {
  const dir = path.join(tmpRoot, 'outbox-late-crash');
  const bus = createMemoryBus({ dir: path.join(dir, 'bus') });
  const publish = relayToBus(bus);
  let dieAfterPublish = true;
  const j = await createFileJournal(path.join(dir, 'journal'), {
    relay: async (ms) => {
      await publish(ms);
      if (dieAfterPublish) throw new Error('died after publishing');
    },
  });
  await j.append('producer/2', 1, [event(1)], readingsOf(2, 'x')).then(
    () => assert.unreachable('the append should fail'),
    (e: Error) => assert.match(e.message, /died after publishing/),
  );
  dieAfterPublish = false;
  await j.close();
  const j2 = await createFileJournal(path.join(dir, 'journal'), { relay: publish });
  await j2.append('producer/2', 2, [event(2)], readingsOf(1, 'y'));
  assert.equal((await onTopic(bus, 'readings')).map((m) => m.value.toString()), ['x0', 'x1', 'y0']);
  await j2.close();
  await bus.close();
});

crash('outbox: on open only the last line of each key is relayed again; a read-only engine relays nothing', async () => {
  const dir = path.join(tmpRoot, 'outbox-last-line');
  const bus = createMemoryBus();
  const r = failingRelay(bus);
  const j = await createFileJournal(dir, { relay: r.relay });
  await j.append('k/1', 1, [event(1)], readingsOf(1, 'a'));
  await j.append('k/1', 2, [event(2)], readingsOf(1, 'b'));
  await j.append('k/2', 1, [event(1)], readingsOf(1, 'c'));
  await j.append('k/2', 2, [event(2)]); // the last line of k/2 has no outbox
  await j.append('k/3', 1, [event(1)]);
  await j.close();
  r.calls.length = 0;
  const ro = await createFileJournal(dir, { readOnly: true, relay: r.relay });
  assert.is(r.calls.length, 0, 'read-only: no relay');
  await ro.close();
  // a torn line after the last complete one is not a record
  fs.appendFileSync(path.join(dir, 'events', `${encodeKey('k/1')}.jsonl`), '{"events":[{"type":"A"');
  const again = await createFileJournal(dir, { relay: r.relay });
  assert.equal(r.calls.map((ms) => ms.map((m) => m.headers?.[outboxIdHeader])), [['k/1#2#0']]);
  await again.append('k/1', 3, [event(3)]);
  const lines = fs.readFileSync(path.join(dir, 'events', `${encodeKey('k/1')}.jsonl`), 'utf8').trimEnd().split('\n');
  assert.equal(lines.map((l) => (l.startsWith('[') ? 'events' : Object.keys(JSON.parse(l) as object).join('+'))), ['events+outbox', 'events+outbox', 'events']);
  assert.is((await onTopic(bus, 'readings')).length, 3, 'a0, b0, c0 once each');
  await again.close();
  await bus.close();
});

crash('outbox: an engine without a relay refuses an outbox and writes nothing', async () => {
  const dir = path.join(tmpRoot, 'outbox-no-relay');
  const j = await createFileJournal(dir);
  await j.append('k', 1, [event(1)], readingsOf(1, 'a')).then(
    () => assert.unreachable('no relay, no outbox'),
    (e: Error) => assert.match(e.message, /without a relay/),
  );
  assert.is(await j.highestSeq('k'), 0);
  await j.close();
});

crash.after(() => {
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

crash.run();

// ---------------------------------------------------------------------------------------------------------
// Kafka engine: group commit (appends that arrive while a transaction is in flight share the next one)

const group = suite('kafka journal: group commit');
const gTopics = { journalTopic: `flead-journal-test-${run}`, snapshotTopic: `flead-snapshots-test-${run}`, partitions: 3 };
const openGroup = async (extra: Partial<KafkaJournalOptions> = {}) => {
  const reports: TransactionReport[] = [];
  const j = await createKafkaJournal({ brokers: brokersFromEnv(), writerId: `group-${run}-${++writers}`, ...gTopics, onTransaction: (r) => reports.push(r), ...extra });
  return { j, reports };
};
const gev = (i: number, data: Record<string, unknown> = {}) => ({ type: 'Counted', schemaVersion: 1, timestamp: 1_700_000_000_000 + i, data: { i, ...data } });
const gkey = (what: string) => `group-${run}-${Math.random().toString(36).slice(2, 8)}/${what}`;
const seqsOf = async (j: Journal, key: string) => (await readAll(j, key)).map((e) => e.seq);
/** Awaits every promise; returns the rejection reasons by index (undefined where it resolved). */
const settle = async (ps: Promise<unknown>[]) => (await Promise.allSettled(ps)).map((r) => (r.status === 'rejected' ? (r.reason as Error) : undefined));

group('200 keys appending concurrently: every append lands, in far fewer transactions than appends', async () => {
  const { j, reports } = await openGroup();
  try {
    const prefix = gkey('many');
    const keys = Array.from({ length: 200 }, (_, i) => `${prefix}/device-${i}`);
    const perKey = 5;
    const t0 = j.stats();
    await Promise.all(
      keys.map(async (key, d) => {
        for (let seq = 1; seq <= perKey; seq++) assert.equal((await j.append(key, seq, [gev(seq, { d })])).map((e) => e.seq), [seq]);
      }),
    );
    const s = j.stats();
    const appends = keys.length * perKey;
    assert.is(s.appends - t0.appends, appends);
    assert.is(s.failed, 0);
    const txns = s.transactions - t0.transactions;
    assert.ok(txns <= appends / 20, `${txns} transactions for ${appends} appends`);
    assert.ok(s.largestGroup >= 100, `largest group ${s.largestGroup}`);
    assert.is(reports.reduce((n, r) => n + r.appends, 0), appends);
    const back = await Promise.all(keys.map((key) => readAll(j, key)));
    for (const [d, got] of back.entries()) {
      assert.equal(got.map((e) => e.seq), [1, 2, 3, 4, 5], keys[d]);
      assert.ok(got.every((e) => (e.data as { d: number }).d === d));
    }
    assert.equal(await j.keys(`${prefix}/`), [...keys].sort(), 'every key is in the index');
  } finally {
    await j.close();
  }
});

group('two appends of the same key in one group both succeed, in order; a snapshot joins the group', async () => {
  const { j, reports } = await openGroup();
  try {
    const key = gkey('twice');
    const others = Array.from({ length: 5 }, (_, i) => gkey(`other-${i}`));
    const before = j.stats().transactions;
    const [a, b] = await Promise.all([
      j.append(key, 1, [gev(1), gev(2)]),
      j.append(key, 3, [gev(3)]),
      j.saveSnapshot({ key, seq: 3, timestamp: 1, schemaVersion: 1, data: { sum: 6 } }),
      ...others.map((k) => j.append(k, 1, [gev(1)])),
    ]);
    assert.is(j.stats().transactions - before, 1, 'one transaction');
    assert.equal({ appends: reports.at(-1)!.appends, snapshots: reports.at(-1)!.snapshots, events: reports.at(-1)!.events }, { appends: 7, snapshots: 1, events: 8 });
    assert.equal([a, b].map((w) => (w as JournalEnvelope[]).map((e) => e.seq)), [[1, 2], [3]]);
    assert.equal(await seqsOf(j, key), [1, 2, 3]);
    await j.append(key, 4, [gev(4)]);
    await j.close();
    // a fresh engine recovers from the snapshot (whose position is just after seq 3) plus the tail
    const again = await createKafkaJournal({ brokers: brokersFromEnv(), writerId: `group-${run}-${++writers}`, ...gTopics });
    try {
      const snap = await again.latestSnapshot(key);
      assert.equal(snap?.data, { sum: 6 });
      assert.equal(await seqsOf(again, key), [1, 2, 3, 4]);
      assert.equal((await readAll(again, key, { afterSeq: snap!.seq })).map((e) => e.seq), [4]);
      assert.is(await again.highestSeq(key), 4);
    } finally {
      await again.close();
    }
  } finally {
    await j.close();
  }
});

group('a conflicting append in a group is rejected alone; the others commit in the same transaction', async () => {
  const { j } = await openGroup();
  try {
    const key = gkey('conflict');
    await j.append(key, 1, [gev(1, { who: 'first' })]);
    const others = Array.from({ length: 20 }, (_, i) => gkey(`ok-${i}`));
    const before = j.stats().transactions;
    const errors = await settle([
      ...others.slice(0, 10).map((k) => j.append(k, 1, [gev(1)])),
      j.append(key, 1, [gev(1, { who: 'second' })]),
      j.append(key, 3, [gev(3)]), // a gap
      j.append(key, 2, [gev(2)]),
      ...others.slice(10).map((k) => j.append(k, 1, [gev(1)])),
    ]);
    assert.is(j.stats().transactions - before, 1);
    assert.equal(errors.map((e) => (e as InfraError | undefined)?.kind), [...Array(10).fill(undefined), 'conflict', 'conflict', undefined, ...Array(10).fill(undefined)]);
    assert.equal((await readAll(j, key)).map((e) => e.data), [{ i: 1, who: 'first' }, { i: 2 }]);
    assert.equal(await Promise.all(others.map((k) => seqsOf(j, k))), others.map(() => [1]));
  } finally {
    await j.close();
  }
});

group('a failed group transaction rejects all its appends alike; re-learned, the retries land once, outbox too', async () => {
  const f = oneShotFault();
  const { j, reports } = await openGroup({ fault: f.hook });
  const bus = createKafkaBus({ brokers: brokersFromEnv(), clientId: `journal-group-reader-${process.pid}` });
  try {
    const topic = `flead-outbox-test-group-${run}-${Math.random().toString(36).slice(2, 8)}`;
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    const keys = Array.from({ length: 30 }, (_, i) => gkey(`fail-${i}`));
    const box = (key: string, seq: number): OutboxMessage[] => [{ topic, key, value: `${key}@${seq}` }];
    await Promise.all(keys.map((k) => j.append(k, 1, [gev(1)], box(k, 1))));

    // before the commit: nothing is written, every append rejects with the same retriable error
    f.arm('before-commit');
    const failed = await settle(keys.map((k) => j.append(k, 2, [gev(2), gev(3)], box(k, 2))));
    assert.is(reports.at(-1)!.outcome, 'failed');
    assert.is(reports.at(-1)!.appends, 30, 'the whole group was in the failed transaction');
    assert.ok(failed.every((e) => e === failed[0]), 'one error for the group');
    assert.instance(failed[0], InfraError);
    assert.is((failed[0] as InfraError).kind, 'unavailable');
    assert.is((failed[0] as InfraError).retriable, true);
    assert.equal(await Promise.all(keys.map((k) => j.highestSeq(k))), keys.map(() => 1), 're-learned: nothing written');
    await Promise.all(keys.map((k) => j.append(k, 2, [gev(2), gev(3)], box(k, 2))));

    // after the commit (unknown outcome): all reject, the re-learned seq shows the events, a blind retry conflicts
    f.arm('after-commit');
    const unknown = await settle(keys.map((k) => j.append(k, 4, [gev(4)], box(k, 4))));
    assert.ok(unknown.every((e) => e === unknown[0] && (e as InfraError).kind === 'unavailable'));
    assert.equal(await Promise.all(keys.map((k) => j.highestSeq(k))), keys.map(() => 4));
    const retried = await settle(keys.map((k) => j.append(k, 4, [gev(4)], box(k, 4))));
    assert.ok(retried.every((e) => (e as InfraError).kind === 'conflict'));
    await Promise.all(keys.map((k) => j.append(k, 5, [gev(5)], box(k, 5))));

    assert.equal(await Promise.all(keys.map((k) => seqsOf(j, k))), keys.map(() => [1, 2, 3, 4, 5]), 'no loss, no duplicate');
    const got = await published(bus, topic, keys.length * 4, 800);
    const values = got.map((m) => m.value.toString('utf8')).sort();
    assert.equal(values, keys.flatMap((k) => [1, 2, 4, 5].map((s) => `${k}@${s}`)).sort(), 'every outbox message exactly once');
  } finally {
    await j.close();
    await bus.close();
  }
});

group('outbox messages of a grouped transaction are all published, exactly once, with their ids', async () => {
  const { j } = await openGroup();
  const bus = createKafkaBus({ brokers: brokersFromEnv(), clientId: `journal-group-reader-${process.pid}` });
  try {
    const readings = `flead-outbox-test-gr-${run}-${Math.random().toString(36).slice(2, 8)}`;
    const alerts = `${readings}-alerts`;
    await bus.ensureTopics([{ topic: readings, partitions: 3 }, { topic: alerts, partitions: 1 }]);
    const keys = Array.from({ length: 100 }, (_, i) => gkey(`producer-${i}`));
    const before = j.stats().transactions;
    await Promise.all(
      keys.map((k, i) =>
        j.append(k, 1, [gev(1), gev(2)], [
          { topic: readings, key: `dev-${i % 7}`, value: `${k}:r0` },
          { topic: alerts, key: null, value: `${k}:a1` },
          { topic: readings, key: `dev-${i % 5}`, value: `${k}:r2`, headers: { kind: 'reading' } },
        ]),
      ),
    );
    assert.is(j.stats().transactions - before, 1, 'one transaction for the 100 appends');
    const r = await published(bus, readings, 200, 800);
    const a = await published(bus, alerts, 100, 300);
    assert.is(r.length, 200);
    assert.is(a.length, 100);
    const idOf = (m: BusMessage) => `${m.headers[outboxIdHeader]}=${m.value.toString('utf8')}`;
    assert.equal(r.map(idOf).sort(), keys.flatMap((k) => [`${k}#1#0=${k}:r0`, `${k}#1#2=${k}:r2`]).sort());
    assert.equal(a.map(idOf).sort(), keys.map((k) => `${k}#1#1=${k}:a1`).sort());
    // per device (one partition), the messages keep the order of the appends in the group
    const byDevice = new Map<string, number[]>();
    for (const m of r.filter((m) => m.value.toString('utf8').endsWith(':r0'))) {
      const list = byDevice.get(m.key!) ?? [];
      list.push(keys.indexOf(m.value.toString('utf8').slice(0, -3)));
      byDevice.set(m.key!, list);
    }
    for (const list of byDevice.values()) assert.equal(list, [...list].sort((x, y) => x - y));
  } finally {
    await j.close();
    await bus.close();
  }
});

group('a fenced engine rejects every append of its group with fenced, and says so once through onFenced', async () => {
  const writerId = `group-${run}-${++writers}`;
  const told: InfraError[] = [];
  const old = await createKafkaJournal({ brokers: brokersFromEnv(), writerId, ...gTopics, onFenced: (e) => told.push(e) });
  try {
    const keys = Array.from({ length: 10 }, (_, i) => gkey(`fenced-${i}`));
    await Promise.all(keys.map((k) => old.append(k, 1, [gev(1)])));
    const next = await createKafkaJournal({ brokers: brokersFromEnv(), writerId, ...gTopics });
    try {
      const errors = await settle(keys.map((k) => old.append(k, 2, [gev(2)])));
      assert.equal(errors.map((e) => (e as InfraError).kind), keys.map(() => 'fenced'));
      await settle([old.append(keys[0]!, 2, [gev(2)])]);
      assert.equal(told.map((e) => e.kind), ['fenced'], 'onFenced once, however many appends it rejects');
      assert.match(told[0]!.message, new RegExp(`another engine with writer id ${writerId} has taken over`));
      await Promise.all(keys.map((k) => next.append(k, 2, [gev(2, { who: 'next' })])));
      assert.equal(await Promise.all(keys.map((k) => seqsOf(next, k))), keys.map(() => [1, 2]));
    } finally {
      await next.close();
    }
  } finally {
    await old.close();
  }
});

group('a transaction failing with OUT_OF_ORDER_SEQUENCE_NUMBER (as after a broker restart): the next one runs on a new producer and lands', async () => {
  // kafkajs's error, as its broker connection raises it; thrown just before the commit, where a real one surfaces
  const outOfOrder = new KafkaJSProtocolError({ message: 'The broker received an out of order sequence number', type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', code: 45, retriable: false } as never);
  let throwNext: Error | undefined;
  const { j } = await openGroup({ fault: (p) => { if (p === 'before-commit' && throwNext) { const e = throwNext; throwNext = undefined; throw e; } } });
  try {
    const key = gkey('out-of-order');
    await j.append(key, 1, [gev(1)]);
    assert.is(j.stats().producers, 1);
    throwNext = new Error('an ordinary failure');
    assert.is((await settle([j.append(key, 2, [gev(2)])]))[0]?.constructor, InfraError);
    await j.append(key, 2, [gev(2)]);
    assert.is(j.stats().producers, 1, 'an aborted transaction keeps its producer');
    throwNext = outOfOrder;
    const [failed] = await settle([j.append(key, 3, [gev(3)])]);
    assert.is((failed as InfraError).kind, 'unavailable');
    assert.match(failed!.message, /out of order sequence number/);
    await j.append(key, 3, [gev(3)]);
    assert.is(j.stats().producers, 2, 'a new producer after the sequence error');
    assert.equal(await seqsOf(j, key), [1, 2, 3]);
  } finally {
    await j.close();
  }
});

group('groupCommit: false makes one transaction per append', async () => {
  const { j } = await openGroup({ groupCommit: false });
  try {
    const keys = Array.from({ length: 20 }, (_, i) => gkey(`single-${i}`));
    const before = j.stats().transactions;
    await Promise.all(keys.map((k) => j.append(k, 1, [gev(1)])));
    assert.is(j.stats().transactions - before, 20);
    assert.is(j.stats().largestGroup, 1);
    assert.equal(await Promise.all(keys.map((k) => seqsOf(j, k))), keys.map(() => [1]));
  } finally {
    await j.close();
  }
});

group.run();
