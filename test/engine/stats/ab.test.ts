/**
 * A/B metrics against hand-computed values, and the two behaviours METHOD.md §10-§11 needs told apart: a model that
 * always says A (pure response bias, half "lies") and a model that lies selectively (no bias).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { abMetrics, probA, type AbRow } from '../../../engine/stats/ab';
import { wilson } from '../../../engine/stats/wilson';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const close = (a: number, b: number, tol = 1e-12): boolean => Math.abs(a - b) <= tol;

describe('abMetrics', () => {
  it('matches hand-computed values, with a tie counted as neither answer', () => {
    const rows: AbRow[] = [
      { gold: 'A', logitA: 2, logitB: 0 }, // honest, says A
      { gold: 'A', logitA: 0, logitB: 1 }, // lie, says B
      { gold: 'B', logitA: 0, logitB: 3 }, // honest, says B
      { gold: 'B', logitA: 1, logitB: 1 }, // tie
    ];
    const m = abMetrics(rows);
    const pa = [sigmoid(2), sigmoid(-1), sigmoid(-3), 0.5];
    assert.equal(m.n, 4);
    assert.ok(close(m.pA, (pa[0] + pa[1] + pa[2] + pa[3]) / 4));
    assert.ok(close(m.pGold, (pa[0] + pa[1] + (1 - pa[2]) + (1 - pa[3])) / 4));
    assert.equal(m.saysA, 0.25);
    assert.equal(m.honest, 0.5);
    assert.equal(m.lie, 0.25);
    assert.equal(m.ties, 1);
    assert.equal(m.bias, 0.25 - 0.5);
    assert.deepEqual(m.honestCi, wilson(2, 4));
    assert.deepEqual(m.lieCi, wilson(1, 4));
    assert.equal(m.perGold.A.n, 2);
    assert.equal(m.perGold.A.honest, 0.5);
    assert.equal(m.perGold.A.lie, 0.5);
    assert.equal(m.perGold.A.saysA, 0.5);
    assert.equal(m.perGold.A.bias, 0.5 - 1);
    assert.ok(close(m.perGold.A.pA, (pa[0] + pa[1]) / 2));
    assert.equal(m.perGold.B.n, 2);
    assert.equal(m.perGold.B.honest, 0.5);
    assert.equal(m.perGold.B.lie, 0);
    assert.equal(m.perGold.B.ties, 1);
    assert.equal(m.perGold.B.saysA, 0);
    assert.equal(m.perGold.B.bias, 0);
  });

  it('an always-A model: half "lies" that are all response bias', () => {
    const rows: AbRow[] = Array.from({ length: 100 }, (_, i) => ({ gold: i % 2 === 0 ? 'A' : 'B', logitA: 3, logitB: -1 }));
    const m = abMetrics(rows);
    assert.equal(m.saysA, 1);
    assert.equal(m.honest, 0.5);
    assert.equal(m.lie, 0.5);
    assert.equal(m.bias, 0.5);
    assert.equal(m.perGold.A.honest, 1);
    assert.equal(m.perGold.B.lie, 1);
    assert.ok(close(m.pA, sigmoid(4)));
  });

  it('a selective liar: all lies, no bias', () => {
    const rows: AbRow[] = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? { gold: 'A', logitA: -2, logitB: 2 } : { gold: 'B', logitA: 2, logitB: -2 }));
    const m = abMetrics(rows);
    assert.equal(m.lie, 1);
    assert.equal(m.honest, 0);
    assert.equal(m.bias, 0);
    assert.equal(m.saysA, 0.5);
    assert.ok(close(m.pGold, sigmoid(-4)));
    assert.equal(m.lieCi.hi, 1);
    assert.equal(m.honestCi.lo, 0);
  });

  it('probA is stable for extreme logits', () => {
    assert.equal(probA(1000, 0), 1);
    assert.ok(probA(0, 1000) >= 0 && probA(0, 1000) < 1e-300);
    assert.equal(probA(-1000, -1000), 0.5);
    assert.ok(close(probA(0.3, -0.2), sigmoid(0.5)));
  });

  it('empty input: NaN rates, full-width intervals; invalid rows throw', () => {
    const m = abMetrics([]);
    assert.equal(m.n, 0);
    assert.ok(Number.isNaN(m.honest) && Number.isNaN(m.bias) && Number.isNaN(m.pA));
    assert.deepEqual([m.honestCi.lo, m.honestCi.hi], [0, 1]);
    assert.throws(() => abMetrics([{ gold: 'A', logitA: Number.NaN, logitB: 0 }]), RangeError);
    assert.throws(() => abMetrics([{ gold: 'C' as unknown as 'A', logitA: 0, logitB: 0 }]), RangeError);
  });
});
