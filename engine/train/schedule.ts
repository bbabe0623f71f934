/**
 * Learning-rate schedule: linear warmup to the peak, then cosine, linear or no decay down to a floor (nanoGPT's
 * get_lr). A tune scales the schedule by each group's peak learning rate (`scheduleFactor`), so the floor is
 * `min_lr_ratio` times that group's peak and can never exceed it (METHOD.md §11 item 4).
 */
import type { Decay, ScheduleConfig } from '../../protocol/contract';

export interface Schedule {
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Floor of the decay (default 0); never above baseLr. */
  minLr?: number;
  /** Default cosine. */
  decay?: Decay;
}

export function learningRate(s: Schedule, step: number): number {
  const minLr = Math.min(s.minLr ?? 0, s.baseLr);
  // 1) linear warmup from baseLr/warmup to baseLr
  if (step < s.warmupSteps) return (s.baseLr * (step + 1)) / s.warmupSteps;
  if (s.decay === 'constant') return s.baseLr;
  // 2) past the end: the floor
  if (step >= s.totalSteps) return minLr;
  // 3) in between: cosine (or linear) from baseLr down to minLr
  const ratio = (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  const coeff = s.decay === 'linear' ? 1 - ratio : 0.5 * (1 + Math.cos(Math.PI * ratio));
  return minLr + coeff * (s.baseLr - minLr);
}

/** Warmup steps of a run of `totalSteps`: `warmup_steps`, else `warmup_fraction` of the steps; at most the run. */
export function warmupOf(s: Pick<ScheduleConfig, 'warmupSteps' | 'warmupFraction'>, totalSteps: number): number {
  return Math.min(totalSteps, s.warmupSteps ?? Math.round(s.warmupFraction * totalSteps));
}

/** The schedule of a tune section as a factor of each group's peak learning rate (1 at the peak). */
export function scheduleFactor(s: ScheduleConfig, totalSteps: number, step: number): number {
  return learningRate({ baseLr: 1, warmupSteps: warmupOf(s, totalSteps), totalSteps, minLr: s.minLrRatio, decay: s.decay }, step);
}
