/**
 * Wilson score intervals against known values: 81/100, the n = 200 intervals printed in METHOD.md §10 (the research's
 * statsmodels output, compared at the printed precision), an independent closed form, and the edge cases.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { wilson } from '../../../engine/stats/wilson';

/** Independent form: the roots of (k/n - p)^2 = z^2 p (1 - p) / n, solved for p. */
function wilsonRoots(k: number, n: number, z: number): [number, number] {
  const z2 = z * z;
  const mid = k + z2 / 2;
  const rad = z * Math.sqrt((k * (n - k)) / n + z2 / 4);
  return [(mid - rad) / (n + z2), (mid + rad) / (n + z2)];
}

describe('wilson', () => {
  it('81/100 gives [0.7222, 0.8749]', () => {
    // Hand computation: (81 + z^2/2 -/+ z sqrt(81 * 19 / 100 + z^2 / 4)) / (100 + z^2) = 74.9954 / 103.8415 and
    // 90.8462 / 103.8415. (The upper end is sometimes quoted as 0.8751; that is not the Wilson interval.)
    const r = wilson(81, 100);
    assert.equal(r.p, 0.81);
    assert.equal(r.lo.toFixed(4), '0.7222');
    assert.equal(r.hi.toFixed(4), '0.8749');
  });

  it('reproduces every n = 200 interval of METHOD.md §10 to the printed precision', () => {
    // [successes, printed %, printed lo %, printed hi %]
    const table: Array<[number, string, string, string]> = [
      [162, '81.0', '75.0', '85.8'],
      [38, '19.0', '14.2', '25.0'], // GPT4-facts untuned
      [166, '83.0', '77.2', '87.6'],
      [98, '49.0', '42.2', '55.9'], // steered
      [175, '87.5', '82.2', '91.4'],
      [168, '84.0', '78.3', '88.4'], // truth- / lie-tuned
      [174, '87.0', '81.6', '91.0'],
      [176, '88.0', '82.8', '91.8'], // honesty- / dishonesty-tuned
      [102, '51.0', '44.1', '57.8'],
      [73, '36.5', '30.1', '43.4'], // TQA untuned
      [104, '52.0', '45.1', '58.8'],
      [79, '39.5', '33.0', '46.4'],
      [113, '56.5', '49.6', '63.2'],
      [112, '56.0', '49.1', '62.7'],
      [125, '62.5', '55.6', '68.9'],
      [135, '67.5', '60.7', '73.6'],
    ];
    for (const [k, p, lo, hi] of table) {
      const r = wilson(k, 200);
      assert.deepEqual([(100 * r.p).toFixed(1), (100 * r.lo).toFixed(1), (100 * r.hi).toFixed(1)], [p, lo, hi], `${k}/200`);
    }
  });

  it('agrees with the closed-form roots to 1e-12', () => {
    for (const [k, n] of [
      [0, 7],
      [1, 7],
      [3, 7],
      [7, 7],
      [5, 13],
      [500, 1000],
      [1, 1],
      [0, 1],
    ] as Array<[number, number]>) {
      for (const z of [1, 1.959964, 2.575829]) {
        const r = wilson(k, n, z);
        const [lo, hi] = wilsonRoots(k, n, z);
        assert.ok(Math.abs(r.lo - lo) < 1e-12 && Math.abs(r.hi - hi) < 1e-12, `${k}/${n} z=${z}: [${r.lo}, ${r.hi}] vs [${lo}, ${hi}]`);
      }
    }
  });

  it('0/n and n/n: the interval touches 0 (resp. 1) exactly and stays open on the other side', () => {
    const zero = wilson(0, 50);
    assert.equal(zero.p, 0);
    assert.equal(zero.lo, 0);
    assert.ok(zero.hi > 0.05 && zero.hi < 0.08, String(zero.hi)); // 3.84 / 53.84 = 0.0713
    const all = wilson(50, 50);
    assert.equal(all.p, 1);
    assert.equal(all.hi, 1);
    assert.ok(Math.abs(all.lo - (1 - zero.hi)) < 1e-12, 'symmetric to 0/n');
  });

  it('n = 0 gives no estimate and the whole unit interval', () => {
    const r = wilson(0, 0);
    assert.ok(Number.isNaN(r.p));
    assert.equal(r.lo, 0);
    assert.equal(r.hi, 1);
  });

  it('rejects impossible counts', () => {
    assert.throws(() => wilson(5, 4), RangeError);
    assert.throws(() => wilson(-1, 4), RangeError);
    assert.throws(() => wilson(1.5, 4), RangeError);
    assert.throws(() => wilson(1, 4, 0), RangeError);
  });
});
