/**
 * What the sink writes for each message: a pure mapping from one bus message to one row, "nothing to write"
 * (a round notice, a journal record of another actor) or a dead letter with its reason. No I/O here.
 *
 *   edge-iiot-stream      SensorReading        → readings (with the topic partition and offset it was read at)
 *   anomalies             Anomaly              → anomalies
 *   local-model-updates   LocalModelUpdate     → local_updates: metadata only; hash = sha256 of the weights bytes
 *   global-model-updates  GlobalModel          → global_models (lineage, no weights); RoundNotice → nothing
 *   flead-journal         key "aggregator/round", JournalEnvelope → round_events; any other key → nothing
 */
import { createHash } from 'node:crypto';
import { isLeft } from 'fp-ts/Either';
import { decodeJson } from '../../protocols/codec';
import { JournalEnvelope } from '../../protocols/journal';
import { GlobalTopicMessage, LocalModelUpdate } from '../../protocols/models';
import { Anomaly, SensorReading } from '../../protocols/readings';
import type { TopicSet } from '../../protocols/topics';
import type { BusMessage } from '../../infra/bus/port';
import type { SinkRow } from '../../infra/db/sink-store';

export type RowOutcome =
  | { kind: 'row'; row: SinkRow }
  | { kind: 'none' }
  | { kind: 'dead-letter'; reason: string };

/** The journal keys whose events go to `round_events`, and the service name they are stored under. */
export const roundEventKeys: Readonly<Record<string, string>> = { 'aggregator/round': 'aggregator' };

/** Largest epoch ms a JavaScript Date (and so a timestamptz parameter) holds. */
const maxEpochMs = 8.64e15;

const dead = (reason: string): RowOutcome => ({ kind: 'dead-letter', reason });
const row = (r: SinkRow): RowOutcome => ({ kind: 'row', row: r });

/** A timestamp beyond what a Date holds, as a dead letter's reason; undefined when it is fine. */
function checkTime(what: string, name: string, ms: number): string | undefined {
  return ms > maxEpochMs ? `${what}: at ${name}: epoch milliseconds ${ms} are beyond the year 275760` : undefined;
}

/** Which topics the sink reads (the journal only when round events are wanted). */
export function sinkTopics(topics: TopicSet, roundEvents: boolean): string[] {
  return [topics.readings, topics.anomalies, topics.localUpdates, topics.globalModels, ...(roundEvents ? [topics.journal] : [])];
}

/** Map one message to its row, nothing, or a dead letter. Never throws on bad input. */
export function rowOf(topics: TopicSet, m: BusMessage): RowOutcome {
  switch (m.topic) {
    case topics.readings: {
      const d = decodeJson(SensorReading, m.value);
      if (isLeft(d)) return dead(d.left);
      const r = d.right;
      const bad = checkTime('SensorReading', 'ts', r.ts);
      if (bad) return dead(bad);
      return row({ table: 'readings', row: { readingId: r.readingId, deviceId: r.deviceId, ts: r.ts, features: r.features, label: r.label ?? null, attackType: r.attackType ?? null, partition: m.partition, offset: m.offset } });
    }
    case topics.anomalies: {
      const d = decodeJson(Anomaly, m.value);
      if (isLeft(d)) return dead(d.left);
      const a = d.right;
      const bad = checkTime('Anomaly', 'ts', a.ts);
      if (bad) return dead(bad);
      return row({ table: 'anomalies', row: { readingId: a.readingId, detector: a.detector, deviceId: a.deviceId, ts: a.ts, score: a.score, threshold: a.threshold, severity: a.severity, modelVersion: a.modelVersion } });
    }
    case topics.localUpdates: {
      const d = decodeJson(LocalModelUpdate, m.value);
      if (isLeft(d)) return dead(d.left);
      const u = d.right;
      const bad = checkTime('LocalModelUpdate', 'sentAt', u.sentAt);
      if (bad) return dead(bad);
      const hash = createHash('sha256').update(Buffer.from(u.weights.data, 'base64')).digest('hex');
      return row({ table: 'local_updates', row: { updateId: u.updateId, clientId: u.clientId, round: u.round, baseVersion: u.baseVersion, sampleCount: u.sampleCount, hash, metrics: u.metrics, sentAt: u.sentAt } });
    }
    case topics.globalModels: {
      const d = decodeJson(GlobalTopicMessage, m.value);
      if (isLeft(d)) return dead(d.left);
      const g = d.right;
      if (g.kind === 'round-opened') return { kind: 'none' }; // rounds come from the aggregator's journal
      const bad = checkTime('GlobalModel', 'createdAt', g.createdAt);
      if (bad) return dead(bad);
      const { lineage } = g;
      return row({ table: 'global_models', row: { version: g.version, hash: g.hash, parentVersion: lineage.parentVersion, round: lineage.round, strategy: lineage.strategy, updates: lineage.updates, createdAt: g.createdAt } });
    }
    case topics.journal: {
      const service = m.key === null ? undefined : roundEventKeys[m.key];
      if (service === undefined) return { kind: 'none' };
      const d = decodeJson(JournalEnvelope, m.value);
      if (isLeft(d)) return dead(d.left);
      const e = d.right;
      const bad = checkTime('JournalEnvelope', 'timestamp', e.timestamp);
      if (bad) return dead(bad);
      const data = e.data as { round?: unknown } | null;
      const round = data !== null && typeof data === 'object' && typeof data.round === 'number' && Number.isInteger(data.round) ? data.round : null;
      return row({ table: 'round_events', row: { service, seq: e.seq, type: e.type, round, data: e.data, at: e.timestamp } });
    }
    default:
      return dead(`the sink does not read topic ${m.topic}`);
  }
}
