/**
 * Partition scanner of the Kafka journal engine (see `kafka-journal.ts`): one long-lived read_committed
 * consumer (unique groupId, so it owns every partition) with all partitions paused. A scan seeks one partition
 * to a start offset, resumes it, and takes batches until an end offset (the caller's high watermark); other
 * partitions stay paused. Scans of one partition are serialised; a slow reader pauses its partition instead of
 * buffering without bound (above `highWater` buffered messages).
 */
import type { Consumer, KafkaMessage } from 'kafkajs';
import { InfraError } from '../errors';

/** Serialises async operations. */
export function mutex(): <T>(op: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(op: () => Promise<T>) => {
    const run = tail.then(op, op);
    tail = run.catch(() => undefined);
    return run;
  };
}

interface ScanState {
  next: number;
  until: number;
  chunks: KafkaMessage[][];
  buffered: number;
  held: boolean;
  progressAt: number;
  wake?: () => void;
  error?: Error;
}

/** One paused read_committed consumer that scans single partitions on demand (see the file comment). */
export class PartitionScanner {
  private readonly scans = new Map<string, ScanState>();
  private readonly locks = new Map<string, <T>(op: () => Promise<T>) => Promise<T>>();

  constructor(
    private readonly consumer: Consumer,
    private readonly partitions: ReadonlyMap<string, number[]>,
    private readonly timeoutMs: number,
    private readonly highWater: number,
  ) {}

  async start(): Promise<void> {
    for (const topic of this.partitions.keys()) await this.consumer.subscribe({ topic, fromBeginning: false });
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      // batches of only control records / aborted messages never reach eachBatch, but still move us on
      const s = this.scans.get(`${payload.topic}:${payload.partition}`);
      if (s && payload.batchSize === 0) this.progress(s, Number(payload.lastOffset) + 1);
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      for (const s of this.scans.values()) {
        s.error = new InfraError('unavailable', `journal reader crashed: ${payload.error.message}`, true, payload.error);
        s.wake?.();
      }
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const s = this.scans.get(`${batch.topic}:${batch.partition}`);
        if (!s) return;
        const fetched = Number((batch as unknown as { fetchedOffset: string }).fetchedOffset);
        if (fetched > s.next) return; // fetched before a seek
        const msgs = batch.messages.filter((m) => {
          const o = Number(m.offset);
          return o >= s.next && o < s.until;
        });
        if (msgs.length) {
          s.chunks.push(msgs);
          s.buffered += msgs.length;
        }
        this.progress(s, Number(batch.lastOffset()) + 1);
        if (s.buffered > this.highWater && s.next < s.until && !s.held) {
          s.held = true;
          this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
        }
      },
    });
    this.consumer.pause([...this.partitions].map(([topic, partitions]) => ({ topic, partitions })));
  }

  private progress(s: ScanState, next: number): void {
    if (next > s.next) s.next = next;
    s.progressAt = Date.now();
    s.wake?.();
  }

  /** Messages of topic/partition with from <= offset < until, in offset order, chunk by chunk. */
  async *scan(topic: string, partition: number, from: number, until: number): AsyncGenerator<KafkaMessage[]> {
    if (from >= until) return;
    const id = `${topic}:${partition}`;
    let lock = this.locks.get(id);
    if (!lock) this.locks.set(id, (lock = mutex()));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await new Promise<void>((acquired) => void lock!(() => (acquired(), released)));
    const s: ScanState = { next: from, until, chunks: [], buffered: 0, held: false, progressAt: Date.now() };
    this.scans.set(id, s);
    try {
      this.consumer.seek({ topic, partition, offset: String(from) });
      this.consumer.resume([{ topic, partitions: [partition] }]);
      for (;;) {
        const chunk = s.chunks.shift();
        if (chunk) {
          s.buffered -= chunk.length;
          if (s.held && s.buffered <= this.highWater / 2) {
            s.held = false;
            this.consumer.resume([{ topic, partitions: [partition] }]);
          }
          yield chunk;
          continue;
        }
        if (s.next >= s.until) return;
        if (s.error) throw s.error;
        const idle = Date.now() - s.progressAt;
        if (idle >= this.timeoutMs) {
          throw new InfraError('unavailable', `journal read of ${topic}/${partition} made no progress for ${idle} ms (at offset ${s.next}, until ${until})`, true);
        }
        await new Promise<void>((wake) => {
          const t = setTimeout(wake, this.timeoutMs - idle);
          s.wake = () => {
            clearTimeout(t);
            wake();
          };
        });
        s.wake = undefined;
      }
    } finally {
      this.scans.delete(id);
      this.consumer.pause([{ topic, partitions: [partition] }]);
      release();
    }
  }

  /** Fails the running scans (on close). */
  abort(error: Error): void {
    for (const s of this.scans.values()) {
      s.error = error;
      s.wake?.();
    }
  }
}
