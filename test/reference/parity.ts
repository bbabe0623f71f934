/**
 * Shared pieces of the float64 parity tests (test/engine/forward.test.ts, architectures.test.ts): weights of an
 * engine model in float64 HF layout, random models whose norm gains and biases are random too (so a norm read as
 * w instead of 1 + w, or a dropped bias, changes the numbers), and the two checks: logits against
 * `referenceLogits`, and the engine's gradients against float64 central finite differences of `referenceLoss`.
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../model/config';
import { paramSpecs } from '../../model/params';
import { forward, type Model } from '../../engine/model/forward';
import { modelFromTensors, modelToTensors, type HostTensor } from '../../engine/model/load';
import { nextTokenLoss } from '../../engine/model/loss';
import { setTrainable } from '../../engine/model/load';
import { Rng } from '../../engine/util/random';
import { maxRelDiff } from '../helpers';
import { referenceLogits, referenceLoss, type Weights64 } from './transformer64';

export async function weights64(model: Model): Promise<Weights64> {
  const host = await modelToTensors(model);
  const out: Weights64 = new Map();
  for (const [k, v] of host) out.set(k, Float64Array.from(v.data));
  return out;
}

export function randomIds(rng: Rng, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => rng.int(vocab));
}

/**
 * Every tensor random: matrices N(0, std²), norm gains around their neutral value (1, or 0 for Gemma's 1 + w)
 * with spread `std`, biases N(0, std²).
 */
export function randomWeightsModel(config: ModelConfig, seed: number, std = 0.2): Model {
  const rng = new Rng(seed);
  const tensors = new Map<string, HostTensor>();
  for (const s of paramSpecs(config)) {
    const n = s.diskShape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNorm = s.diskShape.length === 1 && /(ln_|layernorm|norm)/.test(s.name) && s.name.endsWith('weight');
    const neutral = isNorm && (config.arch === 'gpt2' || !config.normPlusOne) ? 1 : 0;
    for (let i = 0; i < n; i++) data[i] = neutral + rng.normal() * std;
    tensors.set(s.name, { shape: s.diskShape, data });
  }
  return modelFromTensors(config, tensors, `random(seed=${seed})`, 'hf');
}

/** Max relative difference between the engine's logits and the float64 reference on one sequence. */
export async function logitsDiff(model: Model, ids: number[]): Promise<number> {
  const ws = await weights64(model);
  const ref = referenceLogits(model.config, ws, ids);
  const logits = tf.tidy(() => forward(model, [ids]).logits as tf.Tensor3D);
  const got = await logits.data();
  logits.dispose();
  return maxRelDiff(got, Float64Array.from(ref.flatMap((r) => Array.from(r))), 1e-2);
}

/**
 * The engine's loss equals the reference's, and `trials` random entries of every parameter's gradient equal
 * float64 central differences of the reference loss. Returns how many entries were checked.
 */
export async function checkGradients(model: Model, ids: number[], seed: number, trials = 3): Promise<number> {
  const config = model.config;
  const vars = setTrainable(model, 'all');
  const { value, grads } = tf.variableGrads(() => nextTokenLoss(forward(model, [ids]).logits as tf.Tensor3D, [ids]), vars);
  try {
    const ws = await weights64(model);
    const refLoss = referenceLoss(config, ws, ids);
    assert.ok(Math.abs(((await value.data())[0] as number) - refLoss) < 1e-4 * Math.max(1, refLoss), 'loss');
    const rng = new Rng(seed);
    const eps = 1e-5;
    let checked = 0;
    const hfName = new Map([...model.params].map(([hf, v]) => [v.name, hf]));
    const specs = new Map(paramSpecs(config).map((s) => [s.name, s]));
    for (const [vname, g] of Object.entries(grads)) {
      const pname = hfName.get(vname) as string;
      const spec = specs.get(pname);
      assert.ok(spec !== undefined, pname);
      const gdata = await g.data();
      const disk = ws.get(pname) as Float64Array;
      for (let trial = 0; trial < trials; trial++) {
        const i = rng.int(gdata.length);
        // Map a memory index to its disk index ([in, out] in memory vs [out, in] on disk for nn.Linear weights).
        let di = i;
        if (spec.transposed) {
          const [rows, cols] = spec.shape as [number, number];
          di = (i % cols) * rows + Math.floor(i / cols);
        }
        const orig = disk[di] as number;
        disk[di] = orig + eps;
        const lp = referenceLoss(config, ws, ids);
        disk[di] = orig - eps;
        const lm = referenceLoss(config, ws, ids);
        disk[di] = orig;
        const fd = (lp - lm) / (2 * eps);
        const got = gdata[i] as number;
        assert.ok(Math.abs(got - fd) <= 2e-4 + 2e-3 * Math.abs(fd), `${pname}[${i}]: engine ${got} vs finite difference ${fd}`);
        checked++;
      }
    }
    assert.ok(checked >= trials * vars.length);
    return checked;
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}
