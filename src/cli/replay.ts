import type { CommandSpec } from './args';
import type { Config } from '../config';
import { createKafkaJournal } from '../infra/journal/kafka-journal';
import { createFileJournal } from '../infra/journal/file-journal';
import type { Journal } from '../infra/journal/port';
import { fetchJson } from '../infra/http/inspection-server';
import { decodeRoundEvent, replayRound } from '../actors/aggregator/replay';
import { roundKey } from '../actors/aggregator/round.state';
import { decodeSourceEvent, journaledPart, replaySources } from '../actors/producer/replay';
import { sourceKeyPrefix } from '../actors/producer/source.decider';
import { actorIds, jsonDiff, type Replayed, type Until } from '../actors/runtime/replay';
import { deviceKeyPrefix } from '../actors/trainer/device.state';
import { decodeDeviceEvent, replayDevices } from '../actors/trainer/replay';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const replaySpec: CommandSpec = {
  name: 'flead replay',
  summary: 'Rebuild a service\'s actors (aggregator round, producer sources, trainer devices) from its journal (Kafka in the local profile), print their state as JSON or their events, and optionally diff the state with a live service.',
  options: [
    { name: 'service', type: 'string', required: true, choices: ['aggregator', 'producer', 'trainer'], description: 'whose journal to replay' },
    { name: 'actor', type: 'string', metavar: 'id', description: 'one actor: a device id (trainer) or a source id (producer); default: every one with events' },
    { name: 'until-seq', type: 'int', min: 1, description: 'stop after this journal sequence number (each actor numbers its own: with --actor for the producer and the trainer)' },
    { name: 'until-time', type: 'time', description: 'stop after the last event at or before this time' },
    { name: 'events', type: 'boolean', description: 'print the events themselves instead of the state, one JSON line each ({key, seq, at, type, data}): an audit trail' },
    { name: 'compare', type: 'url', description: 'inspection endpoint of the live service, e.g. http://127.0.0.1:8090: exit 0 when equal, 1 with the differences' },
    { name: 'profile', type: 'string', choices: ['local', 'embedded'], description: 'read the Kafka journal (local) or the on-disk one (embedded)', env: 'FLEAD_PROFILE' },
  ],
  conflicts: [['until-seq', 'until-time'], ['events', 'compare']],
};

type Service = 'aggregator' | 'producer' | 'trainer';

/**
 * Where a service's actors are journaled (the aggregator's one key; the producer's and trainer's key prefix, the
 * actor id following), their events' decoder, and what of their live state the journal holds.
 */
const kinds: Record<Service, { prefix: (service: string) => string; decode: (data: unknown) => unknown; journaled: (live: unknown) => unknown }> = {
  aggregator: { prefix: roundKey, decode: decodeRoundEvent, journaled: (live) => live },
  producer: { prefix: sourceKeyPrefix, decode: decodeSourceEvent, journaled: journaledPart },
  trainer: { prefix: deviceKeyPrefix, decode: decodeDeviceEvent, journaled: (live) => live },
};

const write = (line: string): Promise<void> => new Promise((resolve) => { if (process.stdout.write(line)) resolve(); else process.stdout.once('drain', resolve); });

/** --events: every event of the actors, checked against its type, as JSON lines; the number of events. */
async function printEvents(journal: Journal, service: Service, actor: string | undefined, until: Until): Promise<number> {
  const kind = kinds[service];
  const keys = service === 'aggregator' ? [kind.prefix(service)] : (await actorIds(journal, kind.prefix(service), actor)).map((id) => `${kind.prefix(service)}${id}`);
  let n = 0;
  for (const key of keys) {
    for await (const env of journal.read(key, { afterSeq: 0, ...until })) {
      await write(`${JSON.stringify({ key, seq: env.seq, at: new Date(env.timestamp).toISOString(), type: env.type, data: kind.decode(env.data) })}\n`);
      n++;
    }
  }
  return n;
}

/** ' at or before <time>' / ' up to seq <n>' when the user set a point, else ''. */
const untilText = (u: Until): string =>
  u.untilTime !== undefined ? ` at or before ${new Date(u.untilTime).toISOString()}` : u.untilSeq !== undefined ? ` up to seq ${u.untilSeq}` : '';

async function replay(journal: Journal, config: Config, service: Service, actor: string | undefined, until: Until): Promise<Array<Replayed<unknown>>> {
  switch (service) {
    case 'aggregator': return [await replayRound(journal, service, until)];
    case 'producer': return replaySources(journal, service, { ...until, sourceId: actor });
    case 'trainer': return replayDevices(journal, config, service, { ...until, deviceId: actor });
  }
}

class Unreachable extends Error {}

/**
 * Diffs one replayed actor with the live one: [] when equal, null when the endpoint has no such actor. A running
 * service moves on while the journal is replayed: when the live actor is at another sequence number, `at`
 * replays it again up to exactly that one (when no --until-… fixed the point), so both sides are compared at
 * the same event.
 */
async function compareWith(url: string, r: Replayed<unknown>, journaled: (live: unknown) => unknown, at?: (seq: number) => Promise<Replayed<unknown>>): Promise<{ diffs: string[]; seq: number } | null> {
  let live: Awaited<ReturnType<typeof fetchJson>>;
  try {
    live = await fetchJson(`${url.replace(/\/$/, '')}/actors/${r.path}`);
  } catch (e) {
    throw new Unreachable(`flead replay: cannot compare with ${url}: ${(e as Error).message}`);
  }
  if (live.status === 404) return null;
  if (live.status !== 200) return { diffs: [`${url} answered ${live.status} for /actors/${r.path}: ${JSON.stringify(live.body)}`], seq: r.seq };
  const body = live.body as { info: { seq: number }; state: unknown };
  if (body.info.seq !== r.seq && at) r = await at(body.info.seq);
  const diffs = jsonDiff(r.state, journaled(body.state));
  if (body.info.seq !== r.seq) diffs.unshift(`journal sequence number: replayed ${r.seq} ≠ live ${body.info.seq}`);
  return { diffs, seq: r.seq };
}

