/**
 * Plain stochastic gradient descent (torch.optim.SGD without momentum): p ← p − lr·(g + wd·p). No state, so
 * betas and eps do not apply; weight decay is L2, which for SGD is the same as decaying the weights directly.
 */
import * as tf from '@tensorflow/tfjs';
import type { Optimizer, ParamGroup } from './adamw';

export class Sgd implements Optimizer {
  private t = 0;

  constructor(readonly groups: ParamGroup[]) {
    const seen = new Set<string>();
    for (const g of groups) {
      for (const p of g.vars) {
        if (seen.has(p.name)) throw new Error(`optimiser: variable ${p.name} is in two parameter groups`);
        seen.add(p.name);
      }
    }
  }

  get step(): number {
    return this.t;
  }

  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    this.t += 1;
    tf.tidy(() => {
      for (const g of this.groups) {
        const glr = lr * (g.lrScale ?? 1);
        const wd = g.weightDecay ?? 0;
        for (const p of g.vars) {
          const raw = grads[p.name];
          if (!raw) continue;
          const grad = wd > 0 ? tf.add(raw, tf.mul(p, wd)) : raw;
          // A per-column scale (0 = a column the group does not train) multiplies the rate.
          const scale = g.scales?.get(p.name);
          p.assign(tf.sub(p, tf.mul(grad, scale === undefined ? glr : tf.mul(scale, glr))));
        }
      }
    });
  }

  reset(): void {
    this.t = 0;
  }

  dispose(): void {}
}
