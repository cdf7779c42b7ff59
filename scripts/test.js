#!/usr/bin/env node
// FLEAD test runner: runs every compiled uvu suite under dist/test/{unit,int,e2e} in its own process,
// after making sure the real infrastructure is there (Kafka on KAFKA_BROKERS or the local broker started by
// scripts/kafka/kafka.sh; PostgreSQL on PGHOST:PGPORT). Ends with the line "N passed, N failed".
//
//   node scripts/test.js            all layers
//   node scripts/test.js unit       one layer (unit | int | e2e), or a substring of a file path
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const layers = ['unit', 'int', 'e2e'];
const filter = process.argv[2];

function files(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  }).sort();
}

function reachable(hostPort, timeoutMs = 1500) {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) });
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.setTimeout(timeoutMs, () => done(false));
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

async function ensureKafka() {
  const given = process.env.KAFKA_BROKERS;
  if (given && await reachable(given.split(',')[0])) return given;
  if (given) console.error(`test: KAFKA_BROKERS=${given} is not reachable; starting the local broker`);
  const r = spawnSync('bash', [path.join(root, 'scripts/kafka/kafka.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('could not start the local Kafka broker (scripts/kafka/kafka.sh start)');
  return r.stdout.trim().split('\n').pop();
}

async function ensurePostgres() {
  const host = process.env.PGHOST || '127.0.0.1';
  const port = process.env.PGPORT || '5432';
  if (await reachable(`${host}:${port}`)) return;
  console.error('test: PostgreSQL is not answering; trying pg_ctlcluster');
  const versions = fs.existsSync('/etc/postgresql') ? fs.readdirSync('/etc/postgresql') : [];
  for (const v of versions) spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', v, 'main', 'start'], { stdio: 'inherit' });
  for (let i = 0; i < 30 && !(await reachable(`${host}:${port}`)); i++) await new Promise((r) => setTimeout(r, 500));
  if (!(await reachable(`${host}:${port}`))) throw new Error(`PostgreSQL is not reachable on ${host}:${port}`);
}

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

function runFile(file, env) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const limitMs = Number(process.env.FLEAD_TEST_FILE_TIMEOUT_MS || 600000);
    const timer = setTimeout(() => { out += `\n(test runner: killed after ${limitMs} ms)\n`; child.kill('SIGKILL'); }, limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const text = strip(out);
      const total = Number((text.match(/Total:\s+(\d+)/) || [])[1] || 0);
      const passed = Number((text.match(/Passed:\s+(\d+)/) || [])[1] || 0);
      const skipped = Number((text.match(/Skipped:\s+(\d+)/) || [])[1] || 0);
      let failed = Math.max(0, total - passed); // uvu's Total leaves skipped tests out
      if ((code !== 0 || signal) && failed === 0) failed = 1; // crashed before or after its summary
      resolve({ file, total, passed, skipped, failed, code, signal, out: text, ms: Date.now() - started });
    });
  });
}

async function main() {
  const chosen = layers.includes(filter) ? [filter] : layers;
  let list = chosen.flatMap((l) => files(path.join(root, 'dist/test', l)));
  if (filter && !layers.includes(filter)) list = list.filter((f) => f.includes(filter));
  const needsInfra = list.some((f) => !f.includes(`${path.sep}unit${path.sep}`));
  const env = { ...process.env, FORCE_COLOR: '0', NODE_ENV: 'test' };
  if (needsInfra) {
    env.KAFKA_BROKERS = await ensureKafka();
    await ensurePostgres();
    env.PGHOST = env.PGHOST || '127.0.0.1';
    env.PGPORT = env.PGPORT || '5432';
    env.PGUSER = env.PGUSER || 'postgres';
    console.log(`test: Kafka ${env.KAFKA_BROKERS}, PostgreSQL ${env.PGHOST}:${env.PGPORT}`);
  }
  let passed = 0; let failed = 0; let skipped = 0;
  for (const file of list) {
    const r = await runFile(file, env);
    passed += r.passed; failed += r.failed; skipped += r.skipped;
    const name = path.relative(path.join(root, 'dist'), file);
    const status = r.failed ? 'FAIL' : 'ok  ';
    console.log(`${status} ${name}  ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}  (${(r.ms / 1000).toFixed(1)} s)`);
    if (r.failed || process.env.FLEAD_TEST_VERBOSE) console.log(r.out.split('\n').map((l) => `    ${l}`).join('\n'));
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exitCode = failed > 0 || list.length === 0 ? 1 : 0;
}

main().catch((e) => { console.error(`test: ${e.message}`); console.log('0 passed, 1 failed'); process.exitCode = 1; });
