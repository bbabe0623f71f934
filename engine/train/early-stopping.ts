/**
 * Early stopping on a smoothed held-out metric (METHOD.md §7.6, on whole held-out evaluations). Each evaluation
 * gives one value of the metric; the smoothed value is the mean of the last `window` values (fewer at the start).
 * A smoothed value below the best so far is an improvement (the caller keeps those weights as the best); after
 * `patience` evaluations in a row without one, and once `minSteps` steps have run, training stops.
 * Non-goals: running evaluations, keeping weights (tune.ts).
 */
import type { EarlyStoppingConfig } from '../../protocol/contract';

export interface Observation {
  /** Mean of the last `window` values, this one included. */
  smoothed: number;
  /** The smoothed value is the best so far (strictly lower than every earlier one). */
  improved: boolean;
  /** Stop now: early stopping is enabled, patience has run out and `minSteps` steps have run. */
  stop: boolean;
}

export class EarlyStopping {
  private readonly values: number[] = [];
  private since = 0;
  /** Best smoothed value so far and the step of the evaluation that reached it. */
  best: number | undefined;
  bestStep: number | undefined;

  constructor(private readonly o: Pick<EarlyStoppingConfig, 'enabled' | 'patience' | 'minSteps' | 'window'>) {
    if (!(o.window >= 1)) throw new Error(`early_stopping.window must be at least 1 (got ${o.window})`);
  }

  /** Record the metric of the evaluation after step `step` (0-based), `stepsRun` steps into the run. */
  observe(step: number, value: number, stepsRun: number): Observation {
    this.values.push(value);
    const last = this.values.slice(-this.o.window);
    const smoothed = last.reduce((a, b) => a + b, 0) / last.length;
    const improved = this.best === undefined || smoothed < this.best;
    if (improved) {
      this.best = smoothed;
      this.bestStep = step;
      this.since = 0;
    } else this.since++;
    return { smoothed, improved, stop: this.o.enabled && !improved && this.since >= this.o.patience && stepsRun >= this.o.minSteps };
  }
}
