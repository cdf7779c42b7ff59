/**
 * The file journal's on-disk format (see file-journal.ts): key file names, reading a file's complete lines
 * (a torn last line left out), and decoding a stored line into its envelopes and outbox.
 */
import * as fs from 'node:fs';
import { InfraError } from '../errors';
import { JournalEnvelope } from '../../protocols/journal';
import type { OutboxMessage } from './port';

const safeByte = (b: number): boolean =>
  (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x2d;

/** A persistence key as a file name: every byte outside [a-z0-9_-] as %XX. */
export function encodeKey(key: string): string {
  let out = '';
  for (const b of Buffer.from(key, 'utf8')) out += safeByte(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  if (out.length > 200) {
    throw new InfraError('too-large', `persistence key "${key.slice(0, 40)}…" is ${out.length} characters as a file name, over 200`, false);
  }
  return out;
}

/** The persistence key of a file name (encodeKey reversed). */
export function decodeKey(name: string): string {
  return Buffer.from(name.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Complete lines of a file from byte `from`, chunk by chunk; the incomplete trailing line is left out. */
export async function* completeLines(file: string, from = 0): AsyncGenerator<{ line: string; end: number }> {
  try {
    await fs.promises.access(file);
  } catch {
    return;
  }
  const stream = fs.createReadStream(file, { start: from, highWaterMark: 1 << 20 });
  let rest: Buffer = Buffer.alloc(0);
  let pos = from;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        const end = pos + nl + 1;
        if (nl > start) yield { line: buf.toString('utf8', start, nl), end };
        start = nl + 1;
      }
      pos += start;
      rest = buf.subarray(start);
    }
  } finally {
    stream.destroy();
  }
}

/**
 * Complete lines of a file from the last one back to the first, read from the end chunk by chunk, each with the
 * offsets of its first byte and of the byte after its newline; the incomplete trailing line is left out. Reading
 * the newest lines costs what they weigh, not what the file weighs.
 */
export async function* linesFromEnd(file: string): AsyncGenerator<{ line: string; start: number; end: number }> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    let pos = (await fh.stat()).size;
    let nl = -1; // file offset of the newline that ends the line being gathered (-1: none found yet, a torn tail)
    let carry: Buffer = Buffer.alloc(0); // the file from pos up to nl
    while (pos > 0) {
      const n = Math.min(1 << 20, pos);
      pos -= n;
      const chunk = Buffer.alloc(n);
      await fh.read(chunk, 0, n, pos);
      let data: Buffer;
      if (nl < 0) {
        const i = chunk.lastIndexOf(10);
        if (i < 0) continue; // all torn tail so far
        nl = pos + i;
        data = chunk.subarray(0, i);
      } else data = carry.length ? Buffer.concat([chunk, carry]) : chunk;
      for (let k = data.lastIndexOf(10); k >= 0; k = data.lastIndexOf(10)) {
        if (data.length > k + 1) yield { line: data.toString('utf8', k + 1), start: pos + k + 1, end: nl + 1 };
        nl = pos + k;
        data = data.subarray(0, k);
      }
      carry = data;
    }
    if (nl >= 0 && carry.length > 0) yield { line: carry.toString('utf8'), start: 0, end: nl + 1 };
  } finally {
    await fh.close();
  }
}

/** The last complete line of a file (the incomplete trailing line left out), read from the end. */
export async function lastCompleteLine(file: string): Promise<string | undefined> {
  for await (const { line } of linesFromEnd(file)) return line;
  return undefined;
}

/**
 * The seq of a stored line's first event without decoding the line (its outbox can be hundreds of kilobytes): an
 * envelope is written `{"type":…,"schemaVersion":…,"key":…,"seq":N,…}` (shared.ts buildEnvelopes), and the strings
 * before it cannot hold an unescaped `"seq":`. Undefined when the line is not written so (then decode it).
 */
export function firstSeqOf(line: string): number | undefined {
  const at = line.indexOf('"seq":');
  if (at < 0) return undefined;
  const m = /^\d+/.exec(line.slice(at + 6, at + 30));
  return m ? Number(m[0]) : undefined;
}

const isOutboxMessage = (v: unknown): v is OutboxMessage => {
  const m = v as OutboxMessage;
  return (
    typeof m === 'object' && m !== null && typeof m.topic === 'string' && typeof m.value === 'string' &&
    (m.key === null || typeof m.key === 'string') &&
    (m.headers === undefined || (typeof m.headers === 'object' && m.headers !== null && Object.values(m.headers).every((h) => typeof h === 'string')))
  );
};

/** One stored line (one append): its envelopes and outbox; InfraError('corrupt') when it is not one. */
export function decodeLine(line: string, where: string): { events: JournalEnvelope[]; outbox: OutboxMessage[] } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new InfraError('corrupt', `${where}: not valid JSON (${(e as Error).message})`, false, e);
  }
  const record = Array.isArray(value) ? { events: value as unknown[], outbox: [] as unknown[] } : (value as { events?: unknown; outbox?: unknown } | null);
  if (
    !record ||
    !Array.isArray(record.events) ||
    !record.events.every((v) => JournalEnvelope.is(v)) ||
    !Array.isArray(record.outbox) ||
    !record.outbox.every(isOutboxMessage)
  ) {
    throw new InfraError('corrupt', `${where}: not an array of JournalEnvelopes nor an {events, outbox} record`, false);
  }
  return { events: record.events as JournalEnvelope[], outbox: record.outbox as OutboxMessage[] };
}
