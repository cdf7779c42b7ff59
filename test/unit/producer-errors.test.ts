/** Telling kafkajs producer errors apart (src/infra/kafka/producer-errors.ts), on kafkajs's own error classes. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KafkaJSError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { isFencing, needsNewProducer } from '../../src/infra/kafka/producer-errors';

const protocol = (type: string, code: number, message: string) => new KafkaJSProtocolError({ message, type, code, retriable: false } as never);
const outOfOrder = protocol('OUT_OF_ORDER_SEQUENCE_NUMBER', 45, 'The broker received an out of order sequence number');
const unknownProducer = protocol('UNKNOWN_PRODUCER_ID', 59, 'This exception is raised by the broker if it could not locate the producer metadata');
const fenced = protocol('INVALID_PRODUCER_EPOCH', 47, 'Producer attempted an operation with an old epoch');

const S = suite('producer errors');

S('sequence errors need a new producer, also when kafkajs wraps them after its retries', () => {
  assert.ok(needsNewProducer(outOfOrder));
  assert.ok(needsNewProducer(unknownProducer));
  assert.ok(needsNewProducer(new KafkaJSNumberOfRetriesExceeded(outOfOrder, { retryCount: 5, retryTime: 100 } as never)));
  assert.ok(needsNewProducer(Object.assign(new Error('send failed'), { cause: outOfOrder })));
  assert.ok(needsNewProducer({ errors: [new Error('other'), outOfOrder] }));
});

S('other errors do not: a fenced producer, a connection error, a message too large, nothing', () => {
  assert.not.ok(needsNewProducer(fenced));
  assert.not.ok(needsNewProducer(new KafkaJSError('Connection error: connect ECONNREFUSED 127.0.0.1:9092')));
  assert.not.ok(needsNewProducer(protocol('MESSAGE_TOO_LARGE', 10, 'The request included a message larger than the max message size the server will accept')));
  assert.not.ok(needsNewProducer(undefined));
  assert.not.ok(needsNewProducer('OUT_OF_ORDER_SEQUENCE_NUMBER'));
});

S('fencing: the epoch and fenced answers, by type, code or message, wrapped or not; not the sequence errors', () => {
  assert.ok(isFencing(fenced));
  assert.ok(isFencing(protocol('PRODUCER_FENCED', 90, 'There is a newer producer with the same transactionalId which fences the current one')));
  assert.ok(isFencing(new KafkaJSNumberOfRetriesExceeded(fenced, { retryCount: 1, retryTime: 1 } as never)));
  assert.ok(isFencing({ errors: [new Error('x'), fenced] }));
  assert.not.ok(isFencing(outOfOrder));
  assert.not.ok(isFencing(new Error('Connection error')));
});

S.run();
