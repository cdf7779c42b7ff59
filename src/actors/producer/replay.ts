/**
 * Replay of a producer's source actors (see runtime/replay.ts): each source's position and counts. The
 * inspection endpoint shows a source with its `total` too, which is the data set's, not the journal's.
 */
import type { Journal } from '../../infra/journal/port';
import { decodeOrThrow } from '../runtime/decode';
import { actorIds, replayKey, type Replayed, type Until } from '../runtime/replay';
import { SourceEvent, sourceDecider, sourceKeyPrefix, type SourceState } from './source.decider';

export const decodeSourceEvent = (data: unknown): SourceEvent => decodeOrThrow(SourceEvent, data);

/** Every source with events in the journal (sorted by id), or the one asked for. */
export async function replaySources(journal: Journal, service: string, opts: Until & { sourceId?: string } = {}): Promise<Array<Replayed<SourceState>>> {
  const prefix = sourceKeyPrefix(service);
  const out: Array<Replayed<SourceState>> = [];
  for (const id of await actorIds(journal, prefix, opts.sourceId)) {
    const r = await replayKey(journal, `${prefix}${id}`, sourceDecider.initialState, sourceDecider.evolve, decodeSourceEvent, opts);
    out.push({ key: `${prefix}${id}`, path: `${service}/${id}`, ...r });
  }
  return out;
}

/** The part of a source's live summary that the journal holds (without the data set's `total`). */
export const journaledPart = (live: unknown): unknown => {
  if (live === null || typeof live !== 'object') return live;
  const { total: _total, ...rest } = live as Record<string, unknown>;
  return rest;
};
