/**
 * Wiring of a producer source actor: the decider plus its pump. The pump reads the source from the
 * recorded position, waits on the rate limits, and sends batches; each batch's readings (and dead letters)
 * are the outbox of its BatchPublished event, so they are published if and only if the position advances.
 * After every recovery the pump restarts from the recovered position; an older pump stops at its next batch.
 */
import type { Logger } from '../../infra/log';
import { isBadRow, toSensorReading, type BadRow, type DatasetRow } from '../../infra/datasets/adapter';
import { encodeJson } from '../../protocols/codec';
import { DeadLetter } from '../../protocols/dead-letter';
import { SensorReading } from '../../protocols/readings';
import type { TopicSet } from '../../protocols/topics';
import { decodeOrThrow } from '../runtime/decode';
import { spawnEventSourced, type ActorWiring, type EventSourcedRef } from '../runtime/event-sourced';
import type { Ref } from '../runtime/nact';
import type { TokenBucket } from './rate-limit';
import { dataMismatch, SourceEvent, sourceDecider, sourceKeyPrefix, type OutboxMessage, type SourceCommand, type SourceState } from './source.decider';
import type { ProducerSource } from './sources';

export interface SourceActorDeps extends ActorWiring {
  service: string;
  source: ProducerSource;
  topics: TopicSet;
  batchSize: number;
  /** flush a partial batch after this long */
  lingerMs: number;
  total: TokenBucket;
  deviceBucket(deviceId: string): TokenBucket;
  log: Logger;
  clock: () => number;
  onProgress(sourceId: string, state: SourceState): void;
  /** what the source reads, in words (journaled with its digest) */
  origin: string;
  /** the journaled positions count records of other data: the source does not start (the sentence says why) */
  onRefused(sourceId: string, sentence: string): void;
}

export interface SourceActor extends EventSourcedRef<SourceCommand, SourceEvent> {
  /** stop the pump; resolves when its batch in flight (if any) has finished */
  stopPump(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function toOutbox(service: string, topics: TopicSet, records: ReadonlyArray<DatasetRow | BadRow>, now: number): OutboxMessage[] {
  return records.map((r) => {
    if (isBadRow(r)) {
      const letter: DeadLetter = {
        reason: r.reason, service, source: { topic: topics.readings, partition: null, offset: null, file: r.file, line: r.line },
        key: null, raw: Buffer.from(r.raw).toString('base64'), at: now,
      };
      return { topic: topics.deadLetters, key: null, value: encodeJson(DeadLetter, letter) };
    }
    return { topic: topics.readings, key: r.deviceId, value: encodeJson(SensorReading, toSensorReading(r, service)) };
  });
}

export function spawnSourceActor(parent: Ref<unknown>, deps: SourceActorDeps): SourceActor {
  let generation = 0;
  let stopped = false;

  const data = { digest: deps.source.digest, origin: deps.origin, records: deps.source.total };

  async function pump(actor: EventSourcedRef<SourceCommand, SourceEvent>, from: number, mine: number, opened: boolean): Promise<void> {
    const live = () => !stopped && generation === mine;
    if (!opened) await actor.ask({ type: 'Open', ...data, now: deps.clock() }, 120_000);
    let position = from;
    let index = 0;
    let batch: Array<DatasetRow | BadRow> = [];
    let batchStart = deps.clock();
    const flush = async (): Promise<boolean> => {
      if (batch.length === 0) return live();
      if (!live()) return false;
      const bad = batch.filter(isBadRow).length;
      const now = deps.clock();
      const events = await actor.ask({ type: 'RecordBatch', from: position, to: position + batch.length, published: batch.length - bad, bad, outbox: toOutbox(deps.service, deps.topics, batch, now), now }, 120_000);
      if (events.length === 0) return false; // a newer pump took over
      position += batch.length;
      batch = [];
      batchStart = deps.clock();
      return true;
    };
    for await (const r of deps.source.records()) {
      if (index++ < position) continue;
      if (!live()) return;
      if (!isBadRow(r)) {
        const wait = Math.max(deps.total.reserve(1), deps.deviceBucket(r.deviceId).reserve(1));
        if (wait > 0) {
          if (!(await flush())) return;
          await sleep(wait);
        }
      }
      if (batch.length === 0) batchStart = deps.clock();
      batch.push(r);
      if (batch.length >= deps.batchSize || deps.clock() - batchStart >= deps.lingerMs) {
        if (!(await flush())) return;
      }
    }
    if (!(await flush())) return;
    await actor.ask({ type: 'MarkExhausted', position, now: deps.clock() });
  }

  let running: Promise<void> = Promise.resolve();
  const start = (actor: EventSourcedRef<SourceCommand, SourceEvent>, state: SourceState) => {
    const mine = ++generation;
    if (state.exhausted) deps.source.release?.();
    if (state.exhausted || stopped) return;
    running = pump(actor, state.position, mine, (state.data ?? null) !== null).catch((e) => {
      if (generation === mine && !stopped) deps.log.warn(`source ${deps.source.id}: pump stopped (${(e as Error).message}); it restarts with the actor`);
    });
  };

  let self: EventSourcedRef<SourceCommand, SourceEvent> | undefined;
  const actor = spawnEventSourced(parent, {
    kind: 'producer-source',
    name: deps.source.id,
    persistenceKey: `${sourceKeyPrefix(deps.service)}${deps.source.id}`,
    decider: sourceDecider,
    decodeEvent: (d) => decodeOrThrow(SourceEvent, d),
    snapshotEvery: deps.snapshotEvery,
    summarize: (s) => ({ ...s, total: deps.source.total }),
    outbox: (c) => (c.type === 'RecordBatch' ? c.outbox : []),
    effects: (_ctx, events, state) => {
      deps.onProgress(deps.source.id, state);
      if (events.some((e) => e.type === 'SourceExhausted')) deps.log.info(`source ${deps.source.id}: exhausted after ${state.position} records (${state.published} readings, ${state.bad} bad)`);
    },
    onRecovered: (_ctx, state) => {
      const refused = dataMismatch(state, deps.source.id, data);
      if (refused) {
        ++generation; // no pump: not even one started before this recovery
        deps.source.release?.();
        deps.onRefused(deps.source.id, refused);
        return;
      }
      deps.onProgress(deps.source.id, state);
      if (state.position > 0 && !state.exhausted) deps.log.info(`source ${deps.source.id}: resuming at record ${state.position} of ${deps.source.total}`);
      // The pump asks the actor: start it after this handler returns.
      setImmediate(() => start(self!, state));
    },
    policy: deps.policy,
    supervisionLog: deps.supervisionLog,
    registry: deps.registry,
  });
  self = actor;
  return { ...actor, stopPump: () => { stopped = true; generation++; return running; } };
}
