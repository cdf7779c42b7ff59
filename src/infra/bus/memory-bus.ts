/**
 * The in-process adapter of the Bus port: for unit tests and the embedded profile.
 *
 * Topics have partitions; a keyed message goes to `murmur2(key) % partitions` exactly as the Java client and
 * the Kafka adapter place it, a null key round-robin. Consumer groups hold committed offsets; each member
 * gets a round-robin share of the partitions and handles one partition's batch at a time. A batch is
 * committed after the handler resolves; a throw redelivers it after a short backoff. A rebalance (member
 * joins or leaves, topic created) waits for in-flight batches to finish, so with no failures a group sees
 * every message exactly once. So a handler must not `subscribe` to, or `stop`, its own group (it would wait
 * for itself); publishing from a handler is fine.
 *
 * With `dir`, topics, messages and committed offsets are durable: append-only JSON-lines files under
 * `dir/topics/<topic>/` and `dir/groups/<group>.log` (see memory-bus-disk.ts), loaded on start-up (a torn last
 * line from a crash is dropped). One process at a time may open a directory. Compacted topics keep every record
 * (compaction is an optimisation; readers must tolerate the history).
 *
 * Retention (`retainMessages`): beyond it the oldest messages of a partition are let go, from memory and, in
 * whole segments, from disk, once every group has consumed them: every group with a member here and every
 * group with committed offsets on disk (so a service that subscribes a moment after the producer started loses
 * nothing), except `transient` groups once they stopped. A group that begins later starts at the oldest kept
 * message, like a Kafka consumer after retention. Compacted topics and `keepTopics` are never let go.
 *
 * Idempotent publish (the journal's transactional outbox, see `journal/port.ts`): a message with a
 * `flead-outbox-id` header whose id is already stored on that topic (or earlier in the same publish) is
 * dropped silently, so an outbox relayed again after a failure or a crash is stored once. The ids are kept in
 * a set per topic, rebuilt from the stored messages on open (durable across reopen with `dir`).
 */
import { InfraError } from '../errors';
import { outboxIdHeader } from '../journal/port';
import { stripUndefined } from '../objects';
import type { Bus, BusMessage, OutgoingMessage, SubscribeOptions, Subscription, TopicPartitions } from './port';
import { DiskStore, markLetGo, markedStored, tpKey, type Stored, type TopicState } from './memory-bus-disk';
import { partitionForKey } from './partitioner';

export interface MemoryBusOptions {
  /** directory for durable topics and offsets; in memory only when absent */
  dir?: string;
  /** largest message (key + value + headers), like Kafka's message.max.bytes */
  maxMessageBytes?: number;
  /** partitions of a topic created by a publish or subscribe before ensureTopics */
  defaultPartitions?: number;
  /** most messages handed to one eachBatch call */
  maxBatchSize?: number;
  /** first redelivery delay after a throwing handler; doubles up to maxRetryBackoffMs */
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
  /** fsync every append (default false: survives a process crash, not a power cut) */
  fsync?: boolean;
  /** where operational lines go (default: stderr) */
  log?: (line: string) => void;
  /**
   * Messages kept per partition (default: all). Beyond it the oldest are let go once every group has consumed
   * them (see Retention above), from memory and from disk, where whole segments of `segmentMessages` go.
   */
  retainMessages?: number;
  /** messages per on-disk segment (default: a tenth of retainMessages, at least 1; one file when all are kept) */
  segmentMessages?: number;
  /** topics never let go, whatever retainMessages says (the embedded profile's dead letters: their only copy) */
  keepTopics?: readonly string[];
}

export const memoryBusDefaults = {
  maxMessageBytes: 1024 * 1024,
  defaultPartitions: 1,
  maxBatchSize: 500,
  retryBackoffMs: 50,
  maxRetryBackoffMs: 2000,
  fsync: false,
  retainMessages: Infinity,
} as const;

