/**
 * What every event-sourced service starts with: its actor registry (the inspection endpoint's view), the
 * journal of its supervision decisions, and an actor system whose persistence engine is the journal port;
 * plus the inspection routes every service shares.
 */
import type { InspectionRoute, TextBody } from '../../infra/http/inspection-server';
import { family, metricsBody, processSamples, watchEventLoop, type Sample } from '../../infra/http/metrics';
import type { Journal } from '../../infra/journal/port';
import type { Logger } from '../../infra/log';
import { nactEngine } from './journal-engine';
import { startSystem, type SystemRef } from './nact';
import { ActorRegistry } from './registry';
import { journalSupervisionLog, type SupervisionEvent, type SupervisionLog } from './supervision-log';

export interface ServiceRuntime {
  registry: ActorRegistry;
  supervisionLog: SupervisionLog;
  system: SystemRef;
}

export function startServiceRuntime(service: string, journal: Journal, log: Logger, wrapLog: (l: SupervisionLog) => SupervisionLog = (l) => l): ServiceRuntime {
  const registry = new ActorRegistry();
  const supervisionLog = wrapLog(journalSupervisionLog(journal, service, log.child('supervision')));
  const system = startSystem(service, nactEngine(journal, {
    onSnapshot: (key, seq) => registry.snapshotAt(key, seq),
    onSnapshotFailed: (key, seq, e) => log.warn(`snapshot of ${key} at seq ${seq} not saved (${e instanceof Error ? e.message : String(e)}): its events are journaled; recovery replays from an earlier snapshot`),
  }));
  return { registry, supervisionLog, system };
}

/**
 * The actors of some registries as metrics: live actors by kind and status, supervision restarts, messages
 * waiting in mailboxes, and the journal sequence numbers applied (summed over the event-sourced actors).
 */
export function actorSamples(registries: readonly ActorRegistry[]): Sample[] {
  const byKind = new Map<string, { kind: string; status: string; n: number }>();
  let restarts = 0;
  let mailbox = 0;
  let seq = 0;
  for (const r of registries) {
    for (const a of r.list()) {
      const k = `${a.kind}\u0000${a.status}`;
      const e = byKind.get(k) ?? { kind: a.kind, status: a.status, n: 0 };
      e.n++;
      byKind.set(k, e);
      restarts += a.restarts;
      mailbox += a.mailboxDepth ?? 0;
      if (a.persistenceKey) seq += a.seq;
    }
  }
  return [
    ...family('flead_actors', 'Actors in this process, by kind and status.', 'gauge', [...byKind.values()].map((e) => ({ labels: { kind: e.kind, status: e.status }, value: e.n }))),
    { name: 'flead_actor_restarts_total', help: 'Actor restarts by supervision, summed over the actors in this process.', type: 'counter', value: restarts },
    { name: 'flead_actor_mailbox_messages', help: 'Messages waiting in actor mailboxes, summed.', type: 'gauge', value: mailbox },
    { name: 'flead_actor_journal_seq_sum', help: 'Highest journal sequence number applied, summed over the event-sourced actors in this process.', type: 'gauge', value: seq },
  ];
}

/** The /metrics response of one service: the process, its actors and its own counters. */
export const serviceMetrics = (registries: readonly ActorRegistry[], own: () => Sample[] = () => []): TextBody =>
  metricsBody([...processSamples(), ...actorSamples(registries), ...own()]);

/** /actors, /actors/{path}, /metrics (Prometheus text; `metrics`: the service's own counters) and (when given) /supervision. */
export function actorRoutes(registry: ActorRegistry, supervisionLog?: SupervisionLog, metrics?: () => Sample[]): InspectionRoute[] {
  watchEventLoop();
  const routes: InspectionRoute[] = [
    { pattern: '/actors', handler: () => registry.list() },
    { pattern: '/actors/*path', handler: (p) => registry.get(p.path!), notFound: (p) => `no actor at path ${p.path}` },
    { pattern: '/metrics', handler: () => serviceMetrics([registry], metrics) },
  ];
  if (supervisionLog) routes.push({ pattern: '/supervision', handler: () => supervisionLog.recent() });
  return routes;
}

/** What one service in a process offers the merged endpoint: its routes, actors and own counters. */
export interface RoutedService { routes: InspectionRoute[]; registry: ActorRegistry; metrics(): Sample[] }

/**
 * One inspection endpoint over several services in one process (the embedded profile): /health as given;
 * /actors, /actors/{path}, /metrics and /supervision over every service (supervision decisions in time order);
 * every other path from the first service that has it.
 */
export function mergedRoutes(services: readonly RoutedService[], health: () => unknown): InspectionRoute[] {
  const merged: InspectionRoute[] = [
    { pattern: '/health', handler: health },
    { pattern: '/actors', handler: () => services.flatMap((s) => s.registry.list()) },
    { pattern: '/actors/*path', handler: (p) => services.map((s) => s.registry.get(p.path!)).find((x) => x), notFound: (p) => `no actor at path ${p.path}` },
    { pattern: '/metrics', handler: () => serviceMetrics(services.map((s) => s.registry), () => services.flatMap((s) => s.metrics())) },
    {
      pattern: '/supervision',
      handler: async (p, q) => {
        const logs = services.flatMap((s) => s.routes.filter((r) => r.pattern === '/supervision'));
        const events = (await Promise.all(logs.map((r) => r.handler(p, q)))).flat() as SupervisionEvent[];
        return events.sort((a, b) => a.at - b.at);
      },
    },
  ];
  const seen = new Set(merged.map((r) => r.pattern));
  for (const s of services) for (const r of s.routes) if (!seen.has(r.pattern)) { seen.add(r.pattern); merged.push(r); }
  return merged;
}
