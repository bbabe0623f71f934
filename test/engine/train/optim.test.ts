/**
 * AdamW and Adam against hand-written float64 reference updates, SGD exactly, the configuration's name and eps
 * reaching the optimiser; schedule values per decay with the ratio floor; gradient clipping.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Adam, AdamW, clipByGlobalNorm } from '../../../engine/train/adamw';
import { createOptimizer, allFinite } from '../../../engine/train/optimizer';
import { learningRate, scheduleFactor, warmupOf } from '../../../engine/train/schedule';
import { Sgd } from '../../../engine/train/sgd';
import type { OptimizerConfig } from '../../../protocol/contract';
import { optimizer as optimizerSettings, schedule } from '../method/tune-fixtures';
import { testBackend } from '../../helpers';

describe('AdamW', () => {
  before(async () => {
    await testBackend();
  });

  it('matches the PyTorch AdamW update rule over several steps, with per-group lr and weight decay', async () => {
    const w0 = [0.5, -1.5, 2.0];
    const u0 = [1.0, 0.25];
    const w = tf.variable(tf.tensor1d(w0));
    const u = tf.variable(tf.tensor1d(u0));
    const opt = new AdamW(
      [
        { name: 'w', vars: [w], weightDecay: 0.1 },
        { name: 'u', vars: [u], lrScale: 0.5 },
      ],
      { beta1: 0.9, beta2: 0.99, eps: 1e-8 },
    );
    const gw = [
      [0.1, -0.2, 0.3],
      [0.05, 0.4, -0.1],
      [-0.3, 0.2, 0.2],
    ];
    const gu = [
      [1, -1],
      [0.5, 0.5],
      [2, 0],
    ];
    // float64 reference
    const ref = (p0: number[], gs: number[][], lr: number, wd: number): number[] => {
      const p = [...p0];
      const m = p.map(() => 0);
      const v = p.map(() => 0);
      gs.forEach((g, t0) => {
        const t = t0 + 1;
        for (let i = 0; i < p.length; i++) {
          p[i] = (p[i] as number) * (1 - lr * wd);
          m[i] = 0.9 * (m[i] as number) + 0.1 * (g[i] as number);
          v[i] = 0.99 * (v[i] as number) + 0.01 * (g[i] as number) ** 2;
          const mh = (m[i] as number) / (1 - 0.9 ** t);
          const vh = (v[i] as number) / (1 - 0.99 ** t);
          p[i] = (p[i] as number) - (lr * mh) / (Math.sqrt(vh) + 1e-8);
        }
      });
      return p;
    };
    for (let t = 0; t < 3; t++) {
      opt.apply({ [w.name]: tf.tensor1d(gw[t] as number[]), [u.name]: tf.tensor1d(gu[t] as number[]) }, 0.01);
    }
    const ew = ref(w0, gw, 0.01, 0.1);
    const eu = ref(u0, gu, 0.005, 0);
    const gotW = await w.data();
    const gotU = await u.data();
    ew.forEach((e, i) => assert.ok(Math.abs((gotW[i] as number) - e) < 1e-6, `w[${i}] ${gotW[i]} vs ${e}`));
    eu.forEach((e, i) => assert.ok(Math.abs((gotU[i] as number) - e) < 1e-6, `u[${i}] ${gotU[i]} vs ${e}`));
    const n = tf.memory().numTensors;
    opt.apply({ [w.name]: tf.tensor1d([0, 0, 0]) }, 0.01);
    assert.equal(tf.memory().numTensors, n + 1, 'only the gradient passed in remains');
    opt.dispose();
    tf.dispose([w, u]);
  });

  it('clips by global norm', async () => {
    const grads: Record<string, tf.Tensor> = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) };
    const norm = await clipByGlobalNorm(grads, 1);
    assert.ok(Math.abs(norm - 5) < 1e-6);
    const a = await (grads['a'] as tf.Tensor).data();
    assert.ok(Math.abs((a[0] as number) - 0.6) < 1e-5);
    tf.dispose(Object.values(grads));
  });
});

/** Float64 Adam over `gs` from `p0`: decay 'decoupled' (AdamW), 'l2' (Adam) at rate `wd`. */
function adamRef(p0: number[], gs: number[][], lr: number, wd: number, decay: 'decoupled' | 'l2', eps = 1e-8, b1 = 0.9, b2 = 0.99): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  gs.forEach((g0, t0) => {
    const t = t0 + 1;
    for (let i = 0; i < p.length; i++) {
      const g = (g0[i] as number) + (decay === 'l2' ? wd * (p[i] as number) : 0);
      if (decay === 'decoupled') p[i] = (p[i] as number) * (1 - lr * wd);
      m[i] = b1 * (m[i] as number) + (1 - b1) * g;
      v[i] = b2 * (v[i] as number) + (1 - b2) * g ** 2;
      p[i] = (p[i] as number) - (lr * ((m[i] as number) / (1 - b1 ** t))) / (Math.sqrt((v[i] as number) / (1 - b2 ** t)) + eps);
    }
  });
  return p;
}