type TP = { topic: string; partition: number };
interface Member {
  options: SubscribeOptions;
  /** partition lengths when it subscribed: where `fromBeginning: false` starts */
  startOffsets: Map<string, number>;
  assigned: TP[];
  cursor: number;
  stopped: boolean;
  busy: Promise<void>;
  loop: Promise<void>;
  failures: number;
}
interface Group {
  id: string;
  committed: Map<string, number>;
  members: Member[];
  /** SubscribeOptions.transient: offsets not on disk, and no hold on retention once its members stopped */
  transient: boolean;
  pendingRebalances: number;
  chain: Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Wakes every waiter when anything changes (publish, rebalance, stop). */
class Signal {
  private resolve: () => void = () => undefined;
  private next = this.fresh();
  private fresh(): Promise<void> {
    return new Promise<void>((r) => {
      this.resolve = r;
    });
  }
  wait(): Promise<void> {
    return this.next;
  }
  notify(): void {
    const r = this.resolve;
    this.next = this.fresh();
    r();
  }
}

export function createMemoryBus(opts: MemoryBusOptions = {}): Bus {
  const cfg = { ...memoryBusDefaults, ...stripUndefined(opts) };
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const keepTopics = new Set(opts.keepTopics ?? []);
  const segmentMessages = opts.segmentMessages ?? (Number.isFinite(cfg.retainMessages) ? Math.max(1, Math.ceil(cfg.retainMessages / 10)) : Infinity);
  const store = opts.dir ? new DiskStore(opts.dir, cfg.fsync, segmentMessages) : null;
  const topics = new Map<string, TopicState>(store?.loadTopics() ?? []);
  const groups = new Map<string, Group>();
  const signal = new Signal();
  let roundRobin = 0;
  let closed = false;

  const checkOpen = (what: string): void => {
    if (closed) throw new InfraError('closed', `memory-bus: ${what} after close()`, false);
  };

  function group(id: string, transient = false): Group {
    let g = groups.get(id);
    if (!g) {
      g = { id, committed: store?.loadOffsets(id) ?? new Map(), members: [], transient, pendingRebalances: 0, chain: Promise.resolve() };
      groups.set(id, g);
    }
    return g;
  }
  // every group with offsets on disk holds retention from the start, subscribed or not yet
  for (const id of store?.groupIds() ?? []) group(id);

  function createTopic(topic: string, partitions: number, compacted: boolean): TopicState {
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new Error(`memory-bus: topic ${topic} needs a positive integer of partitions, got ${partitions}`);
    }
    const t: TopicState = { partitions: Array.from({ length: partitions }, () => []), bases: Array.from({ length: partitions }, () => 0), compacted, outboxIds: new Set(), outboxMarks: new Map() };
    topics.set(topic, t);
    store?.createTopic(topic, partitions, compacted);
    // members already subscribed to it get its partitions (not awaited: a handler may be the caller)
    for (const g of groups.values()) {
      if (g.members.some((m) => m.options.topics.includes(topic))) void rebalance(g);
    }
    return t;
  }

  /** Waits for in-flight batches of the group, then deals its partitions round-robin to the members. */
  function rebalance(g: Group): Promise<void> {
    g.pendingRebalances += 1;
    const run = g.chain.then(async () => {
      await Promise.all(g.members.map((m) => m.busy));
      assign(g);
    });
    g.chain = run.catch(() => undefined);
    return run
      .catch((e: unknown) => log(`memory-bus: rebalance of group ${g.id} failed: ${(e as Error).message}`))
      .finally(() => {
        g.pendingRebalances -= 1;
        signal.notify();
      });
  }

  function assign(g: Group): void {
    const members = g.members.filter((m) => !m.stopped);
    for (const m of members) m.assigned = [];
    const names = [...new Set(members.flatMap((m) => m.options.topics))].filter((t) => topics.has(t)).sort();
    let next = 0;
    for (const topic of names) {
      const eligible = members.filter((m) => m.options.topics.includes(topic));
      for (let partition = 0; partition < topics.get(topic)!.partitions.length; partition++) {
        const owner = eligible[next++ % eligible.length]!;
        owner.assigned.push({ topic, partition });
        const key = tpKey(topic, partition);
        if (!g.committed.has(key)) {
          const start = owner.options.fromBeginning === false ? (owner.startOffsets.get(key) ?? 0) : 0;
          commit(g, topic, partition, start);
        }
      }
    }
    for (const m of members) {
      try {
        m.options.onAssignment?.(m.assigned.map((tp) => ({ ...tp })));
      } catch (e) {
        log(`memory-bus: onAssignment of group ${g.id} threw: ${(e as Error).message}`);
      }
    }
  }

