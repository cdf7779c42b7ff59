/** The pure parts of the Kafka journal's group commit (src/infra/journal/kafka-group-commit.ts). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeGroup, groupRecords, type PreparedAppend } from '../../src/infra/journal/kafka-group-commit';

const Group = suite('group commit: records and names of a group');

const append = (key: string, expectedSeq: number, n: number, outbox: string[] = []): PreparedAppend => ({
  key, expectedSeq,
  envs: Array.from({ length: n }, (_, i) => ({ type: 'E', schemaVersion: 1, key, seq: expectedSeq + i, timestamp: 1, data: null })),
  values: Array.from({ length: n }, (_, i) => `${key}#${expectedSeq + i}`),
  outbox: outbox.map((value) => ({ topic: 'out', key, value, headers: { 'flead-outbox-id': `${key}-${value}` } })),
});

Group('groupRecords: each append\'s events on its key\'s partition with their seq, owned by the append, then all outbox messages', () => {
  const { records, owner } = groupRecords([append('a', 3, 2, ['x']), append('b', 1, 1, ['y', 'z'])], 'journal', (k) => (k === 'a' ? 4 : 0));
  assert.equal(records.map((r) => [r.topic, r.message.key, r.message.value, r.message.partition, r.message.headers]), [
    ['journal', 'a', 'a#3', 4, { seq: '3' }],
    ['journal', 'a', 'a#4', 4, { seq: '4' }],
    ['journal', 'b', 'b#1', 0, { seq: '1' }],
    ['out', 'a', 'x', undefined, { 'flead-outbox-id': 'a-x' }],
    ['out', 'b', 'y', undefined, { 'flead-outbox-id': 'b-y' }],
    ['out', 'b', 'z', undefined, { 'flead-outbox-id': 'b-z' }],
  ]);
  assert.equal(owner, [0, 0, 1], 'only events are owned: the outbox offsets are not needed');
});

Group('describeGroup: one operation by itself, more as a count with the first three', () => {
  assert.is(describeGroup([append('a', 3, 2)], []), 'append a seq 3..4');
  const snap = { key: 'b', seq: 7, state: {}, timestamp: 1, schemaVersion: 1 } as never;
  assert.is(describeGroup([], [snap]), 'snapshot b at seq 7');
  assert.is(
    describeGroup([append('a', 1, 1), append('c', 2, 3), append('d', 1, 1)], [snap]),
    'group commit of 3 append(s) and 1 snapshot(s): append a seq 1..1, append c seq 2..4, append d seq 1..1, … (1 more)',
  );
});

Group.run();
