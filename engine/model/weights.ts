/**
 * Weight snapshots: copies of some of a model's variables, put back later. Tuning keeps the base values of what it
 * trains, a block search restores the weights between trials, and evaluation and export swap a tuned run's values
 * in and the base values back: all through this one module. Non-goals: files (checkpoints are the job layer's).
 */
import * as tf from '@tensorflow/tfjs';
import type { Model } from './forward';

export class WeightSnapshot {
  private constructor(
    private readonly vars: readonly tf.Variable[],
    private readonly saved: readonly tf.Tensor[],
  ) {}

  /** Copy the named variables of `model` (every parameter when `names` is omitted). */
  static take(model: Model, names?: Iterable<string>): WeightSnapshot {
    const vars = [...(names ?? model.params.keys())].map((n) => {
      const v = model.params.get(n);
      if (!v) throw new Error(`weights: parameter ${n} is not loaded`);
      return v;
    });
    return WeightSnapshot.of(vars);
  }

  static of(vars: readonly tf.Variable[]): WeightSnapshot {
    return new WeightSnapshot(
      vars,
      vars.map((v) => tf.clone(v)),
    );
  }

  /** Put the copied values back (the snapshot stays usable). */
  restore(): void {
    this.vars.forEach((v, i) => v.assign(this.saved[i] as tf.Tensor));
  }

  dispose(): void {
    tf.dispose([...this.saved]);
  }
}

/** Host copies (memory layout) of the named variables. */
export async function readWeights(model: Model, names: Iterable<string>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const name of names) {
    const v = model.params.get(name);
    if (!v) throw new Error(`weights: parameter ${name} is not loaded`);
    out.set(name, (await v.data()) as Float32Array);
  }
  return out;
}

/** Run `fn` with `weights` (HF name → values in memory layout) assigned into the model; the previous values come back afterwards, also when `fn` throws. */
export async function withWeights<T>(model: Model, weights: ReadonlyMap<string, Float32Array> | undefined, fn: () => Promise<T>): Promise<T> {
  if (!weights) return fn();
  const snap = WeightSnapshot.take(model, weights.keys());
  try {
    for (const [name, w] of weights) {
      const v = model.params.get(name) as tf.Variable;
      tf.tidy(() => v.assign(tf.tensor(w, v.shape)));
    }
    return await fn();
  } finally {
    snap.restore();
    snap.dispose();
  }
}
