/**
 * Partition scanner of the Kafka journal engine (see `kafka-journal.ts`): one long-lived read_committed
 * consumer (unique groupId, so it owns every partition) with all partitions paused. A scan seeks one partition
 * to a start offset, resumes it, and takes batches until an end offset (the caller's high watermark); other
 * partitions stay paused. Scans of one partition are serialised; a slow reader pauses its partition instead of
 * buffering without bound (above `highWater` buffered messages).
 *
 * The scanner owns its consumer and builds a new one after a crash (e.g. the broker restarted): kafkajs's own
 * restart would come back with every partition resumed and, until it does, throws from seek and pause (the
 * consumer group is gone), so the consumer is made with restartOnFailure off. A crash fails the running scans
 * (InfraError 'unavailable', retriable); the next scan builds a new consumer first, and fails the same way
 * while the broker cannot be reached. A scan always releases its partition, whatever the consumer throws.
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
  private consumer: Consumer | undefined;
  /** why the consumer cannot be used: it crashed, or one of its calls threw */
  private broken: Error | undefined;
  private rebuilding: Promise<Consumer> | undefined;
  private closed: Error | undefined;
  /** consumers built, the first included (tests, logs) */
  builds = 0;

  /** `newConsumer` makes a consumer with a fresh groupId and kafkajs's restartOnFailure off (see the file comment). */
  constructor(
    private readonly newConsumer: () => Consumer,
    private readonly partitions: ReadonlyMap<string, number[]>,
    private readonly timeoutMs: number,
    private readonly highWater: number,
  ) {}

  /**
   * Builds the first consumer, trying `attempts` times (a fresh broker's group coordinator may fail the
   * first join); throws when none starts.
   */
  async start(attempts = 4): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.consumer = await this.open();
        return;
      } catch (e) {
        if (attempt >= attempts) throw e;
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  }

  private async open(): Promise<Consumer> {
    const consumer = this.newConsumer();
    this.builds += 1;
    // a crash while it starts (kafkajs then returns from run() with no consumer group): this build failed
    let crashedAtStart: Error | undefined;
    try {
      await consumer.connect();
      for (const topic of this.partitions.keys()) await consumer.subscribe({ topic, fromBeginning: false });
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (consumer !== this.consumer) return;
        // batches of only control records / aborted messages never reach eachBatch, but still move us on
        const s = this.scans.get(`${payload.topic}:${payload.partition}`);
        if (s && payload.batchSize === 0) this.progress(s, Number(payload.lastOffset) + 1);
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (consumer !== this.consumer) {
          crashedAtStart ??= payload.error;
          return;
        }
        this.fail(new InfraError('unavailable', `journal reader crashed: ${payload.error.message}`, true, payload.error));
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          if (consumer !== this.consumer) return;
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
            this.call(consumer, (c) => c.pause([{ topic: batch.topic, partitions: [batch.partition] }]));
          }
        },
      });
      if (crashedAtStart) throw new Error(`the consumer crashed while starting: ${crashedAtStart.message}`);
      consumer.pause([...this.partitions].map(([topic, partitions]) => ({ topic, partitions })));
      return consumer;
    } catch (e) {
      await consumer.disconnect().catch(() => undefined);
      throw e;
    }
  }

  /** The consumer, a new one when the last one broke (one build shared by the scans that ask meanwhile). */
  private async ready(): Promise<Consumer> {
    if (this.closed) throw this.closed;
    if (this.consumer && !this.broken) return this.consumer;
    this.rebuilding ??= (async () => {
      const old = this.consumer;
      this.consumer = undefined;
      await old?.disconnect().catch(() => undefined);
      const consumer = await this.open();
      if (this.closed) {
        await consumer.disconnect().catch(() => undefined);
        throw this.closed;
      }
      this.consumer = consumer;
      this.broken = undefined;
      return consumer;
    })().finally(() => {
      this.rebuilding = undefined;
    });
    try {
      return await this.rebuilding;
    } catch (e) {
      if (e === this.closed) throw e;
      throw new InfraError('unavailable', `journal reader: a new consumer could not start: ${(e as Error).message}`, true, e);
    }
  }

  /** A call on the consumer; one that throws (kafkajs: "Consumer group was not initialized") breaks it. */
  private call(consumer: Consumer, f: (c: Consumer) => void): void {
    try {
      f(consumer);
    } catch (e) {
      if (consumer === this.consumer) this.fail(new InfraError('unavailable', `journal reader: ${(e as Error).message}`, true, e));
    }
  }

  /** The consumer is broken: every running scan fails with `error`; the next scan builds a new consumer. */
  private fail(error: Error): void {
    this.broken = error;
    this.abort(error);
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
    let consumer: Consumer | undefined;
    try {
      consumer = await this.ready();
      const s: ScanState = { next: from, until, chunks: [], buffered: 0, held: false, progressAt: Date.now() };
      this.scans.set(id, s);
      this.call(consumer, (c) => {
        c.seek({ topic, partition, offset: String(from) });
        c.resume([{ topic, partitions: [partition] }]);
      });
      for (;;) {
        const chunk = s.chunks.shift();
        if (chunk) {
          s.buffered -= chunk.length;
          if (s.held && s.buffered <= this.highWater / 2) {
            s.held = false;
            this.call(consumer, (c) => c.resume([{ topic, partitions: [partition] }]));
          }
          yield chunk;
          continue;
        }
        if (s.next >= s.until) return;
        if (s.error) throw s.error; // a crash or a throwing consumer call also lands here (fail → abort)
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
      if (consumer) this.call(consumer, (c) => c.pause([{ topic, partitions: [partition] }]));
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

  /** Disconnects the consumer; later scans fail with `error`. */
  async close(error: Error): Promise<void> {
    this.closed = error;
    this.abort(error);
    await this.rebuilding?.catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
