/**
 * Live detection quality of a running pipeline: joins labelled readings (edge-iiot-stream) with the
 * anomalies the trainers emitted, by reading id, and keeps a confusion matrix per detector. Used by the
 * embedded run's final table. A reading counts once (redeliveries are ignored). Its groups are transient (a fresh
 * pair each run, reading from the oldest kept message): they hold no retention of the embedded bus after the run.
 */
import { isLeft } from 'fp-ts/Either';
import type { Bus, Subscription } from '../../infra/bus/port';
import { decodeJson } from '../../protocols/codec';
import { Anomaly, SensorReading } from '../../protocols/readings';
import type { TopicSet } from '../../protocols/topics';
import { binaryMetrics, type BinaryMetrics } from './metrics';

export interface LiveEvaluation {
  readings(): number;
  anomalies(): number;
  table(detectors?: readonly string[]): Record<string, BinaryMetrics & { tp: number; fp: number; fn: number; tn: number }>;
  stop(): Promise<void>;
}

export async function startLiveEvaluation(bus: Bus, topics: TopicSet, groupPrefix: string): Promise<LiveEvaluation> {
  const labels = new Map<string, number | null>();
  const flagged = new Map<string, Set<string>>(); // detector → reading ids
  let anomalyCount = 0;
  const subs: Subscription[] = [];
  subs.push(await bus.subscribe({
    groupId: `${groupPrefix}live-eval-readings`, topics: [topics.readings], fromBeginning: true, transient: true,
    eachBatch: async (ms) => {
      for (const m of ms) {
        const r = decodeJson(SensorReading, m.value);
        if (!isLeft(r)) labels.set(r.right.readingId, typeof r.right.label === 'number' ? r.right.label : null);
      }
    },
  }));
  subs.push(await bus.subscribe({
    groupId: `${groupPrefix}live-eval-anomalies`, topics: [topics.anomalies], fromBeginning: true, transient: true,
    eachBatch: async (ms) => {
      for (const m of ms) {
        const a = decodeJson(Anomaly, m.value);
        if (isLeft(a)) continue;
        anomalyCount++;
        const set = flagged.get(a.right.detector) ?? new Set<string>();
        set.add(a.right.readingId);
        flagged.set(a.right.detector, set);
      }
    },
  }));
  return {
    readings: () => labels.size,
    anomalies: () => anomalyCount,
    table(detectors = ['zscore', 'autoencoder']) {
      const out: ReturnType<LiveEvaluation['table']> = {};
      for (const d of detectors) {
        const set = flagged.get(d) ?? new Set<string>();
        const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
        for (const [id, label] of labels) {
          if (label === null) continue;
          const p = set.has(id);
          if (label === 1) { if (p) c.tp++; else c.fn++; } else if (p) c.fp++; else c.tn++;
        }
        out[d] = { ...c, ...binaryMetrics(c) };
      }
      return out;
    },
    async stop() { for (const s of subs) await s.stop(); },
  };
}
