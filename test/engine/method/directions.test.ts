/** Direction aggregation against hand-computed and float64 reference values. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { aggregate, dot, norm, orientBySign, principalComponents, projectOutOf, separation } from '../../../engine/method/directions';
import { Rng } from '../../../engine/util/random';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-9) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) < tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

describe('directions', () => {
  it('mean difference, normalised and not', () => {
    const pos = [
      [3, 1],
      [5, 1],
    ];
    const neg = [
      [1, 1],
      [1, 3],
    ];
    // diffs (2,0) and (4,-2): mean (3,-1)
    close(aggregate(pos, neg, { method: 'meandiff', normalize: false }), [3, -1]);
    close(aggregate(pos, neg, { method: 'meandiff' }), [3 / Math.sqrt(10), -1 / Math.sqrt(10)]);
  });

  it('PCA recovers the axis of largest variance, and the sign rule points it from negative to positive', () => {
    const rng = new Rng(3);
    // Positives at +5 along e1, negatives at -5; small noise elsewhere. PC1 must be ±e1, oriented +e1.
    const pos = Array.from({ length: 40 }, () => [5 + rng.normal() * 0.1, rng.normal() * 0.5, rng.normal() * 0.2]);
    const neg = Array.from({ length: 40 }, () => [-5 + rng.normal() * 0.1, rng.normal() * 0.5, rng.normal() * 0.2]);
    const v = aggregate(pos, neg, { method: 'pca', component: 1 });
    assert.ok((v[0] as number) > 0.999, `pc1 ${Array.from(v)}`);
    // PC2 of the raw data is the next-largest axis (e2), orthogonal to PC1.
    const v2 = aggregate(pos, neg, { method: 'pca', component: 2 });
    assert.ok(Math.abs(v2[1] as number) > 0.99 && Math.abs(dot(v, v2)) < 1e-6);
    // Flipped data flips the oriented direction.
    const vf = aggregate(neg, pos, { method: 'pca', component: 1 });
    assert.ok((vf[0] as number) < -0.999);
  });

  it('PCA via the Gram matrix (N < C) equals PCA via the covariance (N > C) up to sign', () => {
    const rng = new Rng(5);
    const X = Array.from({ length: 6 }, () => Array.from({ length: 4 }, () => rng.normal()));
    const viaCov = principalComponents(X, 2); // N=6 > C=4: covariance
    const Xt = X.slice(0, 3); // N=3 < C=4: Gram
    const a = principalComponents(Xt, 1)[0] as Float64Array;
    // Reference for Xt: leading eigenvector of the centred covariance by brute-force power iteration.
    const mu = [0, 1, 2, 3].map((j) => Xt.reduce((s, r) => s + (r[j] as number), 0) / 3);
    const Z = Xt.map((r) => r.map((x, j) => x - (mu[j] as number)));
    let v = [1, 0.5, 0.25, 0.125];
    for (let it = 0; it < 2000; it++) {
      const w = [0, 1, 2, 3].map((i) => Z.reduce((s, z) => s + (z[i] as number) * dot(z, v), 0));
      const n = norm(w);
      v = w.map((x) => x / n);
    }
    assert.ok(Math.abs(Math.abs(dot(a, v)) - 1) < 1e-8);
    assert.ok(Math.abs(dot(viaCov[0] as Float64Array, viaCov[1] as Float64Array)) < 1e-8);
  });

  it('project-out removes the nuisance component exactly', () => {
    const v = Float64Array.from([1, 1, 0]);
    const u = [0, 2, 0];
    close(projectOutOf(v, u), [1, 0, 0]);
    const d = aggregate([[2, 3, 0]], [[0, 0, 0]], { method: 'meandiff', projectOut: Float64Array.from(u) });
    close(d, [1, 0, 0]);
  });

  it('sign rule and separation diagnostics', () => {
    const pos = [
      [1, 0],
      [2, 0],
      [-1, 0],
    ];
    const neg = [
      [0, 0],
      [0, 0],
      [0, 0],
    ];
    close(orientBySign(Float64Array.from([-1, 0]), pos, neg), [1, 0]);
    const s = separation([1, 0], pos, neg);
    assert.ok(Math.abs(s.accuracy - 2 / 3) < 1e-12);
    assert.ok(s.effectSize > 0);
  });
});
