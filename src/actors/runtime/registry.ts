/**
 * The live actor tree as a projection for the inspection endpoint: each actor reports what it is (path,
 * kind, status, journal sequence number, last snapshot, restart count) and a state summary after each message.
 * The endpoint reads this, never an actor's private state. Mailbox depth is read from nact on demand.
 */
import { mailboxDepth, type Ref } from './nact';

export type ActorStatus = 'recovering' | 'running' | 'restarting' | 'crashed' | 'stopped';

export interface ActorInfo {
  path: string;
  kind: string;
  status: ActorStatus;
  persistenceKey: string | null;
  /** highest journal sequence number applied to the state */
  seq: number;
  /** sequence number of the last snapshot taken or recovered from, null when none */
  lastSnapshotSeq: number | null;
  restarts: number;
  mailboxDepth: number | null;
  lastError: string | null;
}

interface Entry { info: Omit<ActorInfo, 'mailboxDepth'>; ref: Ref<unknown> | null; summary: unknown }

export class ActorRegistry {
  private readonly entries = new Map<string, Entry>();

  register(path: string, kind: string, ref: Ref<unknown> | null, persistenceKey: string | null = null): void {
    const prev = this.entries.get(path);
    this.entries.set(path, {
      info: { path, kind, status: persistenceKey ? 'recovering' : 'running', persistenceKey, seq: prev?.info.seq ?? 0, lastSnapshotSeq: prev?.info.lastSnapshotSeq ?? null, restarts: prev?.info.restarts ?? 0, lastError: prev?.info.lastError ?? null },
      ref,
      summary: prev?.summary ?? null,
    });
  }

  update(path: string, patch: Partial<Pick<ActorInfo, 'status' | 'seq' | 'lastSnapshotSeq'>>, summary?: unknown): void {
    const e = this.entries.get(path);
    if (!e) return;
    Object.assign(e.info, patch);
    if (summary !== undefined) e.summary = summary;
  }

  crashed(path: string, error: string): void { this.update(path, { status: 'crashed' }); const e = this.entries.get(path); if (e) e.info.lastError = error; }
  restarting(path: string): void { const e = this.entries.get(path); if (e) { e.info.restarts += 1; e.info.status = 'restarting'; } }
  stopped(path: string): void { this.update(path, { status: 'stopped' }); }
  /** a snapshot was taken or recovered for this persistence key */
  snapshotAt(persistenceKey: string, seq: number): void {
    for (const e of this.entries.values()) if (e.info.persistenceKey === persistenceKey) e.info.lastSnapshotSeq = seq;
  }

  remove(path: string): void { this.entries.delete(path); }

  list(): ActorInfo[] {
    return [...this.entries.values()].map((e) => this.view(e)).sort((a, b) => a.path.localeCompare(b.path));
  }

  get(path: string): { info: ActorInfo; state: unknown } | undefined {
    const e = this.entries.get(path);
    return e && { info: this.view(e), state: e.summary };
  }

  private view(e: Entry): ActorInfo {
    const depth = e.ref && e.info.status !== 'stopped' ? mailboxDepth(e.ref) ?? null : null;
    return { ...e.info, mailboxDepth: depth };
  }
}
