/**
 * Cancellation, typed. Engine loops that cannot return a partial result throw a CancelledError when their
 * AbortSignal fires (checked once per step, after `yieldToEventLoop`); loops that can (tuning, block search)
 * return a `cancelled` status instead. Callers tell a cancellation from a failure with `instanceof`, never by
 * reading the message. Dependency-free, so the CLI, the worker and the runner can import it.
 */

export class CancelledError extends Error {
  /** The JobFailed / worker-error kind this error maps to. */
  readonly kind = 'cancelled' as const;

  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** Throws a CancelledError when `signal` has fired. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
