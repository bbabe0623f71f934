/**
 * Adam and AdamW (PyTorch semantics) with fp32 state and per-group learning rates, plus global gradient-norm
 * clipping. AdamW decays the weights directly (decoupled: p ← p·(1 − lr·wd)); Adam adds the decay to the gradient
 * (L2: g ← g + wd·p) before the moments, as torch.optim.Adam does. fp32 master weights and moments avoid the
 * research code's silent fp16 underflow (METHOD.md §11 item 3). State tensors are created once and updated in
 * place with assign, so the tensor count stays constant across steps.
 */
import * as tf from '@tensorflow/tfjs';
import { addAll } from './sum';

export interface ParamGroup {
  name: string;
  vars: tf.Variable[];
  /** Multiplies the scheduled learning rate for this group. */
  lrScale?: number;
  weightDecay?: number;
  /**
   * Per variable name: an element-wise multiplier of the learning rate, broadcast against the variable (a
   * [columns] vector for column slices). 0 freezes those elements: neither the update nor the weight decay
   * touches them, so they stay bit-identical.
   */
  scales?: ReadonlyMap<string, tf.Tensor>;
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** What a training loop needs of an optimiser (optimizer.ts builds the one a tune section names). */
export interface Optimizer {
  /** Updates applied so far. */
  readonly step: number;
  /**
   * One update with gradients keyed by variable name (as tf.variableGrads returns them). Variables without a
   * gradient are left unchanged (their state too). `lr` is the scheduled learning rate, times each group's lrScale.
   */
  apply(grads: Record<string, tf.Tensor>, lr: number): void;
  /** Forget the state and the step counter. */
  reset(): void;
  dispose(): void;
}

class AdamFamily implements Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly groups: ParamGroup[],
    opts: AdamWOptions,
    private readonly decay: 'decoupled' | 'l2',
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    for (const g of groups) {
      for (const p of g.vars) {
        if (this.m.has(p.name)) throw new Error(`optimiser: variable ${p.name} is in two parameter groups`);
        // tf.variable keeps its own reference to the initial tensor's data; dispose the temporary.
        const zeros = tf.zerosLike(p);
        this.m.set(p.name, tf.variable(zeros, false));
        this.v.set(p.name, tf.variable(zeros, false));
        zeros.dispose();
      }
    }
  }

  get step(): number {
    return this.t;
  }

  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    tf.tidy(() => {
      for (const g of this.groups) {
        const glr = lr * (g.lrScale ?? 1);
        const wd = g.weightDecay ?? 0;
        for (const p of g.vars) {
          const raw = grads[p.name];
          if (!raw) continue;
          const grad = this.decay === 'l2' && wd > 0 ? tf.add(raw, tf.mul(p, wd)) : raw;
          const m = this.m.get(p.name) as tf.Variable;
          const v = this.v.get(p.name) as tf.Variable;
          m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(grad, 1 - this.beta1)));
          v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(grad), 1 - this.beta2)));
          const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps));
          // A per-column scale (0 = a column the group does not train) multiplies the rate, so such a column gets no
          // update and no decay of either kind (L2 decay rides in the update).
          const scale = g.scales?.get(p.name);
          const rate: tf.Tensor | number = scale === undefined ? glr : tf.mul(scale, glr);
          const decayed = this.decay === 'decoupled' && wd > 0 ? tf.mul(p, tf.sub(1, tf.mul(rate, wd))) : p;
          p.assign(tf.sub(decayed, tf.mul(update, rate)));
        }
      }
    });
  }

  /** Reset moments and the step counter (block search restores weights and starts a fresh optimiser). */
  reset(): void {
    this.t = 0;
    tf.tidy(() => {
      for (const x of [...this.m.values(), ...this.v.values()]) x.assign(tf.zerosLike(x));
    });
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** AdamW: Adam with decoupled weight decay (torch.optim.AdamW). */
export class AdamW extends AdamFamily {
  constructor(groups: ParamGroup[], opts: AdamWOptions = {}) {
    super(groups, opts, 'decoupled');
  }
}

/** Adam with L2 weight decay added to the gradient (torch.optim.Adam's weight_decay). */
export class Adam extends AdamFamily {
  constructor(groups: ParamGroup[], opts: AdamWOptions = {}) {
    super(groups, opts, 'l2');
  }
}

/** Global L2 norm of gradients (host number; one sync). The squares are summed in chunks (sum.ts: webgpu's AddN limit). */
export async function globalNorm(grads: tf.Tensor[]): Promise<number> {
  if (grads.length === 0) return 0;
  const s = tf.tidy(() => tf.sqrt(addAll(grads.map((g) => tf.sum(tf.square(g))))));
  const n = (await s.data())[0] as number;
  s.dispose();
  return n;
}

/**
 * Scale gradients in place (returns new tensors, disposing the old) so their global norm is at most `maxNorm`.
 * Returns the norm before clipping.
 */
export async function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): Promise<number> {
  const norm = await globalNorm(Object.values(grads));
  if (maxNorm > 0 && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (const k of Object.keys(grads)) {
      const old = grads[k] as tf.Tensor;
      grads[k] = tf.mul(old, scale);
      old.dispose();
    }
  }
  return norm;
}
