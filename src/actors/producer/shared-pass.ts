/**
 * One pass over a data set shared by its devices' sources (and the source of its bad rows), for data whose devices
 * interleave row by row (one Edge-IIoTset file split over devices round-robin or by source address): each device's
 * source gets the device's good rows in file order — the rows its own filtered pass would yield — and the file is
 * parsed once instead of once per device. (With N devices and a pass each, a producer at full speed parsed every
 * row N times, and a restarted one skipped its position N times over.)
 *
 * Every planned device has a queue from the pass's first row on. The pass reads ahead only when a source asks for
 * a row its queue does not hold yet, and stops reading while `maxQueued` rows wait in all queues: then it waits for
 * a source to take a row or to come; the queues of sources that have not come `graceMs` after the first read are
 * let go, and so is at once the queue of a source `release`d (an exhausted source does not read). A source gets the
 * shared rows only on its first `attach`, and only if its queue was never let go; otherwise (`null`) it makes a
 * pass of its own, as a source restarted by its supervisor does. A failure of the pass fails every source reading
 * it (each restarts on a pass of its own). When the last source reading leaves before the end (a stop), the pass is
 * closed and every source yet to come reads alone. */
import { isBadRow, type BadRow, type DatasetRow } from '../../infra/datasets/adapter';

export interface SharedPassOptions {
  /** rows held in all queues at most (10,000) */
  maxQueued?: number;
  /** whether the bad rows have a queue too (`attachBadRows`) */
  badRows?: boolean;
  /** how long, from the first read, the pass waits for sources yet to come before letting their rows go (10 s) */
  graceMs?: number;
  now?: () => number;
}

/** the key of the bad rows' queue (the producer's "invalid" source, which dead-letters them) */
const BAD_ROWS: unique symbol = Symbol('bad rows');
type Key = string | typeof BAD_ROWS;

interface Queue {
  rows: Array<DatasetRow | BadRow | undefined>;
  head: number;
  /** waiting: no source yet; attached: a source reads it; closed: its source left, or its rows were let go */
  state: 'waiting' | 'attached' | 'closed';
}

export class SharedPass {
  private iterator: AsyncIterator<DatasetRow | BadRow> | null = null;
  private readonly queues = new Map<Key, Queue>();
  private queued = 0;
  private done = false;
  private failure: { error: unknown } | null = null;
  private reading: Promise<void> | null = null;
  private spaceWaiters: Array<() => void> = [];

  private readonly maxQueued: number;
  private readonly graceMs: number;
  private readonly now: () => number;
  /** when the pass began reading */
  private started = 0;

  constructor(private readonly pass: () => AsyncIterable<DatasetRow | BadRow>, devices: readonly string[], opts: SharedPassOptions = {}) {
    this.maxQueued = opts.maxQueued ?? 10_000;
    this.graceMs = opts.graceMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    const keys: Key[] = opts.badRows ? [...devices, BAD_ROWS] : [...devices];
    for (const k of keys) this.queues.set(k, { rows: [], head: 0, state: 'waiting' });
  }

  /** The device's rows from the shared pass, or null when it cannot have all of them: make a pass of your own. */
  attach(device: string): AsyncIterable<DatasetRow> | null {
    return this.attachKey(device) as AsyncIterable<DatasetRow> | null;
  }

  /** The bad rows from the shared pass (when it has their queue), or null as for `attach`. */
  attachBadRows(): AsyncIterable<BadRow> | null {
    return this.attachKey(BAD_ROWS) as AsyncIterable<BadRow> | null;
  }

  /** The device's source will not read (it is exhausted): its rows are let go at once. */
  release(device: string): void {
    this.releaseKey(device);
  }

  /** The bad rows' source will not read. */
  releaseBadRows(): void {
    this.releaseKey(BAD_ROWS);
  }

  private releaseKey(key: Key): void {
    const q = this.queues.get(key);
    if (q?.state === 'waiting') this.close(q);
  }

  private attachKey(key: Key): AsyncIterable<DatasetRow | BadRow> | null {
    const q = this.queues.get(key);
    if (!q || q.state !== 'waiting') return null;
    q.state = 'attached';
    this.wake();
    return this.read(q);
  }

  /** rows waiting in all queues (for tests and diagnostics) */
  get waiting(): number {
    return this.queued;
  }

  private async *read(q: Queue): AsyncGenerator<DatasetRow | BadRow> {
    try {
      for (;;) {
        if (q.head < q.rows.length) {
          const r = q.rows[q.head]!;
          q.rows[q.head++] = undefined;
          if (q.head > 1024 && q.head * 2 > q.rows.length) { q.rows = q.rows.slice(q.head); q.head = 0; }
          this.queued--;
          this.wake();
          yield r;
          continue;
        }
        if (this.failure) throw this.failure.error;
        if (this.done) return;
        await this.advance();
      }
    } finally {
      this.close(q);
    }
  }

  private close(q: Queue): void {
    q.state = 'closed';
    this.queued -= q.rows.length - q.head;
    q.rows = [];
    q.head = 0;
    this.wake();
    // the last source reading left before the end (a stop): let the data go; a source yet to come reads alone
    if (this.iterator && !this.done && ![...this.queues.values()].some((x) => x.state === 'attached')) {
      this.done = true;
      for (const x of this.queues.values()) if (x.state === 'waiting') this.close(x);
      void this.iterator.return?.().catch(() => undefined);
    }
  }

  private wake(): void {
    if (this.spaceWaiters.length === 0) return;
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiters) w();
  }

  /** One reader at a time; every source waiting for rows waits for it and looks at its queue again. */
  private advance(): Promise<void> {
    this.reading ??= this.readAhead().catch((error: unknown) => { this.failure = { error }; }).finally(() => { this.reading = null; });
    return this.reading;
  }

  /** Reads until a row went to a source's queue, or the pass ended. */
  private async readAhead(): Promise<void> {
    if (!this.iterator) {
      this.iterator = this.pass()[Symbol.asyncIterator]();
      this.started = this.now();
    }
    while (!this.done) {
      while (this.queued >= this.maxQueued) {
        const late = [...this.queues.values()].filter((q) => q.state === 'waiting' && q.rows.length > q.head);
        const left = this.graceMs - (this.now() - this.started);
        if (late.length > 0 && left <= 0) { for (const q of late) this.close(q); continue; }
        // wait for a source to take a row or to come (or, with sources yet to come, for the grace to end)
        await new Promise<void>((resolve) => {
          const timer = late.length > 0 ? setTimeout(resolve, left) : null;
          this.spaceWaiters.push(() => { if (timer) clearTimeout(timer); resolve(); });
        });
      }
      const next = await this.iterator.next();
      if (next.done) { this.done = true; return; }
      const r = next.value;
      const q = this.queues.get(isBadRow(r) ? BAD_ROWS : r.deviceId);
      if (!q || q.state === 'closed') continue;
      q.rows.push(r);
      this.queued++;
      if (q.state === 'attached') return;
    }
  }
}
