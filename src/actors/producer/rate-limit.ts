/**
 * Token buckets for the producer's rate limits (per device and in total). `reserve(n)` takes n tokens now
 * and returns how long the caller must wait before using them, so the long-run rate is exact; a rate of
 * Infinity never waits. The clock is injected (tests use a fake one).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(readonly ratePerSec: number, readonly burst: number = Math.max(1, Math.ceil(ratePerSec / 10)), private readonly clock: () => number = Date.now) {
    if (!(ratePerSec > 0)) throw new Error(`rate must be positive (Infinity = unlimited), got ${ratePerSec}`);
    this.tokens = burst;
    this.last = clock();
  }

  /** Take n tokens; milliseconds to wait until they would have been available (0 when they were). */
  reserve(n = 1): number {
    if (this.ratePerSec === Infinity) return 0;
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
    this.last = now;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.ratePerSec);
  }
}

/** A rate as the logs say it: "500 msg/s", or "unlimited" for Infinity. */
export const rateText = (ratePerSec: number): string => (ratePerSec === Infinity ? 'unlimited' : `${ratePerSec} msg/s`);
