/**
 * The message bus port: topics of keyed messages. Adapters: Kafka (`kafka-bus.ts`, kafkajs behind this port
 * so it can be replaced) and in-memory (`memory-bus.ts`, for the embedded profile and unit tests; durable
 * variant under ./data for the embedded profile). Both pass `test/int/bus.contract.ts`.
 *
 * Semantics: per-key order is kept; a consumer group sees each message at least once; a handler's message is
 * committed only after the handler's promise resolves (a throw redelivers it after restart); `publish`
 * resolves once the broker acknowledged every message (acks=all, idempotent producer).
 */
export interface BusMessage {
  topic: string;
  partition: number;
  /** string form of the 64-bit offset */
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number;
}

export interface OutgoingMessage {
  key: string | null;
  value: string | Buffer;
  headers?: Record<string, string>;
}

export interface SubscribeOptions {
  groupId: string;
  topics: readonly string[];
  /** start at the earliest offset when the group has none (default true) */
  fromBeginning?: boolean;
  /** handle messages one batch at a time; commit after each batch resolves */
  eachBatch: (messages: readonly BusMessage[]) => Promise<void>;
  /** called when partitions are assigned or revoked (consumer-group rebalance) */
  onAssignment?: (assigned: ReadonlyArray<{ topic: string; partition: number }>) => void;
  /**
   * The group's offsets need not outlive the process (a reader with a fresh group id each run): the in-process bus
   * keeps them off disk and lets the group hold no retention once it stopped. Kafka ignores it (a broker drops an
   * empty group's offsets after offsets.retention.minutes).
   */
  transient?: boolean;
}

export interface Subscription {
  stop(): Promise<void>;
}

/** Topics with their partition counts. */
export type TopicPartitions = ReadonlyArray<{ topic: string; partitions: number }>;

export interface Bus {
  readonly describe: string;
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /**
   * Create topics that do not exist yet; existing ones are left alone. Resolves to each listed topic's partition
   * count as it now is: an existing topic keeps its own, whatever was asked (see `partitionsKept`).
   */
  ensureTopics(topics: ReadonlyArray<{ topic: string; partitions: number; compacted?: boolean }>): Promise<TopicPartitions>;
  /** How many partitions a topic has; null when it does not exist (asking never creates it). */
  partitionCount(topic: string): Promise<number | null>;
  close(): Promise<void>;
}
