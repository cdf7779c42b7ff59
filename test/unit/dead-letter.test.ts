/** Dead letters: what `deadLetter` publishes, and the cut of raw inputs too large to publish whole. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isRight } from 'fp-ts/Either';
import { deadLetter, MAX_DEAD_LETTER_RAW_BYTES } from '../../src/infra/bus/dead-letter';
import type { Bus, OutgoingMessage } from '../../src/infra/bus/port';
import { decodeJson } from '../../src/protocols/codec';
import { DeadLetter } from '../../src/protocols/dead-letter';

const DL = suite('deadLetter');

/** A bus that keeps what is published (the other operations are not used). */
function recordingBus(): { bus: Bus; published: Array<{ topic: string; m: OutgoingMessage }> } {
  const published: Array<{ topic: string; m: OutgoingMessage }> = [];
  const unused = () => { throw new Error('not used'); };
  const bus: Bus = {
    describe: 'recording',
    publish: async (topic: string, ms: readonly OutgoingMessage[]) => { for (const m of ms) published.push({ topic, m }); },
    subscribe: unused, ensureTopics: unused, partitionCount: unused, close: async () => undefined,
  } as unknown as Bus;
  return { bus, published };
}

const letterOf = (m: OutgoingMessage): DeadLetter => {
  const d = decodeJson(DeadLetter, m.value);
  assert.ok(isRight(d), `the dead letter decodes: ${JSON.stringify(d)}`);
  return (d as { right: DeadLetter }).right;
};

DL('a small input: its raw bytes whole, the reason as given, keyed like the input', async () => {
  const { bus, published } = recordingBus();
  await deadLetter(bus, 'trainer', { reason: 'not valid JSON', topic: 'readings', partition: 2, offset: '41', key: 'dev-1', raw: Buffer.from('{oops'), deadLetterTopic: 'dlq' });
  assert.is(published.length, 1);
  assert.equal([published[0]!.topic, published[0]!.m.key, published[0]!.m.headers], ['dlq', 'dev-1', { 'flead-source-topic': 'readings' }]);
  const l = letterOf(published[0]!.m);
  assert.equal([l.reason, l.service, l.source, Buffer.from(l.raw, 'base64').toString()], ['not valid JSON', 'trainer', { topic: 'readings', partition: 2, offset: '41', file: null, line: null }, '{oops']);
});

DL('an input over MAX_DEAD_LETTER_RAW_BYTES keeps its first bytes, and the reason says how many of how many', async () => {
  const { bus, published } = recordingBus();
  const raw = Buffer.alloc(MAX_DEAD_LETTER_RAW_BYTES + 1000, 'x');
  raw.write('START', 0);
  await deadLetter(bus, 'trainer', { reason: 'too large', topic: 'readings', partition: 0, offset: '7', key: null, raw });
  const l = letterOf(published[0]!.m);
  const kept = Buffer.from(l.raw, 'base64');
  assert.is(kept.length, MAX_DEAD_LETTER_RAW_BYTES);
  assert.ok(kept.subarray(0, 5).toString() === 'START');
  assert.is(l.reason, `too large (raw: the first ${MAX_DEAD_LETTER_RAW_BYTES} of ${raw.length} bytes)`);
  assert.ok(published[0]!.m.value.length < 1_000_000, 'the dead letter fits a Kafka message');
});

DL.run();
