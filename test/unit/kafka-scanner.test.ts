/**
 * The Kafka journal's partition scanner (src/infra/journal/kafka-scanner.ts) on a scripted kafkajs Consumer:
 * what it does when its consumer crashes (the broker went away) or throws from seek/pause (kafkajs between a
 * crash and its own restart: "Consumer group was not initialized").
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { PartitionScanner } from '../../src/infra/journal/kafka-scanner';
import { InfraError } from '../../src/infra/errors';

type Batch = { topic: string; partition: number; messages: KafkaMessage[]; fetchedOffset: string; lastOffset: () => string };

/** A kafkajs Consumer that serves one partition log `log` from its seek offset when resumed. */
class ScriptedConsumer {
  readonly events = { END_BATCH_PROCESS: 'end', CRASH: 'crash' } as const;
  private readonly handlers = new Map<string, Array<(e: { payload: unknown }) => void>>();
  private eachBatch?: (p: { batch: Batch }) => Promise<void>;
  private readonly offsets = new Map<string, number>();
  paused = new Set<string>();
  /** seek, pause and resume throw this, as kafkajs does once its consumer group is gone */
  gone = false;
  disconnected = false;
  constructor(private readonly log: KafkaMessage[]) {}

  async connect() {}
  async subscribe() {}
  async disconnect() { this.disconnected = true; }
  on(event: string, f: (e: { payload: unknown }) => void) { this.handlers.set(event, [...(this.handlers.get(event) ?? []), f]); }
  /** crash inside run(), as kafkajs does when the first group join fails (run() then returns) */
  crashOnRun?: string;
  async run(opts: { eachBatch: (p: { batch: Batch }) => Promise<void> }) {
    this.eachBatch = opts.eachBatch;
    if (this.crashOnRun) this.crash(this.crashOnRun);
  }
  private check() { if (this.gone) throw new Error('Consumer group was not initialized, consumer#run must be called first'); }
  seek({ topic, partition, offset }: { topic: string; partition: number; offset: string }) { this.check(); this.offsets.set(`${topic}:${partition}`, Number(offset)); }
  pause(tps: Array<{ topic: string; partitions: number[] }>) { this.check(); for (const t of tps) for (const p of t.partitions) this.paused.add(`${t.topic}:${p}`); }
  resume(tps: Array<{ topic: string; partitions: number[] }>) {
    this.check();
    for (const t of tps) for (const p of t.partitions) {
      this.paused.delete(`${t.topic}:${p}`);
      setImmediate(() => void this.fetch(t.topic, p));
    }
  }
  /** one fetch of up to 2 messages from the seek offset, as long as the partition is not paused */
  private async fetch(topic: string, partition: number) {
    const id = `${topic}:${partition}`;
    if (this.paused.has(id) || this.gone || !this.eachBatch) return;
    const from = this.offsets.get(id) ?? 0;
    const messages = this.log.slice(from, from + 2);
    if (!messages.length) return;
    this.offsets.set(id, from + messages.length);
    await this.eachBatch({ batch: { topic, partition, messages, fetchedOffset: String(from), lastOffset: () => messages.at(-1)!.offset } });
    setImmediate(() => void this.fetch(topic, partition));
  }
  crash(message: string) {
    this.gone = true;
    for (const f of this.handlers.get('crash') ?? []) f({ payload: { error: new Error(message), restart: false } });
  }
}

const msg = (offset: number): KafkaMessage => ({ offset: String(offset), key: Buffer.from('k'), value: Buffer.from(`v${offset}`), timestamp: '0', attributes: 0, headers: {} } as KafkaMessage);
const log = Array.from({ length: 10 }, (_, i) => msg(i));

function scanner(timeoutMs = 2000) {
  const built: ScriptedConsumer[] = [];
  const s = new PartitionScanner(() => { const c = new ScriptedConsumer(log); built.push(c); return c as unknown as Consumer; }, new Map([['j', [0, 1]]]), timeoutMs, 1000);
  return { s, built };
}

async function read(s: PartitionScanner, from: number, until: number): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of s.scan('j', 0, from, until)) out.push(...chunk.map((m) => m.offset));
  return out;
}

const S = suite('kafka journal scanner');

S('scans a partition from an offset up to an end; every partition paused at start and after the scan', async () => {
  const { s, built } = scanner();
  await s.start();
  assert.equal([...built[0]!.paused].sort(), ['j:0', 'j:1']);
  assert.equal(await read(s, 3, 8), ['3', '4', '5', '6', '7']);
  assert.ok(built[0]!.paused.has('j:0'));
  assert.is(s.builds, 1);
});