  function commit(g: Group, topic: string, partition: number, next: number): void {
    g.committed.set(tpKey(topic, partition), next);
    if (!g.transient) store?.commit(g.id, topic, partition, next);
    // a group catching up after the last publish lets go too (retention otherwise waits for the next publish)
    const t = topics.get(topic);
    if (t && t.partitions[partition]!.length > cfg.retainMessages * 1.1) letGo(topic, t, partition);
  }

  function nextBatch(g: Group, m: Member): { tp: TP; from: number; messages: BusMessage[] } | null {
    for (let i = 0; i < m.assigned.length; i++) {
      const idx = (m.cursor + i) % m.assigned.length;
      const tp = m.assigned[idx]!;
      const t = topics.get(tp.topic)!;
      const records = t.partitions[tp.partition]!;
      const base = t.bases[tp.partition]!;
      const from = Math.max(g.committed.get(tpKey(tp.topic, tp.partition)) ?? 0, base); // let go before: the oldest kept
      if (from - base < records.length) {
        m.cursor = idx + 1;
        const messages = records.slice(from - base, from - base + cfg.maxBatchSize).map((s, j): BusMessage => ({
          topic: tp.topic,
          partition: tp.partition,
          offset: String(from + j),
          key: s.key,
          value: s.value,
          headers: { ...s.headers },
          timestamp: s.timestamp,
        }));
        return { tp, from, messages };
      }
    }
    return null;
  }

  async function handle(g: Group, m: Member, batch: { tp: TP; from: number; messages: BusMessage[] }): Promise<void> {
    const { tp, from, messages } = batch;
    try {
      await m.options.eachBatch(messages);
    } catch (e) {
      m.failures += 1;
      const delay = Math.min(cfg.retryBackoffMs * 2 ** Math.min(m.failures - 1, 16), cfg.maxRetryBackoffMs);
      log(
        `memory-bus: group ${g.id}: handler failed on ${tp.topic}[${tp.partition}] batch of ${messages.length} ` +
          `(offsets ${from}..${from + messages.length - 1}); not committed, redelivering in ${delay} ms ` +
          `(${m.failures} consecutive failure(s)): ${(e as Error)?.message ?? String(e)}`,
      );
      await sleep(delay);
      return;
    }
    m.failures = 0;
    commit(g, tp.topic, tp.partition, from + messages.length);
  }

  async function runMember(g: Group, m: Member): Promise<void> {
    while (!m.stopped) {
      const woken = signal.wait(); // taken before looking, so no change is missed
      const batch = g.pendingRebalances === 0 ? nextBatch(g, m) : null;
      if (batch) {
        const done = handle(g, m, batch);
        m.busy = done;
        await done;
        m.busy = Promise.resolve();
      } else {
        await woken;
      }
    }
  }

  /** Lets the oldest messages of a partition go, down to retainMessages, but none a group has not consumed. */
  function letGo(topic: string, t: TopicState, partition: number): void {
    if (t.compacted || keepTopics.has(topic)) return;
    const records = t.partitions[partition]!;
    const base = t.bases[partition]!;
    let floor = base + records.length;
    for (const g of groups.values()) {
      const c = g.committed.get(tpKey(topic, partition));
      if (c !== undefined) floor = Math.min(floor, c);
    }
    const drop = Math.min(records.length - cfg.retainMessages, floor - base);
    // in steps of a tenth of the limit at least: behind a slow group, not an O(n) splice at every publish
    if (drop < Math.max(1, cfg.retainMessages * 0.1)) return;
    for (const s of records.splice(0, drop)) {
      const id = s.headers[outboxIdHeader];
      if (id !== undefined) {
        t.outboxIds.delete(id);
        markLetGo(t.outboxMarks, id);
      }
    }
    t.bases[partition] = base + drop;
    store?.letGo(topic, partition, base + drop, t.outboxMarks);
  }

