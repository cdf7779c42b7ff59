#!/usr/bin/env node
// FLEAD benchmarks: runs every compiled bench module (dist/bench/*.js exporting run(print)) in its own
// process. Each prints lines "bench <name>: <value> <unit> (<ratio>x <baseline>)", with its baseline measured
// in the same run. Nothing is asserted: numbers are reported. Kafka is started when a bench needs it.
//
//   npm run bench              all
//   npm run bench -- fedavg    those whose file name contains "fedavg"
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'dist/bench');
const filter = process.argv[2];
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.js') && (!filter || f.includes(filter))).sort() : [];
const cpu = os.cpus()[0];
console.log(`machine: ${os.cpus().length} x ${cpu ? cpu.model.trim() : 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`);
const env = { ...process.env };
if (!env.KAFKA_BROKERS) {
  const r = spawnSync('bash', [path.join(root, 'scripts/kafka/kafka.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status === 0) env.KAFKA_BROKERS = r.stdout.trim().split('\n').pop();
}
let failed = 0;
for (const f of files) {
  const code = `require(${JSON.stringify(path.join(dir, f))}).run((l) => console.log(l)).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); })`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', code], { env, stdio: 'inherit' });
  if (r.status !== 0) { failed++; console.log(`bench ${f}: failed (exit ${r.status})`); }
}
process.exitCode = failed ? 1 : 0;