S('a consumer that crashed: the next scan builds a new one and reads', async () => {
  const { s, built } = scanner();
  await s.start();
  built[0]!.crash('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  assert.equal(await read(s, 0, 4), ['0', '1', '2', '3']);
  assert.is(s.builds, 2);
  assert.ok(built[0]!.disconnected, 'the broken consumer is disconnected');
  assert.equal([...built[1]!.paused].sort(), ['j:0', 'j:1'], 'the new consumer pauses every partition again');
});

S('a crash during a scan fails it (unavailable, retriable) and frees the partition for the next scan', async () => {
  const { s, built } = scanner();
  await s.start();
  const it = s.scan('j', 0, 0, 10)[Symbol.asyncIterator]();
  assert.equal((await it.next()).value!.map((m: KafkaMessage) => m.offset), ['0', '1']);
  built[0]!.crash('The group coordinator is not available');
  let error: unknown;
  try { for (let r = await it.next(); !r.done; r = await it.next()) { /* drain what was buffered */ } } catch (e) { error = e; }
  assert.instance(error, InfraError);
  assert.is((error as InfraError).kind, 'unavailable');
  assert.ok((error as InfraError).retriable);
  assert.match((error as Error).message, /journal reader crashed: The group coordinator is not available/);
  assert.equal(await read(s, 5, 7), ['5', '6'], 'the partition is not left locked');
});

S('seek and pause throwing (the consumer group gone, no crash seen yet): the scan fails, the partition is freed, the next scan rebuilds', async () => {
  const { s, built } = scanner();
  await s.start();
  built[0]!.gone = true;
  let error: unknown;
  try { await read(s, 0, 3); } catch (e) { error = e; }
  assert.instance(error, InfraError);
  assert.match((error as Error).message, /journal reader: Consumer group was not initialized/);
  // before the fix the partition's lock was never released (pause threw in `finally`): this read hung
  const next = await Promise.race([read(s, 0, 3), new Promise<string>((r) => setTimeout(() => r('hung'), 1500))]);
  assert.equal(next, ['0', '1', '2']);
  assert.is(s.builds, 2);
});

S('a new consumer that cannot start: the scan fails with the reason, and a later scan tries again', async () => {
  let failing = true;
  const built: ScriptedConsumer[] = [];
  const s = new PartitionScanner(() => {
    const c = new ScriptedConsumer(log);
    if (built.length > 0 && failing) c.connect = async () => { throw new Error('Connection error: connect ECONNREFUSED'); };
    built.push(c);
    return c as unknown as Consumer;
  }, new Map([['j', [0]]]), 2000, 1000);
  await s.start();
  built[0]!.crash('broker down');
  let error: unknown;
  try { await read(s, 0, 2); } catch (e) { error = e; }
  assert.match((error as Error).message, /journal reader: a new consumer could not start: Connection error: connect ECONNREFUSED/);
  assert.ok((error as InfraError).retriable);
  assert.ok(built[1]!.disconnected, 'the consumer that failed to start is disconnected');
  failing = false;
  assert.equal(await read(s, 0, 2), ['0', '1']);
  assert.is(s.builds, 3);
});

S('a consumer that crashes while it starts is not used: start tries again, and gives up with the reason after its attempts', async () => {
  let crashing = 1;
  const built: ScriptedConsumer[] = [];
  const make = () => new PartitionScanner(() => {
    const c = new ScriptedConsumer(log);
    if (crashing-- > 0) c.crashOnRun = 'The group coordinator is not available';
    built.push(c);
    return c as unknown as Consumer;
  }, new Map([['j', [0]]]), 2000, 1000);
  const s = make();
  await s.start();
  assert.is(s.builds, 2);
  assert.ok(built[0]!.disconnected);
  assert.equal(await read(s, 0, 3), ['0', '1', '2']);
  crashing = 5;
  let error: unknown;
  try { await make().start(2); } catch (e) { error = e; }
  assert.match((error as Error).message, /the consumer crashed while starting: The group coordinator is not available/);
});

S('close: running and later scans fail with the close error; no consumer is built after it', async () => {
  const { s, built } = scanner();
  await s.start();
  built[0]!.crash('x');
  await s.close(new Error('journal closed'));
  let error: unknown;
  try { await read(s, 0, 2); } catch (e) { error = e; }
  assert.match((error as Error).message, /journal closed/);
  assert.is(s.builds, 1);
  assert.ok(built[0]!.disconnected);
});

S.run();
