/**
 * Runs the journal contract against every engine: memory (shared store), file (a temp directory) and Kafka
 * (the real broker on KAFKA_BROKERS, topics unique to this run). Plus the file engine's crash cases.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { brokersFromEnv } from '../../src/infra/kafka/client';
import { createFileJournal, encodeKey } from '../../src/infra/journal/file-journal';
import { createKafkaJournal } from '../../src/infra/journal/kafka-journal';
import { createMemoryJournal, createMemoryStore, type FaultHook, type FaultPoint } from '../../src/infra/journal/memory-journal';
import type { Journal } from '../../src/infra/journal/port';
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

function harness(open: (fault?: FaultHook) => Promise<Journal>): () => Promise<JournalHarness> {
  return async () => {
    const f = oneShotFault();
    const opened: Journal[] = [];
    const track = async (j: Promise<Journal>) => {
      const x = await j;
      opened.push(x);
      return x;
    };
    const journal = await track(open(f.hook));
    return {
      journal,
      reopen: () => track(open()),
      second: () => track(open()),
      close: async () => {
        for (const j of opened) await j.close();
      },
      fault: f.arm,
    };
  };
}

journalContract('memory', async () => {
  const store = createMemoryStore();
  return harness(async (fault) => createMemoryJournal({ store, fault }))();
});

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'flead-journal-test-'));
let dirs = 0;
journalContract('file', async () => {
  const dir = path.join(tmpRoot, `j${++dirs}`);
  return harness((fault) => createFileJournal(dir, { fault }))();
});

const run = Date.now();
let writers = 0;
journalContract('kafka', async () => {
  const writerId = `test-${run}-${++writers}`;
  return harness((fault) =>
    createKafkaJournal({
      brokers: brokersFromEnv(),
      writerId,
      journalTopic: `flead-journal-test-${run}`,
      snapshotTopic: `flead-snapshots-test-${run}`,
      partitions: 3,
      fault,
    }),
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

crash.after(() => {
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

crash.run();
