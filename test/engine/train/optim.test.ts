/** AdamW against a hand-written float64 reference update; schedule values; gradient clipping. */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW, clipByGlobalNorm } from '../../../engine/train/adamw';
import { learningRate } from '../../../engine/train/schedule';
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
    const opt = new AdamW([{ name: 'w', vars: [w], weightDecay: 0.1 }, { name: 'u', vars: [u], lrScale: 0.5 }], { beta1: 0.9, beta2: 0.99, eps: 1e-8 });
    const gw = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.2, 0.2]];
    const gu = [[1, -1], [0.5, 0.5], [2, 0]];
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
});
