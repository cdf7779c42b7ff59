/**
 * The embedded database: PGlite (PostgreSQL 18 compiled to WebAssembly, @electric-sql/pglite) in this process,
 * durable in a directory (`<FLEAD_DATA_DIR>/db` in the embedded profile). The only module that imports PGlite.
 *
 * PGlite is one connection: sessions take turns (a FIFO lock), so a transaction is never interleaved with
 * another caller's statements. No TimescaleDB: the migrations choose plain mode. One process at a time may
 * open a directory (PGlite has no lock of its own here: `openPgliteDb` takes `<dir>.lock` and refuses, with a
 * sentence, a directory another live process holds).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { InfraError } from '../errors';
import type { SqlDb, SqlSession } from './sql';

/** Hold `<dir>.lock` (our pid); a lock whose process is gone is taken over. */
function lockDir(dir: string): () => void {
  const file = `${dir}.lock`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => { try { fs.unlinkSync(file); } catch { /* already gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        const who = pid === process.pid ? 'this process already' : `process ${pid}`;
        throw new InfraError('conflict', `the embedded database ${dir} is in use: ${who} has it open (one process at a time: stop the other one first)`, false);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new InfraError('conflict', `cannot take the lock ${file} of the embedded database`, false);
}

/** Whether `pid` is a live process: signal 0 reaches it, and (where /proc tells) it is not a zombie awaiting its parent. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc here: signal 0 is all we know
  }
}

/**
 * Open (creating on first use: ~5 s, then ~0.6 s) the embedded database in `dir`. Errors: InfraError
 * 'conflict' when another process has it open, 'unavailable' when PGlite cannot start there.
 */
export async function openPgliteDb(dir: string): Promise<SqlDb> {
  const unlock = lockDir(dir);
  let db: PGlite;
  try {
    fs.mkdirSync(dir, { recursive: true });
    db = await PGlite.create(dir);
  } catch (e) {
    unlock();
    throw new InfraError('unavailable', `cannot open the embedded database (PGlite) in ${dir}: ${(e as Error).message}`, false, e);
  }
  const rel = path.relative(process.cwd(), dir);
  const describe = `pglite ${rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(dir)}`;
  let turn: Promise<void> = Promise.resolve();
  let closed = false;
  const session: SqlSession = {
    async query<R>(text: string, params?: readonly unknown[]) {
      const r = await db.query<R>(text, params ? [...params] : []);
      return { rows: r.rows, rowCount: r.rowCount ?? r.affectedRows ?? r.rows.length };
    },
    async copyFrom(target, data) {
      const r = await db.query(`copy ${target} from '/dev/blob'`, [], { blob: new Blob([data]) });
      return r.affectedRows ?? 0;
    },
  };
  return {
    kind: 'pglite',
    describe,
    session<T>(fn: (s: SqlSession) => Promise<T>): Promise<T> {
      if (closed) return Promise.reject(new InfraError('unavailable', `the embedded database ${describe} is closed`, false));
      const run = turn.then(async () => {
        try {
          return await fn(session);
        } finally {
          // a transaction fn left open (it threw before its rollback) must not leak into the next session
          if (db.isInTransaction()) await db.query('rollback').catch(() => undefined);
        }
      });
      turn = run.then(() => undefined, () => undefined);
      return run;
    },
    unavailable(what, e) {
      if (e instanceof InfraError) return e;
      return new InfraError('unavailable', `the embedded database ${describe} failed ${what}: ${e instanceof Error ? e.message : String(e)}`, false, e);
    },
    async close() {
      if (closed) return;
      closed = true;
      await turn;
      try {
        await db.close();
      } finally {
        unlock();
      }
    },
  };
}
