import type { CommandSpec } from './args';
import type { Config } from '../config';
import { createKafkaJournal } from '../infra/journal/kafka-journal';
import { createFileJournal } from '../infra/journal/file-journal';
import { fetchJson } from '../infra/http/inspection-server';
import { jsonDiff, replayRound } from '../actors/aggregator/replay';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const replaySpec: CommandSpec = {
  name: 'flead replay',
  summary: 'Rebuild a service\'s actor state from its journal (Kafka in the local profile), print it as JSON, and optionally diff it with a live service.',
  options: [
    { name: 'service', type: 'string', required: true, choices: ['aggregator'], description: 'whose journal to replay' },
    { name: 'until-seq', type: 'int', description: 'stop after this journal sequence number' },
    { name: 'until-time', type: 'time', description: 'stop after the last event at or before this time (ISO-8601 or epoch ms)' },
    { name: 'compare', type: 'url', description: 'inspection endpoint of the live service, e.g. http://127.0.0.1:8090: exit 0 when equal, 1 with the differences' },
    { name: 'profile', type: 'string', choices: ['local', 'embedded'], description: 'read the Kafka journal (local) or the on-disk one (embedded)', env: 'FLEAD_PROFILE' },
  ],
  conflicts: [['until-seq', 'until-time']],
};

export async function runReplay(values: Record<string, unknown>, config: Config): Promise<number> {
  const service = values.service as string;
  // A reader needs no writer identity; a fresh one so the live service's writer is never fenced.
  const journal = config.profile === 'embedded'
    ? await createFileJournal(path.join(config.dataDir, 'journal'), { readOnly: true })
    : await createKafkaJournal({ brokers: config.kafkaBrokers, writerId: `replay-${randomBytes(4).toString('hex')}`, journalTopic: config.topics.journal, snapshotTopic: config.topics.snapshots });
  try {
    const until = { untilSeq: values['until-seq'] as number | undefined, untilTime: values['until-time'] as number | undefined };
    const replayed = await replayRound(journal, service, until);
    process.stdout.write(`${JSON.stringify({ service, journal: journal.describe, ...replayed }, null, 2)}\n`);
    const url = values.compare as string | undefined;
    if (!url) return 0;
    const live = await fetchJson(`${url.replace(/\/$/, '')}/actors/${replayed.path}`);
    if (live.status !== 200) {
      process.stderr.write(`flead replay: ${url} answered ${live.status} for /actors/${replayed.path}: ${JSON.stringify(live.body)}\n`);
      return 1;
    }
    const body = live.body as { info: { seq: number }; state: unknown };
    const diffs = jsonDiff(replayed.state, body.state);
    if (body.info.seq !== replayed.seq) diffs.unshift(`journal sequence number: replayed ${replayed.seq} ≠ live ${body.info.seq}`);
    if (diffs.length === 0) {
      process.stderr.write(`flead replay: replayed state of ${replayed.path} at seq ${replayed.seq} equals the live state\n`);
      return 0;
    }
    process.stderr.write(`flead replay: ${diffs.length} difference(s) between replayed (left) and live (right) state of ${replayed.path}:\n${diffs.map((d) => `  ${d}`).join('\n')}\n`);
    return 1;
  } finally {
    await journal.close();
  }
}
