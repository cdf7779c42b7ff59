/**
 * The memory bus's durable form (`MemoryBusOptions.dir`): append-only JSON-lines files under
 * `dir/topics/<topic>/<partition>.log` (with `meta.json`) and `dir/groups/<group>.log`, loaded on start-up.
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
  /** `flead-outbox-id` headers of the stored messages: a message with one of them is not stored again */
  outboxIds: Set<string>;
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

  constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
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

  loadTopics(): Array<[string, TopicState]> {
    const out: Array<[string, TopicState]> = [];
    for (const name of fs.readdirSync(path.join(this.dir, 'topics'))) {
      const metaFile = path.join(this.dir, 'topics', name, 'meta.json');
      if (!fs.existsSync(metaFile)) continue; // a crash between mkdir and the meta write: nothing was published
      const topic = decodeURIComponent(name);
      const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { partitions: number; compacted: boolean };
      const partitions = Array.from({ length: meta.partitions }, (_, p) =>
        this.readLines(path.join(this.topicDir(topic), `${p}.log`)).map((r): Stored => {
          const rec = r as { k: string | null; v: string; h: Record<string, string>; t: number };
          return { key: rec.k, value: Buffer.from(rec.v, 'base64'), headers: rec.h, timestamp: rec.t };
        }),
      );
      out.push([topic, { partitions, bases: partitions.map(() => 0), compacted: meta.compacted, outboxIds: outboxIdsOf(partitions) }]);
    }
    return out;
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
  }

  append(topic: string, partition: number, s: Stored): void {
    const line = JSON.stringify({ k: s.key, v: s.value.toString('base64'), h: s.headers, t: s.timestamp });
    this.write(path.join(this.topicDir(topic), `${partition}.log`), `${line}\n`);
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

  /** Parsed lines of a file; a last line without its newline (torn write) is cut off the file. */
  private readLines(file: string): unknown[] {
    if (!fs.existsSync(file)) return [];
    const text = fs.readFileSync(file, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
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
