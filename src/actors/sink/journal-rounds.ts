/**
 * Round events for the embedded profile's database. In the local profile the sink reads the aggregator's
 * events from the journal topic; the embedded journal is files, not a bus topic, so they are copied from it
 * into `round_events` instead: the same row mapping (`rowOf`, as if read from the journal topic), exactly once
 * through the same `sink_offsets` position (topic = the journal topic's name, partition = the key's index in
 * `roundEventKeys`, offset = the event's seq). Safe to run again at any time: it continues after the last seq it applied.
 */
import type { TopicSet } from '../../protocols/topics';
import { encodeJson } from '../../protocols/codec';
import { JournalEnvelope } from '../../protocols/journal';
import type { Journal } from '../../infra/journal/port';
import type { SinkRow, SinkStore } from '../../infra/db/sink-store';
import { roundEventKeys, rowOf } from './rows';

/** Events per database transaction. */
export const journalRoundsBatch = 500;

/** Copy the round events not yet in the database; resolves to the rows inserted. Events the mapping refuses are skipped (counted in `refused`). */
export async function copyJournalRounds(journal: Journal, store: SinkStore, topics: TopicSet, consumer: string): Promise<{ inserted: number; refused: number }> {
  let inserted = 0;
  let refused = 0;
  for (const [partition, key] of Object.keys(roundEventKeys).entries()) {
    const position = (await store.offsets(consumer)).find((p) => p.topic === topics.journal && p.partition === partition)?.nextOffset ?? 1n;
    let batch: Array<{ offset: bigint; row: SinkRow }> = [];
    let next = position;
    const flush = async () => {
      const r = await store.apply({ consumer, topic: topics.journal, rows: batch, nextOffset: next, partition });
      inserted += r.inserted.round_events;
      batch = [];
    };
    for await (const e of journal.read(key, { afterSeq: Number(position) - 1 })) {
      const out = rowOf(topics, { topic: topics.journal, partition, offset: String(e.seq), key, value: Buffer.from(encodeJson(JournalEnvelope, e)), headers: {}, timestamp: e.timestamp });
      if (out.kind === 'row') batch.push({ offset: BigInt(e.seq), row: out.row });
      else if (out.kind === 'dead-letter') refused++;
      next = BigInt(e.seq) + 1n;
      if (batch.length >= journalRoundsBatch) await flush();
    }
    if (next > position) await flush();
  }
  return { inserted, refused };
}
