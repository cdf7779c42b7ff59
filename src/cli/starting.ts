/**
 * A service's start, step by step: each step that succeeded says how to undo it, and when a later step fails the
 * earlier ones are undone, last first, before the error goes on. A service that cannot start (its inspection
 * port taken, a data file that is not one, a broker refusing) then exits with its sentence instead of lingering
 * with half its parts running: a trainer whose port was taken had already joined its consumer group and kept
 * its partitions, with no endpoint and no exit. The service's normal stop is the same undo (`stopAll`), so
 * both paths stop the same parts in the same order.
 */
export class Starting {
  private readonly undo: Array<() => Promise<unknown>> = [];

  async step<T>(what: Promise<T>, stop?: (done: T) => Promise<unknown>): Promise<T> {
    let done: T;
    try {
      done = await what;
    } catch (e) {
      for (const u of this.undo.splice(0).reverse()) await u().catch(() => undefined);
      throw e;
    }
    if (stop) this.undo.push(() => stop(done));
    return done;
  }

  /** A part that is already running (opened before, or started synchronously): stopped with the others. */
  onStop(stop: () => Promise<unknown>): void {
    this.undo.push(stop);
  }

  /** Stop every part started, last first; the first failure is rethrown after all were tried. */
  async stopAll(): Promise<void> {
    let failed: { error: unknown } | undefined;
    for (const u of this.undo.splice(0).reverse()) {
      try {
        await u();
      } catch (e) {
        failed ??= { error: e };
      }
    }
    if (failed) throw failed.error;
  }
}
