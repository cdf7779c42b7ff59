/**
 * Runs the database contract against both adapters: node-postgres on the real PostgreSQL (a database of its
 * own, dropped at the end) and PGlite in a temporary directory (the embedded profile's database). Plus what only
 * the embedded one has: it survives a close and a reopen, and one process at a time may open a directory.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { isLeft } from 'fp-ts/Either';
import { createPgDb, createPool, ensureDatabase, pgSettingsFromEnv, quoteIdent } from '../../src/infra/db/pg';
import { openPgliteDb } from '../../src/infra/db/pglite';
import { InfraError } from '../../src/infra/errors';
import { dbContract } from './db.contract';

const env = pgSettingsFromEnv(process.env);
if (isLeft(env)) throw new Error(env.left);
const base = env.right;

dbContract('postgresql (node-postgres)', async () => {
  const settings = { ...base, database: `flead_test_db_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}` };
  await ensureDatabase(settings);
  const db = createPgDb(settings, { max: 4 });
  return {
    db,
    drop: async () => {
      await db.close().catch(() => undefined);
      const admin = createPool({ ...base, database: 'postgres' }, { max: 1 });
      try {
        await admin.query(`drop database if exists ${quoteIdent(settings.database)} with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flead-pglite-'));

dbContract('pglite (embedded)', async () => {
  const db = await openPgliteDb(path.join(tmp, 'contract'));
  return { db, drop: async () => { await db.close().catch(() => undefined); } };
});

const test = suite('embedded database (PGlite): durable, one process at a time');

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('rows written before a close are there after a reopen', async () => {
  const dir = path.join(tmp, 'durable');
  const first = await openPgliteDb(dir);
  assert.match(first.describe, /^pglite .*durable$/);
  await first.session((s) => s.query('create table kept (n int)'));
  await first.session((s) => s.query('insert into kept select generate_series(1, 100)'));
  await first.close();
  const second = await openPgliteDb(dir);
  try {
    assert.equal((await second.session((s) => s.query<{ n: number }>('select count(*)::int as n from kept'))).rows, [{ n: 100 }]);
  } finally {
    await second.close();
  }
});

test('a directory open in this process or in another live one is refused with a sentence; a dead holder\'s lock is taken over', async () => {
  const dir = path.join(tmp, 'locked');
  const db = await openPgliteDb(dir);
  try {
    const again = await openPgliteDb(dir).then(() => undefined, (e: unknown) => e);
    assert.instance(again, InfraError);
    assert.match((again as Error).message, /^the embedded database .*locked is in use: this process already has it open/);
    const script = `require(${JSON.stringify(path.resolve(__dirname, '../../src/infra/db/pglite.js'))}).openPgliteDb(${JSON.stringify(dir)}).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); })`;
    const other = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.is(other.status, 3, other.stderr);
    assert.match(other.stderr, new RegExp(`in use: process ${process.pid} has it open`));
  } finally {
    await db.close();
  }
  // a holder that died without closing (SIGKILL): its pid is gone, so the next open takes over
  fs.writeFileSync(`${dir}.lock`, '999999999');
  const after = await openPgliteDb(dir);
  await after.close();
  assert.not.ok(fs.existsSync(`${dir}.lock`), 'closing removes the lock');
  // a holder killed but not yet reaped by its parent (a zombie) is dead too: `sleep 0.1` ends under a parent
  // (`exec sleep 5`) that never waits for it
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))));
    await new Promise((r) => setTimeout(r, 500));
    assert.match(fs.readFileSync(`/proc/${zombie}/stat`, 'utf8'), /\) Z /, 'the holder is a zombie now');
    fs.writeFileSync(`${dir}.lock`, String(zombie));
    const taken = await openPgliteDb(dir);
    await taken.close();
  } finally {
    parent.kill('SIGKILL');
  }
});

test.run();
