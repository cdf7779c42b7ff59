/**
 * Runs the journal contract against every engine: memory (shared store), file (a temp directory) and Kafka
 * (the real broker on KAFKA_BROKERS, topics unique to this run). The embedded engines relay their outbox to a
 * memory bus (durable for the file engine, as in the embedded profile); the Kafka engine's outbox is read back
 * through the Kafka bus. Plus the file engine's crash cases.
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
import { createFileJournal, encodeKey } from '../../src/infra/journal/file-journal';
import { createKafkaJournal } from '../../src/infra/journal/kafka-journal';
import { createMemoryJournal, createMemoryStore, type FaultHook, type FaultPoint } from '../../src/infra/journal/memory-journal';
import { outboxIdHeader, type Journal, type OutboxMessage, type OutboxRelay } from '../../src/infra/journal/port';
import { journalContract, type JournalHarness } from './journal.contract';

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
