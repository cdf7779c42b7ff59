/**
 * The one place that builds kafkajs clients (kafkajs 2.2.4 is unmaintained: everything else talks to the
 * Journal and Bus ports). Defaults are visible here.
 */
import { Kafka, logLevel, type KafkaConfig } from './kafkajs';

export interface KafkaSettings {
  /** comma-separated host:port list, from KAFKA_BROKERS */
  brokers: string;
  clientId: string;
}

export const kafkaDefaults = {
  connectionTimeout: 3000,
  requestTimeout: 30000,
  retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
} as const;

export function createKafka(settings: KafkaSettings, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: brokerList(settings.brokers),
    // kafkajs logs retried broker answers (CONCURRENT_TRANSACTIONS, TOPIC_ALREADY_EXISTS, rebalances) at
    // error level; real failures reach callers as InfraErrors through the ports. FLEAD_KAFKAJS_LOG shows them.
    logLevel: kafkajsLogLevel(process.env.FLEAD_KAFKAJS_LOG),
    ...kafkaDefaults,
    ...overrides,
  });
}

/** A comma-separated host:port list as an array (blanks dropped). */
export const brokerList = (brokers: string): string[] => brokers.split(',').map((b) => b.trim()).filter(Boolean);

/** KAFKA_BROKERS or the local broker's default address. */
export const brokersFromEnv = (): string => process.env.KAFKA_BROKERS || '127.0.0.1:9092';

/** FLEAD_KAFKAJS_LOG: nothing (default), error, warn, info or debug. */
export function kafkajsLogLevel(name: string | undefined): logLevel {
  switch (name) {
    case 'debug': return logLevel.DEBUG;
    case 'info': return logLevel.INFO;
    case 'warn': return logLevel.WARN;
    case 'error': return logLevel.ERROR;
    default: return logLevel.NOTHING;
  }
}
