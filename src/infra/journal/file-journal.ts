/**
 * Embedded journal engine, durable on local disk under one directory:
 *
 *   <dir>/writer.lock                 {"pid":…,"nonce":…,"since":…} of the engine that owns the directory
 *   <dir>/events/<key>.jsonl          one line per append, fdatasync'ed: a JSON array of its JournalEnvelopes,
 *                                     or {"events":[…],"outbox":[…]} for an append with an outbox
 *   <dir>/snapshots/<key>.json        the latest snapshot, replaced atomically (tmp file + fsync + rename)
 *
 * <key> is the persistence key with every byte outside [a-z0-9_-] written as %XX (so "Round/7" is
 * "%52ound%2F7"): safe on every file system, case-insensitive ones included, and reversible for `keys()`.
 *
 * - The highest seq of a key is learned lazily (first use reads the key's file) and then kept in memory.
 * - An append is atomic because it is one line: a crash can leave a torn last line, which readers ignore and
 *   the writer cuts off before its next append to that key. A complete line that does not decode is
 *   InfraError('corrupt').
 * - Single writer: opening an engine writes a fresh nonce into writer.lock (the newest opener takes over).
 *   Every append and snapshot first checks the nonce; an older engine then rejects with InfraError('fenced').
 *   The check and the write are not one atomic step across processes: a takeover that lands between them
 *   can let one last append of the old writer through. Before writing, an engine also checks that the file
 *   did not grow behind its back (it then re-learns the highest seq and rejects with 'conflict'), so such
 *   a late append cannot be silently overwritten.
 * - A failed write (disk full, I/O error) rejects with InfraError('unavailable', retriable) and makes the
 *   engine re-learn the key from its file before its next append.
 * - Outbox (see the port; needs the `relay` option): the stamped outbox messages are part of the append's
 *   line, so they are durable exactly when the events are. After the line is synced the engine calls the
 *   relay and resolves once it resolved. When the relay fails the append rejects (unavailable, retriable),
 *   the outbox stays pending in memory and is relayed before the next append of the key (which writes nothing
 *   while that fails). A key's appends are serialised and each waits for the earlier outbox, so after a crash
 *   only the outbox of a key's LAST line can be unrelayed: opening an engine (not read-only) relays the outbox
 *   of every key's last line again, and the bus drops the copies by their `flead-outbox-id`. (A failure of
 *   that relay leaves it pending, as above; without a relay the outbox is left alone.)
 *
 * The on-disk format's readers and key names are in file-journal-files.ts.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InfraError } from '../errors';
import { SnapshotEnvelope } from '../../protocols/journal';
import type { Journal, OutboxMessage, OutboxRelay } from './port';
import {
  ReadFilter,
  buildEnvelopes,
  closedError,
  conflictError,
  encodeEnvelope,
  encodeSnapshot,
  relayError,
  requireRelay,
  stampOutbox,
  type FaultHook,
} from './shared';
import { completeLines, decodeKey, decodeLine, encodeKey, firstSeqOf, fsyncDir, lastCompleteLine, linesFromEnd } from './file-journal-files';

export interface FileJournalOptions {
  /** open without taking over the directory (replay and inspection tools): appends and snapshots reject */
  readOnly?: boolean;
  /** test hook, see FaultHook; 'before-commit' writes half of the bytes, then fails (a torn write) */
  fault?: FaultHook;
  /** publishes the outbox of each append (see the port); an append with an outbox needs it */
  relay?: OutboxRelay;
}

/** An outbox that was stored with seq firstSeq..lastSeq and is not known to be relayed. */
interface PendingOutbox {
  firstSeq: number;
  lastSeq: number;
  messages: OutboxMessage[];
}

interface KeyState {
  highest: number;
  /** bytes of complete lines in the key's file */
  size: number;
  /** re-learn from the file before the next append */
  stale: boolean;
}

