/**
 * The one place that builds kafkajs clients (kafkajs 2.2.4 is unmaintained: everything else talks to the
 * Journal and Bus ports). Defaults are visible here.
 */
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

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
    brokers: settings.brokers.split(',').map((b) => b.trim()).filter(Boolean),
    logLevel: process.env.FLEAD_KAFKAJS_LOG === 'debug' ? logLevel.DEBUG : logLevel.ERROR,
    ...kafkaDefaults,
    ...overrides,
  });
}

/** KAFKA_BROKERS or the local broker's default address. */
export const brokersFromEnv = (): string => process.env.KAFKA_BROKERS || '127.0.0.1:9092';
