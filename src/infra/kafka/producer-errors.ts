/** Telling what a kafkajs producer error means for the producer itself: fenced, or out of step with the broker. */

const fencingTypes = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);

type KafkaErrorLike = { type?: string; code?: number; message?: string; cause?: unknown; originalError?: unknown; errors?: unknown[] };

/** True when `test` holds for e or an error it wraps (kafkajs nests them in cause, originalError, errors). */
function anyWrapped(e: unknown, test: (x: KafkaErrorLike) => boolean, depth = 0): boolean {
  if (!e || typeof e !== 'object' || depth > 5) return false;
  const x = e as KafkaErrorLike;
  if (test(x)) return true;
  return [x.cause, x.originalError, ...(Array.isArray(x.errors) ? x.errors : [])].some((c) => anyWrapped(c, test, depth + 1));
}

/** True when e (or an error it wraps) says another producer with our transactionalId took over. */
export const isFencing = (e: unknown): boolean =>
  anyWrapped(e, (x) => (x.type !== undefined && fencingTypes.has(x.type)) || x.code === 47 || x.code === 90 || (typeof x.message === 'string' && /fenced|producer epoch/i.test(x.message)));

/**
 * Broker answers that leave a kafkajs idempotent producer's sequence numbers out of step with the broker
 * (seen after a broker restart: every later transaction failed with OUT_OF_ORDER_SEQUENCE_NUMBER, even though
 * each abort went through). Only a new producer (a new InitProducerId, sequences from 0) gets out of it.
 */
const sequenceTypes = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_TXN_STATE']);
export const needsNewProducer = (e: unknown): boolean =>
  anyWrapped(e, (x) => (x.type !== undefined && sequenceTypes.has(x.type)) || x.code === 45 || x.code === 48 || x.code === 59);
