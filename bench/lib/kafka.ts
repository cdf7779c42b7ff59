/** Kafka helpers shared by the Kafka benchmarks: the WSN readings as messages, topics made and removed. */
import type { Kafka } from 'kafkajs';
import { collectRows, openDataset, toSensorReading } from '../../src/infra/datasets';
import { encodeJson } from '../../src/protocols/codec';
import { SensorReading } from '../../src/protocols/readings';

/** One message of `edge-iiot-stream`, as the producer sends it. */
export interface Message { key: string; value: string }

/** The WSN readings encoded exactly as the producer service encodes them (toOutbox: source = service name). */
export async function wsnMessages(): Promise<Message[]> {
  const { rows } = await collectRows(openDataset('wsn', {}));
  return rows.map((r) => ({ key: r.deviceId, value: encodeJson(SensorReading, toSensorReading(r, 'producer')) }));
}

export async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopicsWithPrefix(kafka: Kafka, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics });
  } catch {
    // leftovers are harmless (unique prefix)
  } finally {
    await admin.disconnect();
  }
}
