/** Resolves with the first SIGINT/SIGTERM (Ctrl-C, docker stop). */
export const untilSignal = (): Promise<NodeJS.Signals> =>
  new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => { process.off('SIGINT', on); process.off('SIGTERM', on); resolve(s); };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });

/**
 * The first SIGINT/SIGTERM, or the service's journal fenced by another process with the same writer id (it can
 * write nothing more): what stopped it, as a log line and an exit code (0 for a signal, 1 when fenced).
 */
export async function untilStopped(fenced: Promise<{ message: string }>, more: Promise<'done'> = new Promise(() => undefined)): Promise<{ line: string; code: number; level: 'info' | 'error' }> {
  const why = await Promise.race([untilSignal(), fenced, more]);
  if (why === 'done') return { line: 'every row published: stopping', code: 0, level: 'info' };
  if (typeof why === 'string') return { line: `${why}: stopping`, code: 0, level: 'info' };
  return { line: `${why.message}: another process runs with this service's writer id (FLEAD_TOPIC_PREFIX, service and --id); stopping`, code: 1, level: 'error' };
}
