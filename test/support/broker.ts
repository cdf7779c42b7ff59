/**
 * A Kafka broker of one test's own, to stop and start under running services: scripts/kafka/kafka.sh in a
 * temporary home on free ports (the jars linked from the shared home when it has them, else Maven resolves them).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, repoRoot } from './procs';

export interface PrivateBroker {
  brokers: string;
  start(): void;
  stop(): void;
  /** stops it and removes its home */
  remove(): void;
}

export async function privateBroker(tag: string): Promise<PrivateBroker> {
  const home = mkdtempSync(path.join(os.tmpdir(), `flead-broker-${tag}-`));
  const version = process.env.FLEAD_KAFKA_VERSION || '3.9.1';
  const shared = path.join(process.env.FLEAD_KAFKA_HOME || path.join(repoRoot, '.kafka'), `libs-${version}`);
  if (existsSync(path.join(shared, '.complete'))) symlinkSync(shared, path.join(home, `libs-${version}`));
  else mkdirSync(home, { recursive: true });
  const port = await freePort();
  let cport = await freePort();
  while (cport === port) cport = await freePort();
  const env = { ...process.env, FLEAD_KAFKA_HOME: home, FLEAD_KAFKA_PORT: String(port), FLEAD_KAFKA_CONTROLLER_PORT: String(cport), FLEAD_KAFKA_VERSION: version, FLEAD_KAFKA_CPUS: '' };
  const kafka = (cmd: string) => execFileSync('bash', [path.join(repoRoot, 'scripts/kafka/kafka.sh'), cmd], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const broker: PrivateBroker = {
    brokers: `127.0.0.1:${port}`,
    start: () => void kafka('start'),
    stop: () => void kafka('stop'),
    remove: () => {
      try { kafka('stop'); } finally { rmSync(home, { recursive: true, force: true }); }
    },
  };
  broker.start();
  return broker;
}