describe('Adam, SGD and the optimizer settings', () => {
  before(async () => {
    await testBackend();
  });
  const gs = [
    [0.1, -0.2, 0.3],
    [0.05, 0.4, -0.1],
    [-0.3, 0.2, 0.2],
  ];
  const w0 = [0.5, -1.5, 2.0];
  const run = async (
    make: (w: tf.Variable) => { apply(g: Record<string, tf.Tensor>, lr: number): void; dispose(): void },
    lr = 0.01,
  ): Promise<Float32Array> => {
    const w = tf.variable(tf.tensor1d(w0));
    const opt = make(w);
    for (const g of gs) {
      const t = tf.tensor1d(g);
      opt.apply({ [w.name]: t }, lr);
      t.dispose();
    }
    const out = (await w.data()) as Float32Array;
    opt.dispose();
    w.dispose();
    return out;
  };

  it('adam adds weight_decay × weight to the gradient (L2), unlike adamw; with weight_decay 0 the two are identical', async () => {
    const adam = await run((w) => new Adam([{ name: 'w', vars: [w], weightDecay: 0.1 }], { beta1: 0.9, beta2: 0.99 }));
    const l2 = adamRef(w0, gs, 0.01, 0.1, 'l2');
    const decoupled = adamRef(w0, gs, 0.01, 0.1, 'decoupled');
    l2.forEach((e, i) => assert.ok(Math.abs((adam[i] as number) - e) < 1e-6, `adam w[${i}] ${adam[i]} vs ${e}`));
    assert.ok(
      l2.some((e, i) => Math.abs(e - (decoupled[i] as number)) > 1e-5),
      'the reference tells L2 from decoupled decay apart',
    );
    const a0 = await run((w) => new Adam([{ name: 'w', vars: [w], weightDecay: 0 }], { beta1: 0.9, beta2: 0.99 }));
    const aw0 = await run((w) => new AdamW([{ name: 'w', vars: [w], weightDecay: 0 }], { beta1: 0.9, beta2: 0.99 }));
    assert.deepEqual(a0, aw0);
  });

  it('one sgd step is exactly w − lr·g (plus lr·wd·w with weight decay); it keeps no state', async () => {
    const w = tf.variable(tf.tensor1d([0.5, -1.5, 2.0, 0.75]));
    const u = tf.variable(tf.tensor1d([1, -2]));
    const opt = new Sgd([
      { name: 'w', vars: [w] },
      { name: 'u', vars: [u], lrScale: 0.5, weightDecay: 0.25 },
    ]);
    const n = tf.memory().numTensors;
    const gw = tf.tensor1d([0.25, -0.5, 1, 0.125]);
    const gu = tf.tensor1d([0.5, 0.5]);
    opt.apply({ [w.name]: gw, [u.name]: gu }, 0.125);
    assert.equal(tf.memory().numTensors, n + 2, 'only the gradients passed in remain');
    // Powers of two: every product and difference is exact in float32.
    assert.deepEqual(Array.from(await w.data()), [0.5 - 0.125 * 0.25, -1.5 + 0.125 * 0.5, 2 - 0.125, 0.75 - 0.125 * 0.125]);
    assert.deepEqual(Array.from(await u.data()), [1 - 0.0625 * (0.5 + 0.25 * 1), -2 - 0.0625 * (0.5 - 0.25 * 2)]);
    assert.equal(opt.step, 1);
    tf.dispose([w, u, gw, gu]);
  });

  it('the configuration decides: name picks the update rule, eps reaches Adam', async () => {
    const lr = 0.01;
    const byName = async (over: Partial<OptimizerConfig>) =>
      run((w) => createOptimizer(optimizerSettings({ betas: [0.9, 0.99], ...over }), [{ name: 'w', vars: [w], weightDecay: over.weightDecay ?? 0 }]), lr);
    const sgd = await byName({ name: 'sgd' });
    let expect = [...w0];
    for (const g of gs) expect = expect.map((p, i) => Math.fround(p - Math.fround(Math.fround(lr) * (g[i] as number))));
    sgd.forEach((x, i) => assert.ok(Math.abs(x - (expect[i] as number)) < 1e-6, `sgd w[${i}] ${x} vs ${expect[i]}`));
    const adamw = await byName({ name: 'adamw', weightDecay: 0.1 });
    adamRef(w0, gs, lr, 0.1, 'decoupled').forEach((e, i) => assert.ok(Math.abs((adamw[i] as number) - e) < 1e-6));
    const adam = await byName({ name: 'adam', weightDecay: 0.1 });
    adamRef(w0, gs, lr, 0.1, 'l2').forEach((e, i) => assert.ok(Math.abs((adam[i] as number) - e) < 1e-6));
    // eps 0.1 against gradients of 0.05..0.4: a different update, the one the reference computes with that eps.
    const wide = await byName({ name: 'adamw', eps: 0.1 });
    const ref = adamRef(w0, gs, lr, 0, 'decoupled', 0.1);
    ref.forEach((e, i) => assert.ok(Math.abs((wide[i] as number) - e) < 1e-6, `eps 0.1 w[${i}] ${wide[i]} vs ${e}`));
    const narrow = adamRef(w0, gs, lr, 0, 'decoupled', 1e-8);
    assert.ok(
      ref.every((e, i) => Math.abs(e - (narrow[i] as number)) > 1e-4),
      'eps 0.1 and 1e-8 give different updates',
    );
  });

  it('allFinite sees an Inf or NaN anywhere', async () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
    );
    assert.equal(await allFinite([a, b]), true);
    b.assign(
      tf.tensor2d([
        [1, 2],
        [Infinity, 4],
      ]),
    );
    assert.equal(await allFinite([a, b]), false);
    b.assign(
      tf.tensor2d([
        [1, NaN],
        [3, 4],
      ]),
    );
    assert.equal(await allFinite([a, b]), false);
    tf.dispose([a, b]);
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, decays by cosine to the floor, and never exceeds the base', () => {
    const s = { baseLr: 1e-3, warmupSteps: 10, totalSteps: 110, minLr: 1e-4 };
    assert.equal(learningRate(s, 0), 1e-4);
    assert.equal(learningRate(s, 9), 1e-3);
    assert.ok(Math.abs(learningRate(s, 10) - 1e-3) < 1e-12);
    assert.ok(Math.abs(learningRate(s, 60) - 5.5e-4) < 1e-12, 'half way: (base + floor) / 2');
    assert.equal(learningRate(s, 110), 1e-4);
    assert.equal(learningRate(s, 500), 1e-4);
    assert.equal(learningRate({ ...s, minLr: 5e-3 }, 500), 1e-3, 'a floor above the base is clamped (METHOD.md 11.4)');
    for (let t = 0; t < 120; t++) assert.ok(learningRate(s, t) <= 1e-3 + 1e-15);
  });

  it('each decay gives its own sequence down to min_lr_ratio × peak; the floor defaults to 0', () => {
    const total = 60;
    const warmup = 3;
    const seq = (decay: 'cosine' | 'linear' | 'constant', minLrRatio: number) =>
      Array.from({ length: total }, (_, t) => scheduleFactor(schedule({ warmupSteps: warmup, decay, minLrRatio }), total, t));
    const ramp = (t: number) => (t + 1) / warmup;
    const frac = (t: number) => (t - warmup) / (total - warmup);
    const cases: Array<['cosine' | 'linear' | 'constant', number, (t: number) => number]> = [
      ['cosine', 0, (t) => 0.5 * (1 + Math.cos(Math.PI * frac(t)))],
      ['cosine', 0.1, (t) => 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * frac(t)))],
      ['linear', 0, (t) => 1 - frac(t)],
      ['linear', 0.25, (t) => 0.25 + 0.75 * (1 - frac(t))],
      ['constant', 0.5, () => 1],
    ];
    for (const [decay, ratio, after] of cases) {
      seq(decay, ratio).forEach((x, t) => assert.ok(Math.abs(x - (t < warmup ? ramp(t) : after(t))) < 1e-12, `${decay} ${ratio} step ${t}: ${x}`));
    }
    // The demo's 60 steps at a peak of 5e-4 end near 0, not at a 10% floor (5.03e-5).
    const last = 5e-4 * (seq('cosine', 0)[total - 1] as number);
    assert.ok(last < 1e-6, `last lr ${last}`);
    assert.equal(learningRate({ baseLr: 5e-4, warmupSteps: 0, totalSteps: 10 }, 10), 0, 'the default floor is 0');
    // warmup: warmup_steps, else the fraction of the run's steps, never more than the run.
    assert.equal(warmupOf({ warmupSteps: undefined, warmupFraction: 0.05 }, 60), 3);
    assert.equal(warmupOf({ warmupSteps: 10, warmupFraction: 0.05 }, 60), 10);
    assert.equal(warmupOf({ warmupSteps: 10, warmupFraction: 0.05 }, 4), 4);
  });
});