export async function createFileJournal(dir: string, options: FileJournalOptions = {}): Promise<Journal> {
  const root = path.resolve(dir);
  const eventsDir = path.join(root, 'events');
  const snapsDir = path.join(root, 'snapshots');
  const lockFile = path.join(root, 'writer.lock');
  const fault: FaultHook = options.fault ?? (() => undefined);
  const describe = `file ${root}`;
  if (!options.readOnly) {
    // a reader creates nothing: a mistyped directory reads as an empty journal and stays absent
    await fs.promises.mkdir(eventsDir, { recursive: true });
    await fs.promises.mkdir(snapsDir, { recursive: true });
  }

  const nonce = `${process.pid}-${Date.now()}-${randomBytes(6).toString('hex')}`;
  if (!options.readOnly) {
    const tmpLock = `${lockFile}.${nonce}.tmp`;
    await fs.promises.writeFile(tmpLock, JSON.stringify({ pid: process.pid, nonce, since: new Date().toISOString() }));
    await fs.promises.rename(tmpLock, lockFile);
    await fsyncDir(root);
  }

  const states = new Map<string, KeyState>();
  const queues = new Map<string, Promise<unknown>>();
  /** key → the outbox of its last line when its relay failed (relayed before the key's next append) */
  const pending = new Map<string, PendingOutbox>();
  const relay = options.relay;
  let closed = false;

  const eventsFile = (key: string): string => path.join(eventsDir, `${encodeKey(key)}.jsonl`);
  const snapFile = (key: string): string => path.join(snapsDir, `${encodeKey(key)}.json`);

  const check = (): void => {
    if (closed) throw closedError(describe);
  };
  const checkOwner = (): void => {
    if (options.readOnly) throw new InfraError('fenced', `journal ${describe} was opened read-only`, false);
    let owner = '';
    try {
      owner = (JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { nonce?: string }).nonce ?? '';
    } catch {
      owner = '(unreadable lock file)';
    }
    if (owner !== nonce) throw new InfraError('fenced', `journal ${describe}: another engine (${owner}) has taken over the directory`, false);
  };

  /** Serialises the operations on one key within this engine. */
  function serial<T>(key: string, op: () => Promise<T>): Promise<T> {
    const prev = queues.get(key) ?? Promise.resolve();
    const next = prev.then(op, op);
    const tail = next.catch(() => undefined);
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return next;
  }

  async function learn(key: string, forWrite: boolean): Promise<KeyState> {
    const file = eventsFile(key);
    let highest = 0;
    let size = 0;
    // the last line holds the highest seq (appends go in seq order): read from the end, not the whole history
    for await (const { line, end } of linesFromEnd(file)) {
      if (size === 0) size = end;
      const { events } = decodeLine(line, `${file} before byte ${end}`);
      if (events.length === 0) continue;
      highest = Math.max(...events.map((e) => e.seq));
      break;
    }
    if (forWrite) {
      const actual = await fs.promises.stat(file).then((s) => s.size, () => 0);
      if (actual > size) await fs.promises.truncate(file, size); // a torn trailing line from a crash
    }
    const st = { highest, size, stale: false };
    states.set(key, st);
    return st;
  }

  const knownState = async (key: string, forWrite: boolean): Promise<KeyState> => {
    const st = states.get(key);
    return st && !st.stale ? st : learn(key, forWrite);
  };

  /** Relays an outbox of key; on failure it stays pending and the rejection says the events are durable. */
  async function relayOutbox(key: string, record: PendingOutbox, blockedSeq?: number): Promise<void> {
    requireRelay(describe, relay, record.messages);
    pending.set(key, record);
    try {
      await relay!(record.messages.map((m) => ({ ...m, headers: { ...m.headers } })));
    } catch (e) {
      throw relayError(key, record.firstSeq, record.lastSeq, e, blockedSeq);
    }
    if (pending.get(key) === record) pending.delete(key);
  }

  /** On open: relays the outbox of every key's last line again (it may not have been relayed before a crash). */
  async function relayLastLines(): Promise<void> {
    for (const name of (await fs.promises.readdir(eventsDir)).sort()) {
      if (!name.endsWith('.jsonl')) continue;
      const key = decodeKey(name.slice(0, -'.jsonl'.length));
      const file = path.join(eventsDir, name);
      const line = await lastCompleteLine(file);
      if (line === undefined) continue;
      let decoded: ReturnType<typeof decodeLine>;
      try {
        decoded = decodeLine(line, `last line of ${file}`);
      } catch {
        continue; // a corrupt line: reads and appends of that key report it, the other keys stay usable
      }
      const { events, outbox } = decoded;
      if (outbox.length === 0 || events.length === 0) continue;
      const record = { firstSeq: events[0]!.seq, lastSeq: events[events.length - 1]!.seq, messages: outbox };
      await relayOutbox(key, record).catch(() => undefined); // stays pending: the key's next append retries it
    }
  }

  if (!options.readOnly && relay) await relayLastLines();

  const journal: Journal = {
    describe,
    append(key, expectedSeq, events, outbox) {
      return serial(key, async () => {
        check();
        checkOwner();
        const earlier = pending.get(key);
        if (earlier) await relayOutbox(key, earlier, expectedSeq); // an earlier outbox goes out first, or nothing is written
        const file = eventsFile(key);
        let st = await knownState(key, true);
        const actual = await fs.promises.stat(file).then((s) => s.size, () => 0);
        if (actual !== st.size) st = await learn(key, true); // written behind our back, or torn
        if (expectedSeq !== st.highest + 1) throw conflictError(key, expectedSeq, st.highest);
        const envs = buildEnvelopes(key, expectedSeq, events);
        const messages = stampOutbox(key, expectedSeq, envs.length, outbox);
        requireRelay(describe, relay, messages);
        if (envs.length === 0) return [];
        const encoded = `[${envs.map(encodeEnvelope).join(',')}]`;
        const buf = Buffer.from(messages.length ? `{"events":${encoded},"outbox":${JSON.stringify(messages)}}\n` : `${encoded}\n`, 'utf8');
        const isNew = actual === 0;
        let fh: fs.promises.FileHandle | undefined;
        try {
          checkOwner();
          fh = await fs.promises.open(file, 'a');
          try {
            fault('before-commit');
          } catch (e) {
            await fh.write(buf, 0, Math.floor(buf.length / 2));
            throw e;
          }
          await fh.write(buf);
          await fh.datasync();
          await fh.close();
          fh = undefined;
          if (isNew) await fsyncDir(eventsDir);
          st.highest += envs.length;
          st.size += buf.length;
        } catch (e) {
          st.stale = true;
          await fh?.close().catch(() => undefined);
          if (e instanceof InfraError) throw e;
          throw new InfraError('unavailable', `journal ${key}: append of seq ${expectedSeq}..${expectedSeq + envs.length - 1} failed (${(e as Error).message})`, true, e);
        }
        if (messages.length > 0) await relayOutbox(key, { firstSeq: expectedSeq, lastSeq: expectedSeq + envs.length - 1, messages });
        try {
          fault('after-commit');
        } catch (e) {
          st.stale = true;
          throw new InfraError('unavailable', `journal ${key}: append of seq ${expectedSeq}..${expectedSeq + envs.length - 1} outcome unknown (${(e as Error).message})`, true, e);
        }
        return envs;
      });
    },

    async *read(key, opts) {
      check();
      const file = eventsFile(key);
      const filter = new ReadFilter(opts);
      // after a seq (a recovery from its snapshot): start at the line holding the next one, found from the end
      let from = 0;
      const after = opts?.afterSeq ?? 0;
      if (after > 0) {
        for await (const { line, start, end } of linesFromEnd(file)) {
          const first = firstSeqOf(line) ?? decodeLine(line, `${file} before byte ${end}`).events[0]?.seq;
          if (first !== undefined && first <= after + 1) {
            from = start;
            break;
          }
        }
      }
      for await (const { line, end } of completeLines(file, from)) {
        for (const env of decodeLine(line, `${file} before byte ${end}`).events) {
          const verdict = filter.accept(env);
          if (verdict === 'stop') return;
          if (verdict === 'yield') yield env;
          if (filter.done) return;
        }
      }
    },

    async highestSeq(key) {
      check();
      return serial(key, async () => (await knownState(key, false)).highest);
    },

    async latestSnapshot(key) {
      check();
      let text: string;
      try {
        text = await fs.promises.readFile(snapFile(key), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new InfraError('unavailable', `snapshot ${key}: ${(e as Error).message}`, true, e);
      }
      let value: unknown;
      try {
        value = (JSON.parse(text) as { snapshot?: unknown }).snapshot;
      } catch (e) {
        throw new InfraError('corrupt', `snapshot file ${snapFile(key)} is not valid JSON`, false, e);
      }
      if (!SnapshotEnvelope.is(value)) throw new InfraError('corrupt', `snapshot file ${snapFile(key)} is not a SnapshotEnvelope`, false);
      return value;
    },

    async saveSnapshot(snapshot) {
      check();
      const text = encodeSnapshot(snapshot);
      await serial(`snapshot:${snapshot.key}`, async () => {
        checkOwner();
        const current = await journal.latestSnapshot(snapshot.key);
        if (current && current.seq > snapshot.seq) return;
        const target = snapFile(snapshot.key);
        const tmp = `${target}.${nonce}.tmp`;
        try {
          const fh = await fs.promises.open(tmp, 'w');
          try {
            await fh.writeFile(text);
            await fh.sync();
          } finally {
            await fh.close();
          }
          await fs.promises.rename(tmp, target);
          await fsyncDir(snapsDir);
        } catch (e) {
          await fs.promises.rm(tmp, { force: true });
          throw new InfraError('unavailable', `snapshot ${snapshot.key} at seq ${snapshot.seq}: write failed (${(e as Error).message})`, true, e);
        }
      });
    },

    async keys(prefix = '') {
      check();
      const names = await fs.promises.readdir(eventsDir).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' && options.readOnly) return [] as string[];
        throw e;
      });
      const out: string[] = [];
      for (const name of names) {
        if (!name.endsWith('.jsonl')) continue;
        const key = decodeKey(name.slice(0, -'.jsonl'.length));
        if (!key.startsWith(prefix)) continue;
        const st = await fs.promises.stat(path.join(eventsDir, name));
        if (st.size > 0) out.push(key);
      }
      return out.sort();
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...queues.values()]);
    },
  };
  return journal;
}
