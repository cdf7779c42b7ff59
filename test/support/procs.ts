/** Test helpers for whole processes: free ports, spawning `flead` commands, polling HTTP endpoints. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { createWriteStream, mkdtempSync } from 'node:fs';
import os from 'node:os';
import { fetchJson } from '../../src/infra/http/inspection-server';

export const repoRoot = path.resolve(__dirname, '../../..');
export const fleadBin = path.join(repoRoot, 'bin/flead.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface Proc { child: ChildProcess; logFile: string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

/** Start `flead <args>` with extra env; its output goes to logFile. */
export function startFlead(args: string[], env: Record<string, string>, logFile: string): Proc {
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [fleadBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, logFile, exited };
}

/** The process's exit, or 'running' when it has not exited within `ms` (the timer is cleared either way). */
export async function exitedWithin(proc: Proc, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'running'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([proc.exited, new Promise<'running'>((r) => { timer = setTimeout(() => r('running'), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runFlead(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [fleadBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
  let stdout = ''; let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** Poll until `probe` returns a value (not undefined), or fail after timeoutMs with the last reason. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/**
 * Wait until the actors on an inspection endpoint stand still: the same paths, statuses and journal sequence
 * numbers in two `/actors` reads `forMs` apart (so a state read now is not moving under a comparison).
 */
export async function actorsStandStill(url: string, forMs = 2000, timeoutMs = 60_000): Promise<void> {
  let last = '';
  await waitFor(`the actors on ${url} to stand still for ${forMs} ms`, async () => {
    const now = JSON.stringify(((await getJson<Array<{ path: string; status: string; seq: number | null }>>(`${url}/actors`)) ?? []).map((a) => [a.path, a.status, a.seq]));
    const still = now === last;
    last = now;
    return still ? true : undefined;
  }, timeoutMs, forMs);
}

/** GET a JSON body when the status is 200, else undefined. */
export async function getJson<T = unknown>(url: string): Promise<T | undefined> {
  const r = await fetchJson(url, { timeoutMs: 2000 });
  return r.status === 200 ? (r.body as T) : undefined;
}

/**
 * `flead embedded` started on a fresh data and models directory (Kafka pointed where nothing listens: the embedded
 * profile must not need it), logging to `<dir>/first.log`; `env` runs more commands on the same directory.
 */
export function startEmbedded(tag: string, args: string[], extraEnv: Record<string, string> = {}): { dir: string; env: Record<string, string>; log: string; first: Proc } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `flead-${tag}-`));
  const env = { FLEAD_DATA_DIR: path.join(dir, 'data'), MODELS_DIR: path.join(dir, 'models'), KAFKA_BROKERS: '127.0.0.1:1', ...extraEnv };
  const log = path.join(dir, 'first.log');
  return { dir, env, log, first: startFlead(['embedded', '--inspect-port', '0', ...args], env, log) };
}
