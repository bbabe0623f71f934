/**
 * Paired bootstrap and perplexity comparison, known-answer tests: identical inputs, a constant shift (exact),
 * nominal coverage on simulated data with a known true difference (i.i.d. with token resampling; autocorrelated with
 * block resampling, where token resampling visibly under-covers), p-value calibration under the null, seeding,
 * the 300k-token speed budget, and the METHOD.md §11.12 regression (exp(+mean), not exp(-sum)).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { pairedBootstrap, perplexityComparison, quantileSorted } from '../../../engine/stats/bootstrap';
import { Rng } from '../../../engine/util/random';

/** Paired NLL-like data: a ~ N(2, 1) i.i.d.; b = a + delta + noise, noise AR(1) with coefficient rho and sd `sd`. */
function simulate(rng: Rng, n: number, delta: number, sd: number, rho = 0): { a: Float64Array; b: Float64Array } {
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  let e = rng.normal();
  const innov = Math.sqrt(1 - rho * rho);
  for (let i = 0; i < n; i++) {
    e = i === 0 ? e : rho * e + innov * rng.normal();
    a[i] = 2 + rng.normal();
    b[i] = a[i] + delta + sd * e;
  }
  return { a, b };
}

describe('pairedBootstrap', () => {
  it('identical inputs: diff 0, CI [0, 0], p = 1 (token and block units)', () => {
    const { a } = simulate(new Rng(1), 5000, 0, 1);
    for (const unit of ['token', 'block'] as const) {
      const r = pairedBootstrap(a, a, { unit, resamples: 200 });
      assert.equal(r.diff, 0);
      assert.equal(r.lo, 0);
      assert.equal(r.hi, 0);
      assert.equal(r.p, 1);
      assert.equal(r.meanA, r.meanB);
      assert.equal(r.unit, unit);
    }
  });

  it('a constant shift c on every token: diff = c exactly and the CI collapses to c', () => {
    const rng = new Rng(2);
    const n = 3000;
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.int(8192) / 1024; // dyadic values: a + c and (a + c) - a are exact
    for (const c of [0.5, -0.375]) {
      const b = a.map((x) => x + c);
      for (const unit of ['token', 'block'] as const) {
        const r = pairedBootstrap(a, b, { unit, blockSize: 64, resamples: 300 });
        assert.equal(r.diff, c, unit);
        assert.equal(r.lo, c, unit);
        assert.equal(r.hi, c, unit);
        assert.equal(r.p, 0, unit); // no resample reaches 0: p < 1/resamples
      }
    }
    // Arbitrary floats: equal up to rounding.
    const { a: x } = simulate(rng, 1000, 0, 1);
    const y = x.map((v) => v + 0.1);
    const r = pairedBootstrap(x, y, { resamples: 100 });
    assert.ok(Math.abs(r.diff - 0.1) < 1e-12 && Math.abs(r.lo - 0.1) < 1e-12 && Math.abs(r.hi - 0.1) < 1e-12);
  });

  it('token bootstrap covers a known difference at about the nominal 95% (200 simulations)', () => {
    const rng = new Rng(3);
    const delta = 0.1;
    let covered = 0;
    for (let s = 0; s < 200; s++) {
      const { a, b } = simulate(rng, 200, delta, 0.5);
      const r = pairedBootstrap(a, b, { unit: 'token', seed: s });
      if (r.lo <= delta && delta <= r.hi) covered++;
    }
    const rate = covered / 200;
    assert.ok(rate >= 0.9 && rate <= 0.99, `coverage ${rate}`);
  });

  it('autocorrelated losses: block bootstrap keeps nominal coverage, token bootstrap does not', () => {
    const rng = new Rng(4);
    const delta = 0.05;
    const n = 4096;
    let blockCovered = 0;
    let tokenCovered = 0;
    const sims = 200;
    const tokenSims = 40; // token resampling of 4096 values is the slow case; a few runs show the under-coverage
    for (let s = 0; s < sims; s++) {
      const { a, b } = simulate(rng, n, delta, 0.5, 0.7);
      const r = pairedBootstrap(a, b, { unit: 'block', blockSize: 128, seed: s });
      if (r.lo <= delta && delta <= r.hi) blockCovered++;
      if (s < tokenSims) {
        const t = pairedBootstrap(a, b, { unit: 'token', resamples: 200, seed: s });
        if (t.lo <= delta && delta <= t.hi) tokenCovered++;
      }
    }
    const blockRate = blockCovered / sims;
    const tokenRate = tokenCovered / tokenSims;
    assert.ok(blockRate >= 0.9 && blockRate <= 0.99, `block coverage ${blockRate}`);
    assert.ok(tokenRate < 0.8, `token coverage ${tokenRate} should be well below nominal under AR(0.7) noise`);
  });

  it('p-values are calibrated under the null (about 5% below 0.05)', () => {
    const rng = new Rng(5);
    let rejections = 0;
    for (let s = 0; s < 200; s++) {
      const { a, b } = simulate(rng, 200, 0, 0.5);
      if (pairedBootstrap(a, b, { unit: 'token', seed: 1000 + s }).p < 0.05) rejections++;
    }
    assert.ok(rejections >= 2 && rejections <= 20, `rejections ${rejections}/200`);
  });

  it('is deterministic for a seed and changes with it', () => {
    const { a, b } = simulate(new Rng(6), 1000, 0.02, 1);
    const r1 = pairedBootstrap(a, b, { seed: 7 });
    const r2 = pairedBootstrap(a, b, { seed: 7 });
    const r3 = pairedBootstrap(a, b, { seed: 8 });
    assert.deepEqual(r1, r2);
    assert.notEqual(r1.lo, r3.lo);
    assert.equal(r1.diff, r3.diff);
    assert.equal(r1.resamples, 1000);
  });

  it('auto picks tokens for short inputs and 256-token blocks for long ones; segments define blocks', () => {
    const short = simulate(new Rng(7), 1000, 0, 1);
    assert.equal(pairedBootstrap(short.a, short.b, { resamples: 10 }).unit, 'token');
    const long = simulate(new Rng(8), 5000, 0, 1);
    const r = pairedBootstrap(long.a, long.b, { resamples: 10 });
    assert.equal(r.unit, 'block');
    assert.equal(r.units, Math.ceil(5000 / 256));
    // Segments equal to the fixed blocks reproduce the fixed-block result exactly.
    const segs = Array.from({ length: r.units }, (_, j) => Math.min(256, 5000 - 256 * j));
    assert.deepEqual(pairedBootstrap(long.a, long.b, { resamples: 50, segments: segs }), pairedBootstrap(long.a, long.b, { resamples: 50, unit: 'block' }));
  });

  it('300k tokens x 1000 resamples in block mode is fast', () => {
    const { a, b } = simulate(new Rng(9), 300_000, 0.01, 1);
    const t0 = performance.now();
    const r = pairedBootstrap(a, b);
    const ms = performance.now() - t0;
    assert.equal(r.unit, 'block');
    assert.equal(r.units, Math.ceil(300_000 / 256));
    assert.ok(r.lo < r.diff && r.diff < r.hi);
    assert.ok(ms < 1500, `took ${ms.toFixed(0)} ms`);
  });

  it('rejects bad input', () => {
    assert.throws(() => pairedBootstrap([1, 2], [1]), RangeError);
    assert.throws(() => pairedBootstrap([], []), RangeError);
    assert.throws(() => pairedBootstrap([1, Number.POSITIVE_INFINITY], [1, 2]), RangeError);
    assert.throws(() => pairedBootstrap([1, 2, 3], [1, 2, 3], { segments: [1, 1] }), RangeError);
    assert.throws(() => pairedBootstrap([1, 2], [1, 2], { segments: [2], unit: 'token' }), RangeError);
    assert.throws(() => pairedBootstrap([1, 2], [1, 2], { resamples: 0 }), RangeError);
    assert.throws(() => pairedBootstrap([1, 2], [1, 2], { confidence: 1 }), RangeError);
  });

  it('quantileSorted interpolates like numpy', () => {
    const xs = [1, 2, 3, 4];
    assert.equal(quantileSorted(xs, 0), 1);
    assert.equal(quantileSorted(xs, 1), 4);
    assert.equal(quantileSorted(xs, 0.5), 2.5);
    assert.ok(Math.abs(quantileSorted(xs, 0.025) - 1.075) < 1e-12);
  });
});

