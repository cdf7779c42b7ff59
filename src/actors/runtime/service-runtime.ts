/**
 * What every event-sourced service starts with: its actor registry (the inspection endpoint's view), the
 * journal of its supervision decisions, and an actor system whose persistence engine is the journal port;
 * plus the inspection routes every service shares.
 */
import type { InspectionRoute } from '../../infra/http/inspection-server';
import type { Journal } from '../../infra/journal/port';
import type { Logger } from '../../infra/log';
import { nactEngine } from './journal-engine';
import { startSystem, type SystemRef } from './nact';
import { ActorRegistry } from './registry';
import { journalSupervisionLog, type SupervisionLog } from './supervision-log';

export interface ServiceRuntime {
  registry: ActorRegistry;
  supervisionLog: SupervisionLog;
  system: SystemRef;
}

export function startServiceRuntime(service: string, journal: Journal, log: Logger, wrapLog: (l: SupervisionLog) => SupervisionLog = (l) => l): ServiceRuntime {
  const registry = new ActorRegistry();
  const supervisionLog = wrapLog(journalSupervisionLog(journal, service, log.child('supervision')));
  const system = startSystem(service, nactEngine(journal, { onSnapshot: (key, seq) => registry.snapshotAt(key, seq) }));
  return { registry, supervisionLog, system };
}

/** /actors, /actors/{path} and (when given) /supervision. */
export function actorRoutes(registry: ActorRegistry, supervisionLog?: SupervisionLog): InspectionRoute[] {
  const routes: InspectionRoute[] = [
    { pattern: '/actors', handler: () => registry.list() },
    { pattern: '/actors/*path', handler: (p) => registry.get(p.path!), notFound: (p) => `no actor at path ${p.path}` },
  ];
  if (supervisionLog) routes.push({ pattern: '/supervision', handler: () => supervisionLog.recent() });
  return routes;
}
