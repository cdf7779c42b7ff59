/** Topic names (the seed's names are kept), with the data topics' partitions below. */
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

/**
 * Partitions of the data topics, as `flead init topics` and every service create them (a topic that exists is
 * left alone). The readings topic's count is READINGS_PARTITIONS: the most trainers a group can keep busy, and
 * 12 (the default) splits evenly over 1, 2, 3, 4, 6 or 12 of them. Models and round notices keep one partition:
 * they stay in order.
 */
export const dataTopicPartitions = (readings: number) => ({ readings, anomalies: 3, localUpdates: 3, globalModels: 1, analytics: 1, deadLetters: 1 });
export type DataTopic = keyof ReturnType<typeof dataTopicPartitions>;

/** The data topics the federated loop's services (trainer, sink) read or write. */
export const loopTopics: readonly DataTopic[] = ['readings', 'anomalies', 'localUpdates', 'globalModels', 'deadLetters'];

/** The named data topics with their partitions (for Bus.ensureTopics). */
export const dataTopics = (t: TopicSet, readingsPartitions: number, which: readonly DataTopic[]): Array<{ topic: string; partitions: number }> => {
  const p = dataTopicPartitions(readingsPartitions);
  return which.map((k) => ({ topic: t[k], partitions: p[k] }));
};

/**
 * A sentence for each topic that exists with other partitions than asked for (it keeps them), none when all
 * match. Kafka cannot remove partitions, and adding some would send a device's later readings to another
 * partition, and so maybe another trainer, than its earlier ones while those may still be unscored.
 */
export const partitionsKept = (
  asked: ReadonlyArray<{ topic: string; partitions: number }>,
  got: ReadonlyArray<{ topic: string; partitions: number }>,
): string[] => asked.flatMap((a) => {
  const has = got.find((g) => g.topic === a.topic)?.partitions;
  return has === undefined || has === a.partitions ? [] : [
    `${a.topic} has ${has} partition(s), not the ${a.partitions} asked for: a topic that exists keeps its partitions (delete it, or the compose volumes, to create it with ${a.partitions})`,
  ];
});
