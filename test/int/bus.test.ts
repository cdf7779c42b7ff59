/**
 * The Bus contract against every adapter: Kafka (the real broker on KAFKA_BROKERS), the in-memory bus, and
 * the durable in-memory bus (temp dir, with restart). Then what only one adapter can show.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createKafkaBus } from '../../src/infra/bus/kafka-bus';
import { createMemoryBus } from '../../src/infra/bus/memory-bus';
import type { Bus, BusMessage } from '../../src/infra/bus/port';
import { brokersFromEnv, createKafka } from '../../src/infra/kafka/client';
import { InfraError } from '../../src/infra/errors';
import { busContract } from './bus.contract';
import { waitFor } from '../support/procs';

const brokers = brokersFromEnv();

/** A bus that `reopen` closes and opens again with `open` (on the same directory, for the durable ones). */
function reopening(open: () => Bus, cleanup: () => void = () => undefined) {
  let bus = open();
  return {
    bus,
    reopen: async () => {
      await bus.close();
      bus = open();
      return bus;
    },
    close: async () => {
      await bus.close();
      cleanup();
    },
  };
}

busContract('kafka', async () => reopening(() => createKafkaBus({ brokers, clientId: `bus-contract-${process.pid}` })), { outboxDedupe: false });

busContract('memory', async () => {
  const bus = createMemoryBus();
  return { bus, close: () => bus.close() };
});

busContract('memory-durable', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flead-bus-'));
  return reopening(() => createMemoryBus({ dir }), () => fs.rmSync(dir, { recursive: true, force: true }));
});

// retention on, segments of 4 messages (rolled, read back on reopen): the contract holds while no partition outgrows the
// retention before a group reads it (it publishes at most ~70 a partition; retention itself: unit/memory-bus-retention)
busContract('memory-durable-retained', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flead-bus-retained-'));
  return reopening(() => createMemoryBus({ dir, retainMessages: 100, segmentMessages: 4 }), () => fs.rmSync(dir, { recursive: true, force: true }));
});

async function rejection(p: Promise<unknown>): Promise<InfraError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, InfraError, `an InfraError, got ${String(e)}`);
    return e as InfraError;
  }
  throw new Error('expected a rejection, the call resolved');
}

async function drain(bus: Bus, topic: string, count: number): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  const sub = await bus.subscribe({ groupId: `drain-${Math.random()}`, topics: [topic], eachBatch: async (b) => void got.push(...b) });
  const until = Date.now() + 10_000;
  while (got.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  await sub.stop();
  return got;
}

const kafkaOnly = suite('kafka-bus only');

kafkaOnly('services starting together: buses ensure the same topics at once, some there already, some new; each resolves with every topic\'s count', async () => {
  // what a trainer does after its aggregator made some of the topics: kafkajs's createTopics then returns without
  // waiting for the new ones' leaders, and their metadata may lag their creation
  const buses = Array.from({ length: 4 }, (_, i) => createKafkaBus({ brokers, clientId: `bus-ensure-race-${i}` }));
  try {
    for (let round = 0; round < 3; round++) {
      const names = Array.from({ length: 5 }, (_, i) => `bus-ensure-race-${Date.now().toString(36)}-${round}-${i}`);
      const asked = names.map((topic, i) => ({ topic, partitions: i + 1 }));
      await buses[0]!.ensureTopics(asked.filter((_, i) => i % 2 === 1));
      const got = await Promise.all(buses.map((b, i) => b.ensureTopics(i % 2 ? [...asked].reverse() : asked)));
      for (const [i, g] of got.entries()) {
        assert.equal([...g].sort((x, y) => x.topic.localeCompare(y.topic)), asked, `bus ${i}, round ${round}`);
      }
    }
  } finally {
    await Promise.all(buses.map((b) => b.close()));
  }
});

kafkaOnly('an unreachable broker: publish and subscribe reject with kind unavailable, retriable', async () => {
  const bus = createKafkaBus({ brokers: '127.0.0.1:1', clientId: 'bus-down', retries: 1, log: () => undefined });
  try {
    const e = await rejection(bus.publish('anything', [{ key: 'k', value: 'v' }]));
    assert.is(e.kind, 'unavailable');
    assert.is(e.retriable, true);
    const s = await rejection(bus.subscribe({ groupId: 'g', topics: ['anything'], eachBatch: async () => undefined }));
    assert.is(s.kind, 'unavailable');
    assert.is(s.retriable, true);
  } finally {
    await bus.close();
  }
  const closed = await rejection(bus.publish('anything', [{ key: 'k', value: 'v' }]));
  assert.is(closed.kind, 'closed');
});

type Assigned = ReadonlyArray<{ topic: string; partition: number }>;
const partitionsOf = (a: Assigned | undefined, topic: string) => (a ?? []).filter((x) => x.topic === topic).map((x) => x.partition).sort((x, y) => x - y);

/** two members' latest assignments once they split the topic's 6 partitions between them */
const split = (a: Assigned | undefined, b: Assigned | undefined, topic: string) => {
  const pa = partitionsOf(a, topic); const pb = partitionsOf(b, topic);
  const all = [...pa, ...pb].sort((x, y) => x - y);
  return pa.length > 0 && pb.length > 0 && all.join() === '0,1,2,3,4,5' ? [pa, pb] : undefined;
};

