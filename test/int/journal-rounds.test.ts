/**
 * The embedded profile's round events: the aggregator's events copied from the journal into round_events of
 * the embedded database (PGlite), exactly once across repeated copies, with the same rows the Kafka sink writes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMemoryJournal } from '../../src/infra/journal/memory-journal';
import type { JournalEvent } from '../../src/infra/journal/port';
import { openPgliteDb } from '../../src/infra/db/pglite';
import { migrate } from '../../src/infra/db/migrations';
import { createSinkStore } from '../../src/infra/db/sink-store';
import type { SqlDb } from '../../src/infra/db/sql';
import { copyJournalRounds, journalRoundsBatch } from '../../src/actors/sink/journal-rounds';
import { topicNames } from '../../src/protocols/topics';
import { silentLogger } from '../../src/infra/log';

const test = suite('embedded round events: journal → round_events, exactly once');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flead-journal-rounds-'));
const topics = topicNames('');
const T0 = 1_718_000_000_000;
let db: SqlDb;

const opened = (round: number): JournalEvent => ({ type: 'RoundOpened', schemaVersion: 1, timestamp: T0 + round * 1000, data: { round, baseVersion: round - 1, quorum: 4, minUpdates: 2, deadline: T0 + round * 1000 + 15_000, openedAt: T0 + round * 1000 } });
const rows = async () => (await db.session((s) => s.query<{ seq: string; type: string; round: number | null; at: Date }>('select seq::text as seq, type, round, at from round_events order by round_events.seq'))).rows;

test.before(async () => {
  db = await openPgliteDb(path.join(tmp, 'db'));
  await migrate(db, { log: silentLogger });
});
test.after(async () => {
  await db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('every event once, in seq order, with its round and time; copying again adds only what is new', async () => {
  const journal = createMemoryJournal();
  const store = createSinkStore(db);
  const first = Array.from({ length: journalRoundsBatch + 20 }, (_, i) => opened(i + 1));
  await journal.append('aggregator/round', 1, first);
  await journal.append('aggregator/other', 1, [opened(99)]); // another key: not copied
  assert.equal(await copyJournalRounds(journal, store, topics, 'flead-sink'), { inserted: first.length, refused: 0 });
  const r1 = await rows();
  assert.is(r1.length, first.length);
  assert.equal([r1[0]!.seq, r1[0]!.type, r1[0]!.round, new Date(r1[0]!.at).getTime()], ['1', 'RoundOpened', 1, T0 + 1000]);
  assert.is(r1.at(-1)!.seq, String(first.length));
  assert.equal(await copyJournalRounds(journal, store, topics, 'flead-sink'), { inserted: 0, refused: 0 }, 'nothing new: nothing written');
  await journal.append('aggregator/round', first.length + 1, [opened(600), { type: 'RoundClosed', schemaVersion: 1, timestamp: T0 + 601_000, data: { round: 600, reason: 'quorum', accepted: 4, closedAt: T0 + 601_000 } }]);
  assert.equal(await copyJournalRounds(journal, store, topics, 'flead-sink'), { inserted: 2, refused: 0 });
  const r2 = await rows();
  assert.is(r2.length, first.length + 2);
  assert.equal(r2.slice(-2).map((r) => [r.type, r.round]), [['RoundOpened', 600], ['RoundClosed', 600]]);
  assert.equal(await store.offsets('flead-sink'), [{ topic: topics.journal, partition: 0, nextOffset: BigInt(first.length + 3) }]);
});

test.run();