describe('perplexityComparison', () => {
  it('perplexity is exp(+mean NLL); the change and its CI are relative', () => {
    const n = 2000;
    const base = new Float64Array(n).fill(Math.log(10));
    const tuned = new Float64Array(n).fill(Math.log(12));
    const r = perplexityComparison(base, tuned, { resamples: 100 });
    assert.ok(Math.abs(r.pplBase - 10) < 1e-9 && Math.abs(r.pplTuned - 12) < 1e-9);
    assert.ok(Math.abs(r.deltaPct - 20) < 1e-9);
    assert.ok(Math.abs(r.ciPct[0] - 20) < 1e-9 && Math.abs(r.ciPct[1] - 20) < 1e-9);
    assert.equal(r.p, 0);
  });

  it('identical models: 0% change, CI [0, 0], p = 1', () => {
    const { a } = simulate(new Rng(10), 3000, 0, 1);
    const r = perplexityComparison(a, a, { resamples: 100 });
    assert.equal(r.deltaPct, 0);
    assert.deepEqual(r.ciPct, [0, 0]);
    assert.equal(r.p, 1);
    assert.equal(r.pplBase, r.pplTuned);
  });

  it('METHOD.md §11.12 regression: realistic NLLs give finite perplexities and a non-degenerate CI', () => {
    // Per-token NLLs around 1.8 nats (PPL ~6), as in the research's wikitext runs; the broken code returned CI (0, 0).
    const { a, b } = simulate(new Rng(11), 20_000, 0.01, 0.3, 0.5);
    const shifted = { a: a.map((x) => x - 0.2), b: b.map((x) => x - 0.2) };
    const r = perplexityComparison(shifted.a, shifted.b);
    assert.ok(r.pplBase > 4 && r.pplBase < 8, String(r.pplBase));
    assert.ok(r.ciPct[0] < r.deltaPct && r.deltaPct < r.ciPct[1]);
    assert.ok(r.ciPct[1] - r.ciPct[0] > 0.1);
    assert.ok(Math.abs(r.deltaPct - 100 * (r.pplTuned / r.pplBase - 1)) < 1e-9);
  });
});