kafkaOnly('a group of two splits 6 partitions into [0,1,2] and [3,4,5], whatever order the broker lists them in (Kafka 3.9 and 4.x differ)', async () => {
  const bus = createKafkaBus({ brokers, clientId: 'bus-assign' });
  const topic = `bus-assign-${Date.now()}-${process.pid}`;
  const groupId = `${topic}-g`;
  try {
    await bus.ensureTopics([{ topic, partitions: 6 }]);
    let a: Assigned | undefined; let b: Assigned | undefined;
    const sa = await bus.subscribe({ groupId, topics: [topic], eachBatch: async () => undefined, onAssignment: (x) => { a = x; } });
    const sb = await bus.subscribe({ groupId, topics: [topic], eachBatch: async () => undefined, onAssignment: (x) => { b = x; } });
    const [pa, pb] = await waitFor('the two members to split the partitions', async () => split(a, b, topic), 30_000, 50);
    assert.equal([pa, pb].map((p) => p.join()).sort(), ['0,1,2', '3,4,5']);
    await Promise.all([sa.stop(), sb.stop()]);
  } finally {
    await bus.close();
  }
});

kafkaOnly('a member of an older FLEAD (kafkajs round robin only) still joins the group: both get partitions', async () => {
  const bus = createKafkaBus({ brokers, clientId: 'bus-assign-mixed' });
  const topic = `bus-assign-mixed-${Date.now()}-${process.pid}`;
  const groupId = `${topic}-g`;
  const old = createKafka({ brokers, clientId: 'bus-assign-old' }).consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 500 });
  try {
    await bus.ensureTopics([{ topic, partitions: 6 }]);
    let a: Assigned | undefined; let b: Assigned | undefined;
    old.on(old.events.GROUP_JOIN, (e) => { b = Object.entries(e.payload.memberAssignment).flatMap(([t, ps]) => ps.map((partition) => ({ topic: t, partition }))); });
    await old.connect();
    await old.subscribe({ topics: [topic], fromBeginning: true });
    await old.run({ eachBatch: async () => undefined });
    const sa = await bus.subscribe({ groupId, topics: [topic], eachBatch: async () => undefined, onAssignment: (x) => { a = x; } });
    await waitFor('the new and the old member to split the partitions', async () => split(a, b, topic), 30_000, 50);
    await sa.stop();
  } finally {
    await old.disconnect();
    await bus.close();
  }
});

kafkaOnly.run();

const memoryOnly = suite('memory-bus only');

memoryOnly('the size limit is configurable and counts key, value and headers', async () => {
  const bus = createMemoryBus({ maxMessageBytes: 100 });
  try {
    await bus.publish('t', [{ key: null, value: Buffer.alloc(100) }]);
    assert.is((await rejection(bus.publish('t', [{ key: null, value: Buffer.alloc(101) }]))).kind, 'too-large');
    assert.is((await rejection(bus.publish('t', [{ key: 'ab', value: Buffer.alloc(99) }]))).kind, 'too-large');
    const e = await rejection(bus.publish('t', [{ key: null, value: Buffer.alloc(90), headers: { name: 'x'.repeat(10) } }]));
    assert.match(e.message, /over the 100-byte limit/);
    // a batch with one message over the limit stores none of them
    await rejection(bus.publish('t', [{ key: 'ok', value: 'small' }, { key: null, value: Buffer.alloc(500) }]));
    assert.is((await drain(bus, 't', 1)).length, 1);
  } finally {
    await bus.close();
  }
});

memoryOnly('durable: a torn last line is dropped on open, later appends read back; a corrupt middle line is refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flead-bus-torn-'));
  try {
    let bus = createMemoryBus({ dir });
    await bus.ensureTopics([{ topic: 'torn', partitions: 1 }]);
    await bus.publish('torn', [{ key: 'a', value: '1' }, { key: 'a', value: '2' }]);
    await bus.close();
    const log = path.join(dir, 'topics', 'torn', '0.log');
    assert.ok(fs.existsSync(log), `partition log at ${log}`);
    fs.appendFileSync(log, '{"k":"a","v":"M'); // the crash cut this write short

    bus = createMemoryBus({ dir });
    await bus.publish('torn', [{ key: 'a', value: '3' }]);
    assert.equal((await drain(bus, 'torn', 3)).map((m) => [m.offset, m.value.toString()]), [['0', '1'], ['1', '2'], ['2', '3']]);
    await bus.close();

    bus = createMemoryBus({ dir });
    assert.is((await drain(bus, 'torn', 3)).length, 3);
    await bus.close();

    const lines = fs.readFileSync(log, 'utf8').split('\n');
    lines[1] = 'garbage';
    fs.writeFileSync(log, lines.join('\n'));
    let err: unknown;
    try {
      createMemoryBus({ dir });
    } catch (e) {
      err = e;
    }
    assert.instance(err, InfraError);
    assert.is((err as InfraError).kind, 'corrupt');
    assert.match((err as InfraError).message, /line 2 of .*0\.log/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

memoryOnly('after close, publish and subscribe reject with kind closed', async () => {
  const bus = createMemoryBus();
  await bus.close();
  assert.is((await rejection(bus.publish('t', [{ key: null, value: 'x' }]))).kind, 'closed');
  assert.is((await rejection(bus.subscribe({ groupId: 'g', topics: ['t'], eachBatch: async () => undefined }))).kind, 'closed');
});

memoryOnly.run();
