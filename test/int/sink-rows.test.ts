/**
 * The sink's pure parts (no I/O; kept beside the sink's integration suite): the message → row mapping of every
 * topic, the settings decoder with its sentences, the capped exponential backoff, and COPY text escaping.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isLeft, isRight } from 'fp-ts/Either';
import { rowOf, sinkTopics } from '../../src/actors/sink/rows';
import { backoffDelay, sinkSettingsFromEnv } from '../../src/actors/sink/settings';
import { copyLines, copyText } from '../../src/infra/db/copy';
import type { BusMessage } from '../../src/infra/bus/port';
import { encodeJson } from '../../src/protocols/codec';
import { examples, exampleWeights } from '../../src/protocols/examples';
import { JournalEnvelope } from '../../src/protocols/journal';
import { GlobalModel, LocalModelUpdate, RoundNotice } from '../../src/protocols/models';
import { Anomaly, SensorReading } from '../../src/protocols/readings';
import { topicNames } from '../../src/protocols/topics';
import { hashWeights } from '../../src/protocols/weights';

const topics = topicNames('p-');
const msg = (topic: string, value: string, key: string | null = 'k', offset = '7', partition = 2): BusMessage =>
  ({ topic, partition, offset, key, value: Buffer.from(value), headers: {}, timestamp: 0 });

const Rows = suite('rowOf: one message → one row, nothing, or a dead letter');

Rows('a reading keeps its features, label and where it was read', () => {
  const out = rowOf(topics, msg(topics.readings, encodeJson(SensorReading, examples.sensorReading)));
  assert.equal(out, { kind: 'row', row: { table: 'readings', row: { readingId: 'sensor-07/000123', deviceId: 'sensor-07', ts: 1_718_000_000_000, features: examples.sensorReading.features, label: 0, attackType: null, partition: 2, offset: '7' } } });
});

Rows('a local update keeps its metadata and the sha256 of its weights bytes, not the weights', () => {
  const out = rowOf(topics, msg(topics.localUpdates, encodeJson(LocalModelUpdate, examples.localModelUpdate)));
  assert.equal(out, { kind: 'row', row: { table: 'local_updates', row: { updateId: 'trainer-2/round-4', clientId: 'trainer-2', round: 4, baseVersion: 3, sampleCount: 512, hash: hashWeights(exampleWeights.local), metrics: { loss: 0.042, accuracy: 0.97 }, sentAt: 1_718_000_010_000 } } });
});

Rows('anomalies and global models map to their tables; a round notice is nothing to write', () => {
  const a = rowOf(topics, msg(topics.anomalies, encodeJson(Anomaly, examples.anomaly)));
  assert.is(a.kind === 'row' && a.row.table, 'anomalies');
  const g = rowOf(topics, msg(topics.globalModels, encodeJson(GlobalModel, examples.globalModel)));
  assert.equal(g.kind === 'row' && g.row.table === 'global_models' && [g.row.row.version, g.row.row.parentVersion, g.row.row.round], [4, 3, 4]);
  assert.equal(rowOf(topics, msg(topics.globalModels, encodeJson(RoundNotice, examples.roundNotice))), { kind: 'none' });
});

Rows('journal: only aggregator/round records become round events (round taken from the event data)', () => {
  const e = rowOf(topics, msg(topics.journal, encodeJson(JournalEnvelope, examples.journalEnvelope), 'aggregator/round'));
  assert.equal(e, { kind: 'row', row: { table: 'round_events', row: { service: 'aggregator', seq: 7, type: 'RoundOpened', round: 4, data: examples.journalEnvelope.data, at: 1_718_000_000_500 } } });
  assert.equal(rowOf(topics, msg(topics.journal, 'not even json', 'trainer-1/device/d')), { kind: 'none' });
  assert.equal(rowOf(topics, msg(topics.journal, 'x', null)), { kind: 'none' });
  const bad = rowOf(topics, msg(topics.journal, '{"type":"RoundOpened"}', 'aggregator/round'));
  assert.is(bad.kind, 'dead-letter');
});

Rows('garbage is a dead letter whose reason names the problem', () => {
  const r = rowOf(topics, msg(topics.readings, '{"deviceId":"d","readingId":"r","ts":-1,"features":{}}'));
  assert.equal(r, { kind: 'dead-letter', reason: 'SensorReading: at ts: expected epoch milliseconds, got -1' });
  const j = rowOf(topics, msg(topics.anomalies, '{'));
  assert.ok(j.kind === 'dead-letter' && /^Anomaly: not valid JSON/.test(j.reason));
  const far = rowOf(topics, msg(topics.readings, encodeJson(SensorReading, { ...examples.sensorReading, ts: 9e15 })));
  assert.ok(far.kind === 'dead-letter' && /beyond the year 275760/.test(far.reason));
});

Rows('the journal topic is read only with round events on', () => {
  assert.ok(sinkTopics(topics, true).includes(topics.journal));
  assert.not.ok(sinkTopics(topics, false).includes(topics.journal));
});

const Settings = suite('sink settings and backoff');

Settings('defaults, and one sentence per bad variable', () => {
  const d = sinkSettingsFromEnv({});
  assert.equal(isRight(d) && d.right, { consumer: 'flead-sink', roundEvents: true, backoff: { minMs: 250, maxMs: 10_000 }, poolSize: 2 });
  const bad = sinkSettingsFromEnv({ SINK_BACKOFF_MIN_MS: 'soon', SINK_ROUND_EVENTS: 'maybe' });
  assert.ok(isLeft(bad));
  assert.match(isLeft(bad) ? bad.left : '', /SINK_ROUND_EVENTS must be true or false, got "maybe"; SINK_BACKOFF_MIN_MS must be an integer ≥ 1, got "soon"/);
  const crossed = sinkSettingsFromEnv({ SINK_BACKOFF_MIN_MS: '500', SINK_BACKOFF_MAX_MS: '100' });
  assert.is(isLeft(crossed) && crossed.left, 'SINK_BACKOFF_MAX_MS (100) cannot be below SINK_BACKOFF_MIN_MS (500)');
});

Settings('backoff doubles from the minimum and stops at the maximum', () => {
  const b = { minMs: 250, maxMs: 2000 };
  assert.equal([1, 2, 3, 4, 5, 50].map((n) => backoffDelay(b, n)), [250, 500, 1000, 2000, 2000, 2000]);
});

Settings('COPY text escapes backslash, tab and newlines; null is \\N', () => {
  assert.is(copyText('a\tb\nc\\d\re'), 'a\\tb\\nc\\\\d\\re');
  assert.is(copyText(null), '\\N');
  assert.is(copyLines([['x', 1, null, { a: 'b' }]]), 'x\t1\t\\N\t{"a":"b"}\n');
});

Rows.run();
Settings.run();
