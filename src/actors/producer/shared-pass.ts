/**
 * One pass over a data set shared by its devices' sources, for data whose devices interleave row by row (one
 * Edge-IIoTset file split over devices round-robin or by source address): each device's source gets the device's
 * good rows in file order — the rows its own filtered pass would yield — and the file is parsed once instead of
 * once per device. (With N devices and a pass each, a producer at full speed parsed every row N times, and a
 * restarted one skipped its position N times over.)
 *
 * Every planned device has a queue from the pass's first row on. The pass reads ahead only when a source asks for
 * a row its queue does not hold yet, and stops reading while `maxQueued` rows wait in all queues: then the queues of
 * devices whose source has not come (or never will: an exhausted source does not read) are let go, or else it
 * waits for a source to take a row. A source gets the shared rows only on its first `attach`, and only if its
 * queue was never let go; otherwise (`null`) it makes a pass of its own, as a source restarted by its supervisor
 * does. A failure of the pass fails every source reading it (each restarts on a pass of its own). When the last
 * source reading leaves before the end (a stop), the pass is closed and every source yet to come reads alone.
 */
import { isBadRow, type BadRow, type DatasetRow } from '../../infra/datasets/adapter';

interface Queue {
  rows: Array<DatasetRow | undefined>;
  head: number;
  /** waiting: no source yet; attached: a source reads it; closed: its source left, or its rows were let go */
  state: 'waiting' | 'attached' | 'closed';
}

export class SharedPass {
  private iterator: AsyncIterator<DatasetRow | BadRow> | null = null;
  private readonly queues = new Map<string, Queue>();
  private queued = 0;
  private done = false;
  private failure: { error: unknown } | null = null;
  private reading: Promise<void> | null = null;
  private spaceWaiters: Array<() => void> = [];

  constructor(
    private readonly pass: () => AsyncIterable<DatasetRow | BadRow>,
    devices: readonly string[],
    private readonly maxQueued = 10_000,
  ) {
    for (const d of devices) this.queues.set(d, { rows: [], head: 0, state: 'waiting' });
  }

  /** The device's rows from the shared pass, or null when it cannot have all of them: make a pass of your own. */
  attach(device: string): AsyncIterable<DatasetRow> | null {
    const q = this.queues.get(device);
    if (!q || q.state !== 'waiting') return null;
    q.state = 'attached';
    return this.read(q);
  }

  /** rows waiting in all queues (for tests and diagnostics) */
  get waiting(): number {
    return this.queued;
  }

  private async *read(q: Queue): AsyncGenerator<DatasetRow> {
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
    this.iterator ??= this.pass()[Symbol.asyncIterator]();
    while (!this.done) {
      while (this.queued >= this.maxQueued) {
        let freed = false;
        for (const q of this.queues.values()) if (q.state === 'waiting' && q.rows.length > q.head) { this.close(q); freed = true; }
        if (!freed) await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
      }
      const next = await this.iterator.next();
      if (next.done) { this.done = true; return; }
      const r = next.value;
      if (isBadRow(r)) continue;
      const q = this.queues.get(r.deviceId);
      if (!q || q.state === 'closed') continue;
      q.rows.push(r);
      this.queued++;
      if (q.state === 'attached') return;
    }
  }
}
