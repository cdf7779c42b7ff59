import type { CommandSpec } from './args';
import { loadConfig, type Config } from '../config';
import { createLogger } from '../infra/log';
import { openInfra } from '../infra/profile';
import { startInspectionServer } from '../infra/http/inspection-server';
import { startAggregator } from '../actors/aggregator/service';
import { startSimulatedClients } from '../actors/simulator/clients';
import type { RoundState } from '../actors/aggregator/round.state';
import { isLeft } from 'fp-ts/Either';

export const embeddedSpec: CommandSpec = {
  name: 'flead embedded',
  summary: 'Run the aggregator and simulated federated clients in one process: on-disk journal and bus under FLEAD_DATA_DIR, no Kafka, no Docker. Stops after --rounds more global versions; run it again to resume from the journal.',
  options: [
    { name: 'rounds', type: 'int', default: 5, description: 'global versions to publish before stopping' },
    { name: 'clients', type: 'int', default: 4, description: 'simulated clients' },
    { name: 'inspect-port', type: 'int', description: 'port of the inspection endpoint (0 = ephemeral)', env: 'INSPECT_PORT' },
  ],
};

export async function runEmbedded(values: Record<string, unknown>, envConfig: Config): Promise<number> {
  const clients = values.clients as number;
  const rounds = values.rounds as number;
  const decoded = loadConfig(process.env, {
    FLEAD_PROFILE: 'embedded',
    ROUND_QUORUM: process.env.ROUND_QUORUM ?? String(Math.max(1, clients)),
    ROUND_MIN_UPDATES: process.env.ROUND_MIN_UPDATES ?? String(Math.max(1, Math.min(2, clients))),
    ROUND_DEADLINE_MS: process.env.ROUND_DEADLINE_MS ?? '10000',
    ROUND_INTERVAL_MS: process.env.ROUND_INTERVAL_MS ?? '200',
    INSPECT_PORT: String(envConfig.inspect.port),
  });
  if (isLeft(decoded)) { process.stderr.write(`flead embedded: configuration error: ${decoded.left}\n`); return 2; }
  const config = decoded.right;
  const log = createLogger('embedded', config.logLevel);
  const infra = await openInfra(config, 'aggregator');
  log.info(`embedded profile: journal ${infra.journal.describe}; bus ${infra.bus.describe}; models ${infra.store.dir}`);
  const svc = await startAggregator({ config, ...infra, log: log.child('aggregator') });
  const sims = await startSimulatedClients({ clients, seed: config.model.seed, bus: infra.bus, topics: config.topics, groupId: 'flead-simulated-clients', log: log.child('clients') });
  const http = await startInspectionServer({ host: config.inspect.host, port: config.inspect.port, routes: svc.routes, log });
  await svc.ready;
  log.info(`inspection endpoint ${http.url} (GET /health /actors /rounds /models); Ctrl-C stops, a second run resumes`);

  const state = () => svc.registry.get('aggregator/round')?.state as RoundState | undefined;
  const start = Date.now();
  let startVersion: number | null = null;
  let interrupted = false;
  const onSignal = () => { interrupted = true; };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  while (!interrupted) {
    const s = state();
    if (s && s.version !== null && startVersion === null && s.phase !== 'Uninitialised') startVersion = s.version;
    if (s && startVersion !== null && s.version !== null && s.version >= startVersion + rounds) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await svc.stop();
  await sims.stop();
  await http.close();
  await infra.close();

  const s = state();
  if (s) {
    const lines = ['round  status      accepted  rejected  version  hash'];
    for (const r of s.rounds.slice(-Math.max(rounds, 1) - 2)) {
      const rejected = Object.values(r.rejected).reduce((a, b) => a + (b ?? 0), 0);
      const hash = r.version === null ? '' : (s.models.find((m) => m.version === r.version)?.hash.slice(0, 16) ?? '');
      lines.push(`${String(r.round).padStart(5)}  ${r.status.padEnd(10)}  ${String(r.accepted.length).padStart(8)}  ${String(rejected).padStart(8)}  ${String(r.version ?? '-').padStart(7)}  ${hash}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    process.stdout.write(`${interrupted ? 'interrupted' : 'done'}: global version ${s.version} after ${s.rounds.length} rounds in total (${((Date.now() - start) / 1000).toFixed(1)} s this run); journal and models are under ${config.dataDir} and ${config.modelsDir}; run again to resume\n`);
  }
  return 0;
}
