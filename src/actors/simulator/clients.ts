/**
 * Simulated federated clients for the aggregator-only demo and tests: each client has its own target
 * parameter vector (non-IID) and answers every round notice with an update half-way from the base model to
 * its target, plus seeded noise. The global model should converge to the sample-weighted mean of the targets.
 * Deterministic: the update of client c in round r depends only on (seed, c, r, base weights).
 */
import type { Bus, Subscription } from '../../infra/bus/port';
import type { Logger } from '../../infra/log';
import { decodeJson, encodeJson } from '../../protocols/codec';
import { GlobalTopicMessage, LocalModelUpdate, type RoundNotice } from '../../protocols/models';
import type { TopicSet } from '../../protocols/topics';
import { decodeWeights, encodeWeights, parameterCount, type LayerShape } from '../../protocols/weights';
import { mulberry32 } from '../aggregator/initial-model';
import { isLeft } from 'fp-ts/Either';

export interface SimulatedClientsOptions {
  clients: number;
  seed: number;
  bus: Bus;
  topics: TopicSet;
  groupId: string;
  log: Logger;
  clock?: () => number;
  /** called after the updates for a round were published */
  onRound?: (round: number) => void;
}

const hashString = (s: string): number => { let h = 2166136261; for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619); return h >>> 0; };

export function clientTarget(layers: readonly LayerShape[], seed: number, client: number): Float32Array {
  const rand = mulberry32(seed * 7919 + client);
  return Float32Array.from({ length: parameterCount(layers) }, () => rand() * 2 - 1);
}

export const clientSamples = (client: number): number => 100 + 50 * client;

export function simulatedUpdate(notice: RoundNotice, client: number, seed: number, now: number): LocalModelUpdate {
  const decoded = decodeWeights(notice.model.weights);
  if (!decoded.ok) throw new Error(decoded.reason);
  const base = decoded.flat;
  const target = clientTarget(notice.model.weights.layers, seed, client);
  const rand = mulberry32(hashString(`${seed}/${client}/${notice.round}`));
  const next = base.map((b, i) => b + 0.5 * (target[i]! - b) + (rand() - 0.5) * 0.01);
  return {
    updateId: `sim-${client}-r${notice.round}`,
    clientId: `sim-${client}`,
    round: notice.round,
    baseVersion: notice.baseVersion,
    sampleCount: clientSamples(client),
    weights: encodeWeights(notice.model.weights.layers, next),
    metrics: { loss: Number(Math.abs(next[0]! - target[0]!).toFixed(6)) },
    sentAt: now,
  };
}

export async function startSimulatedClients(opts: SimulatedClientsOptions): Promise<Subscription> {
  const clock = opts.clock ?? Date.now;
  const answered = new Set<number>();
  return opts.bus.subscribe({
    groupId: opts.groupId,
    topics: [opts.topics.globalModels],
    fromBeginning: true,
    eachBatch: async (messages) => {
      for (const m of messages) {
        const decoded = decodeJson(GlobalTopicMessage, m.value);
        if (isLeft(decoded)) { opts.log.warn(`ignoring a message on ${m.topic}: ${decoded.left}`); continue; }
        const msg = decoded.right;
        if (msg.kind !== 'round-opened' || answered.has(msg.round)) continue;
        answered.add(msg.round);
        const updates = Array.from({ length: opts.clients }, (_, i) => simulatedUpdate(msg, i + 1, opts.seed, clock()));
        await opts.bus.publish(opts.topics.localUpdates, updates.map((u) => ({ key: u.clientId, value: encodeJson(LocalModelUpdate, u) })));
        opts.log.info(`round ${msg.round}: ${updates.length} simulated clients sent updates on version ${msg.baseVersion}`);
        opts.onRound?.(msg.round);
      }
    },
  });
}
