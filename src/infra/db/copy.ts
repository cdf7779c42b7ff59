/**
 * `COPY … FROM STDIN` (text format) through node-postgres' submittable interface, without a dependency: the
 * sink writes its high-volume tables with it, and `copyRows` is the sink benchmark's plain-COPY baseline.
 */
import type { Connection } from 'pg';
import { createPool, withClient, type PgSettings, type PoolClient } from './pg';

/** One value in COPY text format: \N for null, backslash escapes for the specials. */
export function copyText(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (!/[\\\n\r\t]/.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

const MS_PER_DAY = 86_400_000;
const MAX_DATE_MS = 8.64e15;
let isoDay = NaN;
let isoDayPrefix = '';
const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const three = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()`, the same text, for timestamp columns: the date part is formatted once per day
 * (a stream's rows share their days) and the time by arithmetic. 1.5 µs per row with a Date each (154 ms of the
 * sink bench's 100,000 rows) was the largest cost of the sink's own.
 */
export function isoTime(ms: number): string {
  if (!Number.isInteger(ms) || Math.abs(ms) > MAX_DATE_MS) return new Date(ms).toISOString();
  const day = Math.floor(ms / MS_PER_DAY) * MS_PER_DAY;
  if (day !== isoDay) {
    isoDayPrefix = new Date(day).toISOString().slice(0, -'00:00:00.000Z'.length);
    isoDay = day;
  }
  let r = ms - day;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = Math.floor(r / 60_000);
  r -= m * 60_000;
  const s = Math.floor(r / 1000);
  return `${isoDayPrefix}${two(h)}:${two(m)}:${two(s)}.${three(r - s * 1000)}Z`;
}

/** The text-format COPY lines of rows (one array of column values per row). */
export const copyLines = (rows: ReadonlyArray<readonly unknown[]>): string => rows.map((r) => `${r.map(copyText).join('\t')}\n`).join('');

/** A node-postgres submittable that runs `COPY … FROM STDIN` with the given data, resolving to the row count. */
class CopyIn {
  private error: Error | undefined;
  private rowCount = 0;
  private settled = false;
  constructor(
    private readonly text: string,
    private readonly chunks: readonly Buffer[],
    private readonly done: (err: Error | undefined, rows: number) => void,
  ) {}
  submit(connection: Connection): null {
    (connection as unknown as { query(text: string): void }).query(this.text);
    return null;
  }
  handleCopyInResponse(connection: Connection): void {
    const c = connection as unknown as { sendCopyFromChunk(b: Buffer): void; endCopyFrom(): void };
    for (const chunk of this.chunks) c.sendCopyFromChunk(chunk);
    c.endCopyFrom();
  }
  handleCommandComplete(msg: { text?: string }): void {
    const m = /^COPY (\d+)/.exec(msg.text ?? '');
    if (m) this.rowCount = Number(m[1]);
  }
  handleError(err: Error): void {
    this.error ??= err;
    this.finish();
  }
  handleReadyForQuery(): void {
    this.finish();
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.done(this.error, this.rowCount);
  }
}

/** Run `COPY … FROM STDIN` (text format) with `data` on a connected client; resolves to the row count. */
export function copyInto(client: PoolClient, copySql: string, data: string): Promise<number> {
  const bytes = Buffer.from(data, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 64 * 1024) chunks.push(bytes.subarray(i, i + 64 * 1024));
  return new Promise<number>((resolve, reject) => {
    (client as unknown as { query(q: CopyIn): void }).query(new CopyIn(copySql, chunks, (err, rows) => (err ? reject(err) : resolve(rows))));
  });
}

/** `copyInto` on one client of a new pool (closed afterwards): a plain COPY, e.g. the benchmark's baseline. */
export async function copyRows(settings: PgSettings, copySql: string, data: string): Promise<number> {
  const pool = createPool(settings, { max: 1 });
  try {
    return await withClient(pool, settings, (client) => copyInto(client, copySql, data));
  } finally {
    await pool.end();
  }
}
