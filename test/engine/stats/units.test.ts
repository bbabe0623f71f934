/**
 * The perplexity bootstrap over whole units (`perplexity.bootstrap_unit`): documents are found as documented, the
 * windows' and documents' segments cover the scored tokens, the statistic (token-weighted relative change over
 * resampled units, the same units for both models) matches a float64 reference written out plainly here within
 * 1e-9 for the same seed, and on data whose tokens are correlated within windows the window interval is wider than
 * the i.i.d. token one (which is too narrow there).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { encodeDocuments, splitDocuments, unitSegments } from '../../../engine/eval/units';
import { slidingWindows } from '../../../engine/eval/perplexity';
import { perplexityComparison, quantileSorted } from '../../../engine/stats/bootstrap';
import { Rng } from '../../../engine/util/random';

/** Reference: draw units with the same Rng sequence, token-weighted mean NLL of each model over the drawn units' tokens, ratio of perplexities. */
function referenceInterval(base: number[], tuned: number[], segments: number[], resamples: number, seed: number): [number, number] {
  const units: Array<{ from: number; to: number }> = [];
  let at = 0;
  for (const len of segments) {
    units.push({ from: at, to: at + len });
    at += len;
  }
  const rng = new Rng(seed);
  const stats: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let sumBase = 0;
    let sumTuned = 0;
    let tokens = 0;
    for (let k = 0; k < units.length; k++) {
      const u = units[rng.int(units.length)] as { from: number; to: number };
      for (let i = u.from; i < u.to; i++) {
        sumBase += base[i] as number;
        sumTuned += tuned[i] as number;
        tokens++;
      }
    }
    stats.push(100 * (Math.exp(sumTuned / tokens) / Math.exp(sumBase / tokens) - 1));
  }
  stats.sort((x, y) => x - y);
  return [quantileSorted(stats, 0.025), quantileSorted(stats, 0.975)];
}

/** Per-token NLLs whose change has a shared offset per window (sd `between`) plus small token noise: correlated tokens. */
function correlated(rng: Rng, windows: number, len: number, between: number): { base: number[]; tuned: number[]; segments: number[] } {
  const base: number[] = [];
  const tuned: number[] = [];
  for (let w = 0; w < windows; w++) {
    const offset = 0.05 + between * rng.normal();
    for (let i = 0; i < len; i++) {
      const b = 3 + 0.5 * rng.normal();
      base.push(b);
      tuned.push(b + offset + 0.02 * rng.normal());
    }
  }
  return { base, tuned, segments: new Array<number>(windows).fill(len) };
}

describe('perplexity bootstrap units', () => {
  it('documents are blank-line-separated runs of lines, else one per line; the pieces concatenate back to the text', () => {
    const text = 'A cat.\nIt sat.\n\nA dog.\n \n\nA bird.\n';
    const d = splitDocuments(text);
    assert.equal(d.split, 'blank-lines');
    assert.deepEqual(d.pieces, ['A cat.\nIt sat.', '\n\nA dog.', '\n \n\nA bird.\n']);
    assert.equal(d.pieces.join(''), text);
    const lines = splitDocuments('one\ntwo\nthree');
    assert.equal(lines.split, 'lines');
    assert.deepEqual(lines.pieces, ['one', '\ntwo', '\nthree']);
    assert.deepEqual(splitDocuments('single').pieces, ['single']);
  });

  it('documents tokenized one by one start where each document does, and say whether that equals the whole text', () => {
    // A character tokenizer: piecewise encoding equals the whole-text one.
    const tok = { encode: (t: string, o?: { addBos?: boolean }) => [...(o?.addBos === false ? [] : [0]), ...[...t].map((c) => c.charCodeAt(0))] };
    const r = encodeDocuments(tok, 'ab\n\ncd\n\nef');
    assert.deepEqual(r.starts, [0, 3, 7]);
    assert.equal(r.ids.length, 11);
    assert.equal(r.aligned, true);
  });

  it('segments: one per window, or one per document run of scored tokens, summing to the scored tokens', () => {
    const w = slidingWindows(20, 8, 4);
    const scored = w.reduce((a, x) => a + x.end - x.scoreFrom, 0);
    assert.deepEqual(unitSegments(w), [7, 4, 4, 4]);
    const docs = unitSegments(w, [0, 5, 6, 15]);
    assert.deepEqual(docs, [4, 1, 9, 5]);
    assert.equal(
      docs.reduce((a, b) => a + b, 0),
      scored,
    );
  });

  it('the interval equals a float64 reference for the same seed (within 1e-9), for windows and documents', () => {
    const rng = new Rng(3);
    const { base, tuned } = correlated(rng, 40, 25, 0.1);
    const byWindow = new Array<number>(40).fill(25);
    const byDoc = [100, 7, 93, 250, 1, 49, 300, 200];
    for (const segments of [byWindow, byDoc]) {
      for (const seed of [1, 42]) {
        // 401 resamples put both 95% quantiles on order statistics (400 x 0.025 = 10), where mapping the quantile of the
        // NLL change through 100 (e^d - 1) and taking the quantile of the mapped values agree exactly.
        const got = perplexityComparison(base, tuned, { segments, resamples: 401, seed });
        const want = referenceInterval(base, tuned, segments, 401, seed);
        assert.ok(Math.abs(got.ciPct[0] - want[0]) <= 1e-9, `lo ${got.ciPct[0]} vs ${want[0]}`);
        assert.ok(Math.abs(got.ciPct[1] - want[1]) <= 1e-9, `hi ${got.ciPct[1]} vs ${want[1]}`);
        assert.equal(got.units, segments.length);
      }
    }
  });

  it('with tokens correlated within windows, the window interval is wider than the token one', () => {
    const { base, tuned, segments } = correlated(new Rng(11), 30, 64, 0.2);
    const win = perplexityComparison(base, tuned, { segments, resamples: 1000, seed: 5 });
    const tok = perplexityComparison(base, tuned, { unit: 'token', resamples: 1000, seed: 5 });
    const width = (c: { ciPct: [number, number] }) => c.ciPct[1] - c.ciPct[0];
    assert.equal(win.deltaPct, tok.deltaPct);
    assert.ok(width(win) > 4 * width(tok), `window width ${width(win)} vs token width ${width(tok)}`);
  });
});
