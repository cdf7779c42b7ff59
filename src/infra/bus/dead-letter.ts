/**
 * Dead letters: every input that fails to decode or validate goes to `Topics.deadLetters` with the reason,
 * where it came from and its raw bytes (base64), so nothing is dropped silently and it can be replayed.
 */
import type * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { decodeJson, encodeJson } from '../../protocols/codec';
import { DeadLetter } from '../../protocols/dead-letter';
import { Topics } from '../../protocols/topics';
import type { Bus, BusMessage } from './port';

export interface DeadLetterInput {
  /** one readable sentence: why the input was refused */
  reason: string;
  topic: string;
  /** null when the input did not come from a topic partition (a file, an HTTP call) */
  partition: number | null;
  offset: string | null;
  file?: string | null;
  line?: number | null;
  key: string | null;
  raw: Buffer | string;
  /** the dead-letter topic (default Topics.deadLetters; prefixed stacks pass their own) */
  deadLetterTopic?: string;
}

/**
 * Raw bytes kept in a dead letter: a Kafka message (up to 1 MB) would not fit once base64-encoded, and a dead
 * letter that cannot be published would stop its consumer. Larger inputs keep their first bytes; the reason says so.
 */
export const MAX_DEAD_LETTER_RAW_BYTES = 256 * 1024;

/**
 * Publishes one DeadLetter (keyed like the input). Rejects with the bus's InfraError when the publish fails
 * (callers must not commit the input then: it is redelivered and dead-lettered again).
 */
export async function deadLetter(bus: Bus, service: string, input: DeadLetterInput): Promise<void> {
  const whole = typeof input.raw === 'string' ? Buffer.from(input.raw, 'utf8') : input.raw;
  const raw = whole.length > MAX_DEAD_LETTER_RAW_BYTES ? whole.subarray(0, MAX_DEAD_LETTER_RAW_BYTES) : whole;
  const cut = raw.length < whole.length ? ` (raw: the first ${raw.length} of ${whole.length} bytes)` : '';
  const letter: DeadLetter = {
    reason: (input.reason.trim() || 'no reason given') + cut,
    service: service || 'unknown service',
    source: {
      topic: input.topic,
      partition: input.partition,
      offset: input.offset,
      file: input.file ?? null,
      line: input.line ?? null,
    },
    key: input.key,
    raw: raw.toString('base64'),
    at: Date.now(),
  };
  await bus.publish(input.deadLetterTopic ?? Topics.deadLetters, [
    { key: input.key, value: encodeJson(DeadLetter, letter), headers: { 'flead-source-topic': input.topic } },
  ]);
}

/**
 * Decodes a message's JSON value with `codec`. On failure, dead-letters it with the codec's sentence and
 * resolves to undefined (the caller skips it and may commit). Rejects only when the dead-letter publish fails.
 */
export async function decodeOrDeadLetter<A>(
  bus: Bus,
  service: string,
  codec: t.Type<A, unknown, unknown>,
  message: BusMessage,
  deadLetterTopic?: string,
): Promise<A | undefined> {
  const decoded = decodeJson(codec, message.value);
  if (!isLeft(decoded)) return decoded.right;
  await deadLetter(bus, service, {
    reason: decoded.left,
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key,
    raw: message.value,
    deadLetterTopic,
  });
  return undefined;
}