export async function runReplay(values: Record<string, unknown>, config: Config): Promise<number> {
  const service = values.service as Service;
  const actor = values.actor as string | undefined;
  const until: Until = { untilSeq: values['until-seq'] as number | undefined, untilTime: values['until-time'] as number | undefined };
  if (service === 'aggregator' && actor !== undefined) {
    process.stderr.write('flead replay: --actor is for the producer and the trainer (the aggregator has one actor, its round)\n');
    return 2;
  }
  if (service !== 'aggregator' && actor === undefined && until.untilSeq !== undefined) {
    process.stderr.write(`flead replay: --until-seq needs --actor for the ${service} (each of its actors numbers its own events); or use --until-time\n`);
    return 2;
  }
  // A reader needs no writer identity; a fresh one so the live service's writer is never fenced.
  const journal = config.profile === 'embedded'
    ? await createFileJournal(path.join(config.dataDir, 'journal'), { readOnly: true })
    : await createKafkaJournal({ brokers: config.kafkaBrokers, writerId: `replay-${randomBytes(4).toString('hex')}`, journalTopic: config.topics.journal, snapshotTopic: config.topics.snapshots });
  try {
    if (values.events === true) {
      const n = await printEvents(journal, service, actor, until);
      if (n === 0) process.stderr.write(`flead replay: no events of the ${service}${actor === undefined ? '' : ` actor ${actor}`}${untilText(until)} in ${journal.describe}\n`);
      return n === 0 && actor !== undefined ? 1 : 0;
    }
    const replayed = await replay(journal, config, service, actor, until);
    if (actor !== undefined && replayed[0]!.seq === 0) {
      const known = await actorIds(journal, kinds[service].prefix(service));
      process.stderr.write(`flead replay: no events of ${replayed[0]!.key}${untilText(until)} in ${journal.describe}; ${service} actors with events: ${known.length ? known.slice(0, 20).join(', ') + (known.length > 20 ? `, … (${known.length})` : '') : 'none'}\n`);
      return 1;
    }
    const single = service === 'aggregator' || actor !== undefined;
    if (replayed.every((r) => r.seq === 0)) {
      process.stderr.write(untilText(until)
        ? `flead replay: ${journal.describe} holds no events of the ${service}${untilText(until)}: the state printed is the initial one (without --until-… the journal's later events count)\n`
        : `flead replay: ${journal.describe} holds no events of the ${service}: is this the service's FLEAD_PROFILE, FLEAD_TOPIC_PREFIX / KAFKA_BROKERS or FLEAD_DATA_DIR?\n`);
    }
    process.stdout.write(`${JSON.stringify(single ? { service, journal: journal.describe, ...replayed[0] } : { service, journal: journal.describe, actors: replayed }, null, 2)}\n`);
    const url = values.compare as string | undefined;
    if (!url) return 0;
    if (replayed.length === 0) {
      process.stderr.write(`flead replay: nothing to compare with ${url}: no ${service} actor has events in ${journal.describe}\n`);
      return 1;
    }
    let differing = 0;
    const absent: string[] = [];
    let comparedAt = replayed[0]!.seq;
    const fixed = until.untilSeq !== undefined || until.untilTime !== undefined;
    for (const r of replayed) {
      const id = r.key.slice(kinds[service].prefix(service).length);
      const at = fixed ? undefined : async (seq: number) => (await replay(journal, config, service, service === 'aggregator' ? undefined : id, { untilSeq: seq }))[0]!;
      let compared: { diffs: string[]; seq: number } | null;
      try {
        compared = await compareWith(url, r, kinds[service].journaled, at);
      } catch (e) {
        if (!(e instanceof Unreachable)) throw e;
        process.stderr.write(`${e.message}\n`);
        return 1;
      }
      if (compared === null) { absent.push(r.path); continue; }
      const { diffs } = compared;
      if (single) comparedAt = compared.seq;
      if (diffs.length === 0) continue;
      differing++;
      process.stderr.write(`flead replay: ${diffs.length} difference(s) between replayed (left) and live (right) state of ${r.path}:\n${diffs.map((d) => `  ${d}`).join('\n')}\n`);
    }
    // Several processes of a service (trainers in one group) each run some of the actors: an actor absent from
    // this endpoint is listed, not counted as a difference, unless it is all that was asked for.
    if (absent.length) {
      process.stderr.write(`flead replay: ${absent.length} of ${replayed.length} replayed actors are not on ${url} (another process of the service may run them): ${absent.join(', ')}\n`);
    }
    const compared = replayed.length - absent.length;
    if (compared === 0) return 1;
    if (differing === 0) {
      const what = single ? `state of ${replayed[0]!.path} at seq ${comparedAt}` : `states of the ${compared} ${service} actors on ${url}`;
      process.stderr.write(`flead replay: replayed ${what} ${single ? 'equals' : 'equal'} the live state\n`);
      return 0;
    }
    if (!single) process.stderr.write(`flead replay: ${differing} of the ${compared} ${service} actors on ${url} differ from the live state\n`);
    return 1;
  } finally {
    await journal.close();
  }
}
