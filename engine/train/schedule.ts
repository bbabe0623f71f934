/** Learning-rate schedule: linear warmup, then cosine decay to `minLr` (nanoGPT's get_lr). */
import type { Decay } from '../../protocol/contract';

export interface Schedule {
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Floor of the cosine; defaults to 10% of baseLr, and never exceeds it (METHOD.md §11 item 4). */
  minLr?: number;
  kind?: Decay;
}

export function learningRate(s: Schedule, step: number): number {
  const minLr = Math.min(s.minLr ?? s.baseLr * 0.1, s.baseLr);
  // 1) linear warmup from baseLr/warmup to baseLr
  if (step < s.warmupSteps) return (s.baseLr * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.baseLr;
  // 2) past the end: the floor
  if (step >= s.totalSteps) return minLr;
  // 3) in between: cosine (or linear) from baseLr down to minLr
  const ratio = (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  const coeff = s.kind === 'linear' ? 1 - ratio : 0.5 * (1 + Math.cos(Math.PI * ratio));
  return minLr + coeff * (s.baseLr - minLr);
}
