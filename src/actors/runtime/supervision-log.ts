/**
 * Supervision decisions as events in the journal, under the key `<service>/supervision`. Appends are
 * serialised so sequence numbers stay contiguous; a failing journal never hides the crash being reported
 * (the event is kept in memory and the failure logged).
 */
import type { Journal } from '../../infra/journal/port';
import type { Logger } from '../../infra/log';

export type SupervisionEvent =
  | { type: 'ActorCrashed'; path: string; error: string; at: number }
  | { type: 'ActorRestarted'; path: string; at: number; delayMs: number; restartsInWindow: number }
  | { type: 'ActorStopped'; path: string; at: number; reason: string }
  | { type: 'SupervisionEscalated'; path: string; at: number; reason: string };

export interface SupervisionLog {
  record(event: SupervisionEvent): Promise<void>;
  /** the events recorded by this process, newest last */
  recent(): readonly SupervisionEvent[];
}

export function journalSupervisionLog(journal: Journal, service: string, log: Logger): SupervisionLog {
  const key = `${service}/supervision`;
  const kept: SupervisionEvent[] = [];
  let next: number | undefined;
  let chain: Promise<void> = Promise.resolve();
  return {
    record(event) {
      kept.push(event);
      if (kept.length > 1000) kept.shift();
      log.warn(`supervision: ${event.type} ${event.path}${'error' in event ? `: ${event.error}` : ''}${'reason' in event ? ` (${event.reason})` : ''}`);
      chain = chain.then(async () => {
        try {
          if (next === undefined) next = (await journal.highestSeq(key)) + 1;
          await journal.append(key, next, [{ type: event.type, schemaVersion: 1, timestamp: event.at, data: event }]);
          next++;
        } catch (e) {
          next = undefined;
          log.error(`supervision: could not journal ${event.type} for ${event.path}: ${(e as Error).message}`);
        }
      });
      return chain;
    },
    recent: () => kept,
  };
}

export function memorySupervisionLog(): SupervisionLog {
  const kept: SupervisionEvent[] = [];
  return { record: async (e) => { kept.push(e); }, recent: () => kept };
}
