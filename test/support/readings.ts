/**
 * Counting what is on a readings topic, for the end-to-end tests: every message read committed from the
 * beginning by a fresh group, decoded as a SensorReading (a message that does not decode fails the test).
 */
import { isLeft } from 'fp-ts/Either';
import { createKafkaBus } from '../../src/infra/bus/kafka-bus';
import { decodeJson } from '../../src/protocols/codec';
import { SensorReading } from '../../src/protocols/readings';
import { waitFor } from './procs';

export interface ReadAll {
  brokers: string;
  topic: string;
  groupId: string;
  /** called with each reading, in the topic's order per partition */
  onReading: (r: SensorReading) => void;
  /** read until this holds (checked every 100 ms) … */
  done: () => boolean;
  /** … named so in the timeout error */
  what: string;
  timeoutMs: number;
  /** then read on for this long: late copies would show up in it */
  settleMs: number;
}

export async function readAllReadings(o: ReadAll): Promise<void> {
  const bus = createKafkaBus({ brokers: o.brokers, clientId: `${o.groupId}-reader` });
  const sub = await bus.subscribe({
    groupId: o.groupId, topics: [o.topic], fromBeginning: true,
    eachBatch: async (ms) => {
      for (const m of ms) {
        const r = decodeJson(SensorReading, m.value);
        if (isLeft(r)) throw new Error(r.left);
        o.onReading(r.right);
      }
    },
  });
  try {
    await waitFor(o.what, async () => (o.done() ? true : undefined), o.timeoutMs);
    await new Promise((r) => setTimeout(r, o.settleMs));
  } finally {
    await sub.stop();
    await bus.close();
  }
}
