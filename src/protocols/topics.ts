/** Topic names (the seed's names are kept) and their default partitions. */
export const Topics = {
  readings: 'edge-iiot-stream',
  anomalies: 'anomalies',
  localUpdates: 'local-model-updates',
  globalModels: 'global-model-updates',
  analytics: 'analytics-results',
  deadLetters: 'flead-dead-letters',
  journal: 'flead-journal',
  snapshots: 'flead-snapshots',
} as const;
export type TopicName = (typeof Topics)[keyof typeof Topics];

/** Topic names with an optional prefix (FLEAD_TOPIC_PREFIX), so tests and parallel stacks stay apart. */
export type TopicSet = { -readonly [K in keyof typeof Topics]: string };
export const topicNames = (prefix = ''): TopicSet =>
  Object.fromEntries(Object.entries(Topics).map(([k, v]) => [k, `${prefix}${v}`])) as TopicSet;
