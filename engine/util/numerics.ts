/**
 * A computation met a value that is not a finite number (NaN or ±Infinity) where it needs one: an infinite NLL,
 * non-finite logits. A RangeError, so callers that only check for bad arguments still catch it; the worker reports
 * it as a `numerics` failure by `instanceof`. Dependency-free.
 */
export class NumericsError extends RangeError {
  readonly kind = 'numerics' as const;

  constructor(message: string) {
    super(message);
    this.name = 'NumericsError';
  }
}
