import type { Logger } from '../infra/log';

/** Resolves with the first SIGINT/SIGTERM (Ctrl-C, docker stop). */
export const untilSignal = (): Promise<NodeJS.Signals> =>
  new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => { process.off('SIGINT', on); process.off('SIGTERM', on); resolve(s); };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });

export interface Stopped { line: string; code: number; level: 'info' | 'error' }

/**
 * What stops a service: the first SIGINT/SIGTERM (exit 0), its journal fenced by another process with the same
 * writer id, which leaves it nothing to write (exit 1), or `done` resolving with its own stop line (exit 0).
 */
const never = new Promise<string>(() => undefined);

/** The first of: a signal, `done` (exit 0), the writer id fenced (exit 1), `refused` (a sentence: exit 2). */
export const untilStopped = (fenced: Promise<{ message: string }>, done: Promise<string> = never, refused: Promise<string> = never): Promise<Stopped> =>
  Promise.race([
    untilSignal().then((s): Stopped => ({ line: `${s}: stopping`, code: 0, level: 'info' })),
    done.then((line): Stopped => ({ line, code: 0, level: 'info' })),
    refused.then((): Stopped => ({ line: 'cannot go on (the error above says why): stopping', code: 2, level: 'error' })),
    fenced.then((e): Stopped => ({ line: `${e.message}: another process runs with this service's writer id (FLEAD_TOPIC_PREFIX, service and --id); stopping`, code: 1, level: 'error' })),
  ]);

export const stopDefaults = { timeoutMs: 30_000 } as const;

/**
 * Run a service's stop steps, bounded. A broker or database that is away can hold a graceful stop (consumers
 * leaving their group, the journal's last transaction, retries) for minutes; after `timeoutMs`, or at a second
 * SIGINT/SIGTERM, the process exits 1 with a line saying so. Nothing is lost by that: what was journaled stays,
 * and what was not is read again from Kafka on the next start.
 */
export async function stopWithin(log: Logger, steps: () => Promise<void>, timeoutMs: number = stopDefaults.timeoutMs): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onSignal: ((s: NodeJS.Signals) => void) | undefined;
  const cut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`stopping did not finish within ${timeoutMs / 1000} s (is the broker or the database away?)`), timeoutMs);
    onSignal = (s) => resolve(`${s} again while stopping`);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  try {
    const why = await Promise.race([steps().then(() => undefined), cut]);
    if (why === undefined) return;
    log.error(`${why}: exiting now; what was journaled is kept, what was not is read again on the next start`);
    process.exit(1);
  } finally {
    clearTimeout(timer);
    if (onSignal) { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); }
  }
}