  async function publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    checkOpen(`publish to ${topic}`);
    const prepared = messages.map((m) => {
      const value = typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : Buffer.from(m.value);
      const headers = { ...(m.headers ?? {}) };
      const size =
        value.length +
        (m.key === null ? 0 : Buffer.byteLength(m.key)) +
        Object.entries(headers).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
      if (size > cfg.maxMessageBytes) {
        throw new InfraError(
          'too-large',
          `memory-bus: a message of ${size} bytes for topic ${topic} is over the ${cfg.maxMessageBytes}-byte limit ` +
            `(maxMessageBytes); keep large payloads out of the bus and send a pointer instead`,
          false,
        );
      }
      return { key: m.key, value, headers };
    });
    const t = topics.get(topic) ?? createTopic(topic, cfg.defaultPartitions, false);
    const now = Date.now();
    for (const m of prepared) {
      const id = m.headers[outboxIdHeader];
      if (id !== undefined && (t.outboxIds.has(id) || markedStored(t.outboxMarks, id))) continue; // already stored: a relayed outbox message seen again
      const partition = m.key === null ? roundRobin++ % t.partitions.length : partitionForKey(m.key, t.partitions.length);
      const stored: Stored = { ...m, timestamp: now };
      store?.append(topic, partition, stored, t.bases[partition]! + t.partitions[partition]!.length);
      t.partitions[partition]!.push(stored);
      if (id !== undefined) t.outboxIds.add(id);
      if (t.partitions[partition]!.length > cfg.retainMessages * 1.1) letGo(topic, t, partition);
    }
    signal.notify();
  }

  async function subscribe(options: SubscribeOptions): Promise<Subscription> {
    checkOpen(`subscribe of group ${options.groupId}`);
    if (options.topics.length === 0) throw new Error(`memory-bus: group ${options.groupId} subscribed to no topic`);
    const startOffsets = new Map<string, number>();
    for (const topic of options.topics) {
      const t = topics.get(topic);
      t?.partitions.forEach((p, i) => startOffsets.set(tpKey(topic, i), t.bases[i]! + p.length));
    }
    const g = group(options.groupId, options.transient === true);
    const m: Member = {
      options: { ...options, topics: [...options.topics] },
      startOffsets,
      assigned: [],
      cursor: 0,
      stopped: false,
      busy: Promise.resolve(),
      loop: Promise.resolve(),
      failures: 0,
    };
    g.members.push(m);
    const joined = rebalance(g);
    m.loop = runMember(g, m);
    await joined;

    let stopping: Promise<void> | null = null;
    return {
      stop: () => {
        stopping ??= (async () => {
          m.stopped = true;
          signal.notify();
          await m.loop;
          g.members = g.members.filter((x) => x !== m);
          if (g.members.length > 0) await rebalance(g);
          else if (g.transient) groups.delete(g.id);
        })();
        return stopping;
      },
    };
  }

  async function ensureTopics(list: ReadonlyArray<{ topic: string; partitions: number; compacted?: boolean }>): Promise<TopicPartitions> {
    checkOpen('ensureTopics');
    for (const t of list) if (!topics.has(t.topic)) createTopic(t.topic, t.partitions, t.compacted ?? false);
    return list.map((t) => ({ topic: t.topic, partitions: topics.get(t.topic)!.partitions.length }));
  }

  async function partitionCount(topic: string): Promise<number | null> {
    checkOpen('partitionCount');
    return topics.get(topic)?.partitions.length ?? null;
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    const members = [...groups.values()].flatMap((g) => g.members);
    for (const m of members) m.stopped = true;
    signal.notify();
    await Promise.all(members.map((m) => m.loop));
    store?.close();
  }

  return {
    describe: opts.dir ? `memory (durable under ${opts.dir})` : 'memory',
    publish,
    subscribe,
    ensureTopics,
    partitionCount,
    close,
  };
}
