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
export const untilStopped = (fenced: Promise<{ message: string }>, done: Promise<string> = new Promise(() => undefined)): Promise<Stopped> =>
  Promise.race([
    untilSignal().then((s): Stopped => ({ line: `${s}: stopping`, code: 0, level: 'info' })),
    done.then((line): Stopped => ({ line, code: 0, level: 'info' })),
    fenced.then((e): Stopped => ({ line: `${e.message}: another process runs with this service's writer id (FLEAD_TOPIC_PREFIX, service and --id); stopping`, code: 1, level: 'error' })),
  ]);
