/**
 * Infrastructure errors carry `retriable`: true when the same call may succeed later (broker down, timeout),
 * false when it never will (conflict, fenced writer, message too large). Domain rejections are not errors.
 */
export type InfraErrorKind = 'conflict' | 'fenced' | 'unavailable' | 'too-large' | 'corrupt' | 'closed';

export class InfraError extends Error {
  constructor(
    readonly kind: InfraErrorKind,
    message: string,
    readonly retriable: boolean,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = `InfraError(${kind})`;
  }
}

export const isRetriable = (e: unknown): boolean => e instanceof InfraError && e.retriable;
