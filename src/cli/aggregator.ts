import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { CommandSpec } from './args';
import { runFile } from './embedded-run';
import type { Config } from '../config';
import { createLogger } from '../infra/log';
import { openInfra } from '../infra/profile';
import { startInspectionServer } from '../infra/http/inspection-server';
import { startAggregator } from '../actors/aggregator/service';
import { stopWithin, untilStopped } from './signals';
import { Starting } from './starting';

export const aggregatorSpec: CommandSpec = {
  name: 'flead aggregator',
  summary: 'Run the aggregator: one round actor folds local-model-updates into global-model-updates (configuration: ROUND_*, AGG_*, MODEL_*).',
  options: [
    { name: 'profile', type: 'string', choices: ['local', 'embedded'], description: 'journal and bus: Kafka (local) or on-disk (embedded)', env: 'FLEAD_PROFILE' },
    { name: 'inspect-port', type: 'int', description: 'port of the inspection endpoint (0 = ephemeral)', env: 'INSPECT_PORT' },
  ],
};

export async function runAggregator(_values: Record<string, unknown>, config: Config): Promise<number> {
  // MODELS_DIR holding an embedded run's global models (npm start's ./models, with its run.json): this aggregator's
  // versions would overwrite them.
  if (config.profile === 'local' && existsSync(path.join(config.modelsDir, runFile))) {
    process.stderr.write(`flead aggregator: ${config.modelsDir} holds the global models of an embedded run (${runFile}) and this aggregator would write its versions over them: ` +
      `set MODELS_DIR to a directory of its own, e.g. MODELS_DIR=${config.modelsDir}-local\n`);
    return 2;
  }
  const log = createLogger('aggregator', config.logLevel);
  const start = new Starting();
  const infra = await start.step(openInfra(config, 'aggregator', log), (i) => i.close());
  log.info(`journal: ${infra.journal.describe}; bus: ${infra.bus.describe}; models: ${infra.store.dir}`);
  let fatal: string | undefined;
  const svc = await start.step(startAggregator({ config, ...infra, log, onFatal: (r) => { fatal = r; process.kill(process.pid, 'SIGTERM'); } }), (s) => s.stop());
  const http = await start.step(startInspectionServer({ host: config.inspect.host, port: config.inspect.port, routes: svc.routes, log }), (h) => h.close());
  await start.step(svc.ready);
  log.info(`inspection endpoint ${http.url} (GET /health /metrics /actors /rounds /models)`);
  const stopped = await untilStopped(infra.fenced);
  log[stopped.level](stopped.line);
  await stopWithin(log, () => start.stopAll());
  if (fatal) { log.error(`stopped after an escalated failure: ${fatal}`); return 1; }
  return stopped.code;
}
