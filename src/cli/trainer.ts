import type { CommandSpec } from './args';
import type { Config } from '../config';
import { createLogger } from '../infra/log';
import { openInfra } from '../infra/profile';
import { startInspectionServer } from '../infra/http/inspection-server';
import { startTrainer } from '../actors/trainer/service';
import { stopWithin, untilStopped } from './signals';
import { Starting } from './starting';
import os from 'node:os';

export const trainerSpec: CommandSpec = {
  name: 'flead trainer',
  summary: 'Run a trainer: one actor per device scores every reading (z-score baseline + the federated model), emits anomalies, trains locally and sends updates for open rounds. Run more processes to scale (one Kafka consumer group).',
  options: [
    { name: 'id', type: 'string', description: 'this process\'s name (its Kafka journal writer id)', env: 'TRAINER_ID' },
    { name: 'profile', type: 'string', choices: ['local', 'embedded'], description: 'journal and bus: Kafka (local) or on-disk (embedded)', env: 'FLEAD_PROFILE' },
    { name: 'inspect-port', type: 'int', description: 'port of the inspection endpoint (0 = ephemeral)', env: 'INSPECT_PORT' },
  ],
};

export async function runTrainer(values: Record<string, unknown>, config: Config): Promise<number> {
  const instanceId = (values.id as string | undefined) ?? `${os.hostname()}-${process.pid}`;
  const log = createLogger(`trainer[${instanceId}]`, config.logLevel);
  const start = new Starting();
  const infra = await start.step(openInfra(config, `trainer-${instanceId}`, log), (i) => i.close());
  log.info(`journal: ${infra.journal.describe}; bus: ${infra.bus.describe}`);
  const svc = await start.step(startTrainer({ config, journal: infra.journal, bus: infra.bus, log, instanceId }), (s) => s.stop());
  const http = await start.step(startInspectionServer({ host: config.inspect.host, port: config.inspect.port, routes: svc.routes, log }), (h) => h.close());
  await start.step(svc.ready);
  log.info(`inspection endpoint ${http.url} (GET /health /metrics /actors /devices)`);
  const stopped = await untilStopped(infra.fenced);
  log[stopped.level](stopped.line);
  await stopWithin(log, () => start.stopAll());
  return stopped.code;
}
