/**
 * The memory bus's durable form (`MemoryBusOptions.dir`): append-only JSON-lines files under `dir/topics/<topic>/`
 * (`meta.json`; each partition's segments: `<partition>.log` from offset 0, `<partition>.<base>.log` from offset
 * <base>; `outbox-marks.json`) and `dir/groups/<group>.log`, loaded on start-up.
 *
 * With a finite `segmentMessages` a partition's log rolls to a new segment every that many messages, and segments
 * whose every message the bus let go (MemoryBusOptions.retainMessages) are deleted; before that the outbox ids of
 * their messages are summed up in `outbox-marks.json` (see `OutboxMarks`), so a relayed outbox message is still
 * recognised once its copy is gone from disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InfraError } from '../errors';
import { outboxIdHeader } from '../journal/port';

export interface Stored {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number;
}
export interface TopicState {
  /** each partition's messages kept in memory, oldest first */
  partitions: Stored[][];
  /** each partition's offset of its first kept message (messages before it were let go: MemoryBusOptions.retainMessages) */
  bases: number[];
  compacted: boolean;
  /** `flead-outbox-id` headers of the kept messages: a message with one of them is not stored again */
  outboxIds: Set<string>;
  /** what the outbox ids of let-go messages said (see `OutboxMarks`) */
  outboxMarks: OutboxMarks;
}

/**
 * The outbox ids (`<journal key>#<first seq>#<index>`, journal/port.ts `outboxId`) of messages let go, summed up
 * per journal key: the highest seq and the indexes let go at it. A key's outboxes are relayed in seq order, each
 * after the one before was stored, so an id of that key with a lower seq was stored; one with that seq was if
 * its index is listed (an outbox cut by a crash may have stored only some of its messages).
 */
export type OutboxMarks = Map<string, { seq: number; indexes: number[] }>;

function parseOutboxId(id: string): { key: string; seq: number; index: number } | null {
  const j = id.lastIndexOf('#');
  const i = j > 0 ? id.lastIndexOf('#', j - 1) : -1;
  if (i <= 0) return null;
  const seq = Number(id.slice(i + 1, j));
  const index = Number(id.slice(j + 1));
  return Number.isSafeInteger(seq) && Number.isSafeInteger(index) ? { key: id.slice(0, i), seq, index } : null;
}

/** Adds the id of a message let go to the marks. */
export function markLetGo(marks: OutboxMarks, id: string): void {
  const o = parseOutboxId(id);
  if (!o) return;
  const m = marks.get(o.key);
  if (!m || o.seq > m.seq) marks.set(o.key, { seq: o.seq, indexes: [o.index] });
  else if (o.seq === m.seq && !m.indexes.includes(o.index)) m.indexes.push(o.index);
}

/** Whether the marks say a message with this outbox id was stored (and let go). */
export function markedStored(marks: OutboxMarks, id: string): boolean {
  const o = parseOutboxId(id);
  const m = o && marks.get(o.key);
  if (!o || !m) return false;
  return o.seq < m.seq || (o.seq === m.seq && m.indexes.includes(o.index));
}

export function outboxIdsOf(partitions: readonly Stored[][]): Set<string> {
  const ids = new Set<string>();
  for (const p of partitions) for (const s of p) if (s.headers[outboxIdHeader] !== undefined) ids.add(s.headers[outboxIdHeader]);
  return ids;
}
/** The key of a topic partition in offset maps. */
export const tpKey = (topic: string, partition: number): string => `${partition}:${topic}`;

/** Append-only JSON-lines files; every line is one record, a torn last line is dropped on load. */
export class DiskStore {
  private readonly fds = new Map<string, number>();
  /** each partition's segment bases, ascending (tpKey) */
  private readonly segments = new Map<string, number[]>();

  constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
    /** messages per segment before the log rolls to a new one (Infinity: one file per partition) */
    private readonly segmentMessages = Infinity,
  ) {
    fs.mkdirSync(path.join(dir, 'topics'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'groups'), { recursive: true });
  }

  private topicDir(topic: string): string {
    return path.join(this.dir, 'topics', encodeURIComponent(topic));
  }

  private groupFile(groupId: string): string {
    return path.join(this.dir, 'groups', `${encodeURIComponent(groupId)}.log`);
  }

  private segmentFile(topic: string, partition: number, base: number): string {
    return path.join(this.topicDir(topic), base === 0 ? `${partition}.log` : `${partition}.${base}.log`);
  }

  private marksFile(topic: string): string {
    return path.join(this.topicDir(topic), 'outbox-marks.json');
  }

  /** Every topic with the messages of its remaining segments (a partition's base is its first segment's). */
  loadTopics(): Array<[string, TopicState]> {
    const out: Array<[string, TopicState]> = [];
    for (const name of fs.readdirSync(path.join(this.dir, 'topics'))) {
      const metaFile = path.join(this.dir, 'topics', name, 'meta.json');
      if (!fs.existsSync(metaFile)) continue; // a crash between mkdir and the meta write: nothing was published
      const topic = decodeURIComponent(name);
      const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { partitions: number; compacted: boolean };
      const files = fs.readdirSync(this.topicDir(topic));
      const bases: number[] = [];
      const partitions = Array.from({ length: meta.partitions }, (_, p) => {
        const segs = files
          .map((f) => /^(\d+)(?:\.(\d+))?\.log$/.exec(f))
          .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) === p)
          .map((m) => Number(m[2] ?? 0))
          .sort((a, b) => a - b);
        if (segs.length === 0) segs.push(0);
        const records: Stored[] = [];
        segs.forEach((base, i) => {
          if (base !== segs[0]! + records.length) {
            throw new InfraError('corrupt', `memory-bus: segment ${this.segmentFile(topic, p, base)} starts at ${base}, but the segments before it end at ${segs[0]! + records.length}`, false);
          }
          for (const r of this.readLines(this.segmentFile(topic, p, base), i === segs.length - 1)) {
            const rec = r as { k: string | null; v: string; h: Record<string, string>; t: number };
            records.push({ key: rec.k, value: Buffer.from(rec.v, 'base64'), headers: rec.h, timestamp: rec.t });
          }
        });
        this.segments.set(tpKey(topic, p), segs);
        bases.push(segs[0]!);
        return records;
      });
      const marks: OutboxMarks = new Map();
      if (fs.existsSync(this.marksFile(topic))) {
        for (const [key, m] of Object.entries(JSON.parse(fs.readFileSync(this.marksFile(topic), 'utf8')) as Record<string, { seq: number; indexes: number[] }>)) marks.set(key, m);
      }
      out.push([topic, { partitions, bases, compacted: meta.compacted, outboxIds: outboxIdsOf(partitions), outboxMarks: marks }]);
    }
    return out;
  }

  /** Groups with a file here (their committed offsets are read by `loadOffsets`). */
  groupIds(): string[] {
    return fs
      .readdirSync(path.join(this.dir, 'groups'))
      .filter((f) => f.endsWith('.log'))
      .map((f) => decodeURIComponent(f.slice(0, -'.log'.length)));
  }

  /** Latest committed offset per partition; the file is rewritten with only those lines. */
  loadOffsets(groupId: string): Map<string, number> {
    const file = this.groupFile(groupId);
    const committed = new Map<string, number>();
    for (const r of this.readLines(file)) {
      const rec = r as { t: string; p: number; o: number };
      committed.set(tpKey(rec.t, rec.p), rec.o);
    }
    if (committed.size > 0) {
      const lines = [...committed].map(([key, o]) => {
        const sep = key.indexOf(':');
        return `${JSON.stringify({ t: key.slice(sep + 1), p: Number(key.slice(0, sep)), o })}\n`;
      });
      fs.writeFileSync(`${file}.tmp`, lines.join(''));
      fs.renameSync(`${file}.tmp`, file);
    }
    return committed;
  }

  createTopic(topic: string, partitions: number, compacted: boolean): void {
    const d = this.topicDir(topic);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'meta.json.tmp'), JSON.stringify({ partitions, compacted }));
    fs.renameSync(path.join(d, 'meta.json.tmp'), path.join(d, 'meta.json'));
    for (let p = 0; p < partitions; p++) {
      this.segments.set(tpKey(topic, p), [0]);
    }
  }

  /** Appends the partition's next message (its offset: `offset`), to a new segment when the last one is full. */
  append(topic: string, partition: number, s: Stored, offset: number): void {
    const segs = this.segments.get(tpKey(topic, partition))!;
    if (offset - segs[segs.length - 1]! >= this.segmentMessages) {
      const full = this.segmentFile(topic, partition, segs[segs.length - 1]!);
      const fd = this.fds.get(full);
      if (fd !== undefined) fs.closeSync(fd);
      this.fds.delete(full);
      segs.push(offset);
    }
    const line = JSON.stringify({ k: s.key, v: s.value.toString('base64'), h: s.headers, t: s.timestamp });
    this.write(this.segmentFile(topic, partition, segs[segs.length - 1]!), `${line}\n`);
  }

  /**
   * Deletes the partition's segments that hold only messages before `base` (let go); the topic's outbox marks,
   * which cover them, are written first. The last segment is never deleted.
   */
  letGo(topic: string, partition: number, base: number, marks: OutboxMarks): void {
    const segs = this.segments.get(tpKey(topic, partition))!;
    let n = 0;
    while (n + 1 < segs.length && segs[n + 1]! <= base) n++;
    if (n === 0) return;
    const file = this.marksFile(topic);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(Object.fromEntries(marks)));
    fs.renameSync(`${file}.tmp`, file);
    for (const gone of segs.splice(0, n)) fs.rmSync(this.segmentFile(topic, partition, gone), { force: true });
  }

  commit(groupId: string, topic: string, partition: number, next: number): void {
    this.write(this.groupFile(groupId), `${JSON.stringify({ t: topic, p: partition, o: next })}\n`);
  }

  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }

  private write(file: string, text: string): void {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      fd = fs.openSync(file, 'a');
      this.fds.set(file, fd);
    }
    fs.writeSync(fd, text);
    if (this.fsync) fs.fsyncSync(fd);
  }

  /** Parsed lines of a file; a last line without its newline (torn write) is cut off the file (`last` segment only). */
  private readLines(file: string, last = true): unknown[] {
    if (!fs.existsSync(file)) return [];
    const text = fs.readFileSync(file, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length && !last) throw new InfraError('corrupt', `memory-bus: ${file} ends in a torn line, but later segments follow it`, false);
    if (end < text.length) fs.truncateSync(file, Buffer.byteLength(text.slice(0, end)));
    return text
      .slice(0, end)
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l, i) => {
        try {
          return JSON.parse(l) as unknown;
        } catch {
          throw new InfraError('corrupt', `memory-bus: line ${i + 1} of ${file} is not a JSON record`, false);
        }
      });
  }
}
