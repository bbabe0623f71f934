/** The panels' pure logic, in Node: storage, decimation, CSV, colour scale, layout, sorting, formatting, HTML/CSP. */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { TrialData } from '../../protocol/webview';
import { csvCell, toCsv } from '../../webview/common/csv';
import { formatNumber, formatTicks } from '../../webview/common/format';
import { colorFor, DIVERGING_STOPS, MISSING_COLOR, scalePosition } from '../../webview/heatmap/color-scale';
import { cellAt, cellCenter, heatmapLayout } from '../../webview/heatmap/layout';
import { createNonce, panelCsp, panelHtml } from '../../webview/html';
import { bestIndex, columnByKey, sortTrials, type Column } from '../../webview/leaderboard/columns';
import { alignAndDecimate, columnWidth, DecimationCache, type XYSeries } from '../../webview/loss-curves/decimate';
import { LossStore, SortedSeries } from '../../webview/loss-curves/store';
import { parseCsv } from './csv-parse';
import { rng } from './fixtures';

describe('loss-curve store', () => {
  test('keeps points sorted by step, one per step, overwriting replays', () => {
    const s = new SortedSeries(['v'] as const, 2);
    for (const x of [5, 1, 3, 9, 3, 7, 0]) s.upsert(x, { v: x * 10 });
    s.upsert(3, { v: -1 });
    assert.deepEqual(Array.from(s.xs()), [0, 1, 3, 5, 7, 9]);
    assert.deepEqual(Array.from(s.column('v')), [0, 10, -1, 50, 70, 90]);
    assert.equal(s.nearest(3.4), 2);
    assert.equal(s.nearest(100), 5);
    assert.equal(s.nearest(-5), 0);
  });

  test('append creates runs, counts steps and evals, CSV has every point at full precision', () => {
    const store = new LossStore();
    const n = 12_345;
    for (let i = 0; i < n; i += 100) {
      const points = [];
      for (let j = i; j < Math.min(n, i + 100); j++) {
        points.push({
          kind: 'step' as const,
          step: j,
          epoch: Math.floor(j / 1000),
          tokenLoss: 1 / (j + 1),
          projectionLoss: Math.sin(j),
          totalLoss: j % 977 === 0 ? null : Math.PI / (j + 1),
          lr: 3e-4,
          gradNorm: 0.1 + j * 1e-7,
        });
      }
      store.append('run,"a"', points);
    }
    store.append('run,"a"', [{ kind: 'eval', step: 500, split: 'heldout', tokenLoss: 0.5, projectionLoss: 0.25, totalLoss: 0.75 }]);
    store.append('b', [{ kind: 'eval', step: 1, split: 'train', tokenLoss: null, projectionLoss: 1, totalLoss: 2 }]);
    assert.equal(store.pointCount('run,"a"'), n + 1);
    assert.equal(store.pointCount(), n + 2);
    const rows = parseCsv(store.toCsv());
    assert.deepEqual(rows[0], ['run', 'kind', 'split', 'step', 'epoch', 'token_loss', 'projection_loss', 'total_loss', 'lr', 'grad_norm']);
    assert.equal(rows.length, 1 + n + 2);
    const row = rows[1 + 4321] as string[];
    assert.equal(row[0], 'run,"a"');
    assert.equal(Number(row[3]), 4321);
    assert.equal(Number(row[5]), 1 / 4322);
    assert.equal(Number(row[7]), Math.PI / 4322);
    assert.equal((rows[1 + 977] as string[])[7], '', 'a null (NaN) loss is an empty cell');
    assert.deepEqual(rows[1 + n], ['run,"a"', 'eval', 'heldout', '500', '', '0.5', '0.25', '0.75', '', '']);
    assert.deepEqual(rows[2 + n], ['b', 'eval', 'train', '1', '', '', '1', '2', '', '']);
  });

  test('a snapshot replaces everything; runStatus on an unknown run creates it', () => {
    const store = new LossStore();
    store.append('old', [{ kind: 'step', step: 0, epoch: 0, tokenLoss: 1, projectionLoss: 1, totalLoss: 1, lr: 1, gradNorm: 1 }]);
    const v = store.structureVersion;
    store.applySnapshot([{ run: 'new', label: 'New run', status: 'done', points: [] }]);
    assert.deepEqual([...store.runs.keys()], ['new']);
    assert.equal(store.runs.get('new')?.label, 'New run');
    assert.ok(store.structureVersion > v);
    store.setStatus('other', 'failed', 'NaN loss at step 4');
    assert.equal(store.runs.get('other')?.status, 'failed');
    assert.equal(store.runs.get('other')?.statusMessage, 'NaN loss at step 4');
  });
});

describe('min/max decimation', () => {
  const series = (xs: number[], ys: number[]): XYSeries => ({ x: Float64Array.from(xs), y: Float64Array.from(ys), length: xs.length });

  test('few points: exact, runs with different steps are aligned with spanned holes', () => {
    const a = series([0, 1, 2, 3], [1, 2, 3, 4]);
    const b = series([1, 3, 5], [10, Number.NaN, 30]);
    const r = alignAndDecimate([a, b], 0, 5, 100);
    assert.equal(r.mode, 'exact');
    assert.deepEqual(r.xs, [0, 1, 2, 3, 5]);
    assert.deepEqual(r.ys[0], [1, 2, 3, 4, undefined]);
    assert.deepEqual(r.ys[1], [undefined, 10, undefined, null, 30], 'NaN is a gap (null); a missing x is spanned (undefined)');
    assert.equal(r.drawnPoints, 6);
  });

  test("many points: two slots per column holding each column's min and max in order; extremes survive", () => {
    const n = 100_000;
    const xs = Array.from({ length: n }, (_, i) => i);
    const ys = xs.map((i) => Math.sin(i / 1000));
    ys[31_337] = 50; // a spike
    ys[77_777] = -50; // a dip
    const r = alignAndDecimate([series(xs, ys)], 0, n - 1, 500);
    assert.equal(r.mode, 'minmax');
    const width = columnWidth(0, n - 1, 500);
    assert.equal(width, 256, 'a power of two giving at most 500 columns');
    const nColumns = Math.floor((n - 1) / width) + 1;
    assert.ok(nColumns <= 500 && nColumns > 250);
    assert.equal(r.xs.length, 2 * nColumns);
    const drawn = (r.ys[0] as Array<number | null | undefined>).filter((v): v is number => typeof v === 'number');
    assert.equal(drawn.length, r.drawnPoints);
    assert.ok(drawn.length <= 2 * nColumns && drawn.length >= nColumns);
    assert.ok(drawn.includes(50) && drawn.includes(-50), 'single-point extremes are drawn');
    // Every column's true min and max are present, in the order they occurred.
    for (let b = 0; b < nColumns; b++) {
      const inCol = ys.slice(b * width, (b + 1) * width);
      const lo = Math.min(...inCol);
      const hi = Math.max(...inCol);
      const expected = inCol.indexOf(lo) < inCol.indexOf(hi) ? [lo, hi] : [hi, lo];
      assert.deepEqual([r.ys[0]?.[2 * b], r.ys[0]?.[2 * b + 1]], expected, `column ${b}`);
      assert.ok((r.xs[2 * b] as number) >= b * width && (r.xs[2 * b + 1] as number) < (b + 1) * width);
    }
  });

  test('the cache folds in only appended points and matches a fresh computation, also after an insertion', () => {
    const cache = new DecimationCache();
    const owner = {};
    const xs: number[] = [];
    const ys: number[] = [];
    const random = rng(5);
    let version = 0;
    const view = (): XYSeries => ({ x: Float64Array.from(xs), y: Float64Array.from(ys), length: xs.length, owner, column: 'y', version });
    for (let step = 0; step < 20_000; step++) {
      xs.push(step);
      ys.push(step % 4_999 === 0 ? Number.NaN : Math.exp(-step / 5_000) + random());
      if (step % 1_237 === 0 && step > 5_000) {
        const cached = alignAndDecimate([view()], 0, step, 700, { cache });
        const fresh = alignAndDecimate([view()], 0, step, 700);
        assert.deepEqual(cached, fresh, `after step ${step}`);
      }
    }
    // Replace a point in the middle (a replayed step): the series' version changes and the cache recomputes.
    ys[10_000] = 99;
    version++;
    const cached = alignAndDecimate([view()], 0, 19_999, 700, { cache, positiveOnly: true });
    assert.deepEqual(cached, alignAndDecimate([view()], 0, 19_999, 700, { positiveOnly: true }));
    assert.ok((cached.ys[0] as unknown[]).includes(99));
  });

  test('zoomed range reads only the points in view (plus one neighbour each side)', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i * 10);
    const r = alignAndDecimate([series(xs, xs)], 100, 200, 100);
    assert.deepEqual(r.xs, [90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200, 210]);
  });

  test('log scale: non-positive values are dropped from the drawing (spanned), not from the data', () => {
    const r = alignAndDecimate([series([0, 1, 2], [0, -1, 2])], 0, 2, 10, { positiveOnly: true });
    assert.deepEqual(r.ys[0], [undefined, undefined, 2]);
  });
});

describe('CSV', () => {
  test('quotes what needs quoting and round-trips', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('line\nbreak'), '"line\nbreak"');
    assert.equal(csvCell(' padded'), '" padded"');
    assert.equal(csvCell(Number.NaN), '');
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(0.1 + 0.2), '0.30000000000000004');
    const text = toCsv(['a', 'b'], [['x,"y"\nz', 1e-7]]);
    assert.deepEqual(parseCsv(text), [
      ['a', 'b'],
      ['x,"y"\nz', '1e-7'],
    ]);
  });
});

describe('heatmap colour scale and layout', () => {
  test('diverging: blue at min, white at 0, red at max, clamped; asymmetric ranges keep 0 white', () => {
    assert.deepEqual(colorFor(-1, -1, 1), DIVERGING_STOPS[0]);
    assert.deepEqual(colorFor(0, -1, 1), DIVERGING_STOPS[5]);
    assert.deepEqual(colorFor(1, -1, 1), DIVERGING_STOPS[10]);
    assert.deepEqual(colorFor(5, -1, 1), DIVERGING_STOPS[10]);
    assert.deepEqual(colorFor(0, -0.2, 1), DIVERGING_STOPS[5]);
    assert.deepEqual(colorFor(-0.2, -0.2, 1), DIVERGING_STOPS[0]);
    assert.deepEqual(colorFor(null, -1, 1), MISSING_COLOR);
    assert.deepEqual(colorFor(Number.NaN, -1, 1), MISSING_COLOR);
    assert.equal(scalePosition(2, 0, 4), 0.75, 'a non-negative range uses the white-to-red half');
    // Negative values are bluish, positive reddish, all the way out.
    for (let v = -1; v <= 1.0001; v += 0.05) {
      const [r, , b] = colorFor(v, -1, 1);
      if (v < -0.01) assert.ok(b > r, `bluish at ${v}`);
      if (v > 0.01) assert.ok(r > b, `reddish at ${v}`);
    }
  });

  test('48 layers x 64 positions fit a 1000 px panel with readable labels; hit testing agrees with centres', () => {
    const L = heatmapLayout({ nRows: 48, nCols: 64, availableWidth: 1000, availableHeight: 600, fontSize: 11, longestColumnLabel: 8, longestRowLabel: 2 });
    assert.ok(L.cellW >= 10 && L.cellH >= 8, JSON.stringify(L));
    assert.ok(L.width <= 1000);
    assert.ok(L.rowStride * L.cellH >= 12 && L.colStride * L.cellW >= 12);
    for (const [row, col] of [
      [0, 0],
      [47, 63],
      [20, 31],
    ] as const) {
      const c = cellCenter(L, row, col);
      assert.deepEqual(cellAt(L, c.x, c.y), { row, col });
    }
    assert.equal(cellAt(L, L.left - 1, L.top + 1), undefined);
    assert.equal(cellAt(L, L.left + L.nCols * L.cellW + 1, L.top + 1), undefined);
  });

  test('layers x 2,000 steps: cells never go below 3 px (the panel scrolls)', () => {
    const L = heatmapLayout({ nRows: 12, nCols: 2000, availableWidth: 900, availableHeight: 600, fontSize: 11, longestColumnLabel: 4, longestRowLabel: 2 });
    assert.equal(L.cellW, 3);
    assert.ok(L.colStride >= 4);
  });
});

describe('leaderboard sorting', () => {
  const t = (trial: number, finalProjectionLoss: number | null, tokenBlocks: string[] = ['q'], run = 's'): TrialData => ({
    type: 'trial',
    job: 'j',
    run,
    trial,
    tokenBlocks,
    projectionBlocks: ['down'],
    steps: 10,
    initialTokenLoss: 2,
    finalTokenLoss: 1,
    initialProjectionLoss: 0.5,
    finalProjectionLoss,
    targetRate: 0.5,
    otherRate: 0.5,
    sample: `sample ${trial}`,
    seconds: trial,
    rung: 0,
  });
  const rows = [t(0, 0.3), t(1, null), t(2, 0.1), t(3, 0.3), t(4, 0.2, ['q', 'k', 'v'])];

  test('ascending and descending by a numeric column; missing values last either way; ties by trial', () => {
    assert.deepEqual(
      sortTrials(rows, 'finalProjectionLoss', 'asc').map((r) => r.trial),
      [2, 4, 0, 3, 1],
    );
    assert.deepEqual(
      sortTrials(rows, 'finalProjectionLoss', 'desc').map((r) => r.trial),
      [0, 3, 4, 2, 1],
    );
  });

  test('blocks sort by count, then names; unknown keys fall back to trial order', () => {
    assert.deepEqual(sortTrials(rows, 'tokenBlocks', 'desc').map((r) => r.trial)[0], 4);
    assert.deepEqual(
      sortTrials(rows, 'nope', 'asc').map((r) => r.trial),
      [0, 1, 2, 3, 4],
    );
  });

  test('best value of a lower-is-better column', () => {
    assert.equal(bestIndex(rows, columnByKey('finalProjectionLoss') as Column), 2);
    assert.equal(bestIndex(rows, columnByKey('sample') as Column), -1);
  });
});

describe('number formatting', () => {
  test('compact numbers and distinct tick labels', () => {
    assert.equal(formatNumber(0.000312), '3.12e-4');
    assert.equal(formatNumber(0.0003), '3e-4');
    assert.equal(formatNumber(1234.5), '1235');
    assert.equal(formatNumber(2.5), '2.5');
    assert.equal(formatNumber(null), '—');
    assert.equal(formatNumber(0), '0');
    assert.equal(formatNumber(123456), '1.235e+5');
    assert.deepEqual(formatTicks([1, 1.05, 1.1]), ['1', '1.05', '1.1']);
    assert.deepEqual(formatTicks([0, 2000, 4000]), ['0', '2000', '4000']);
  });
});

describe('panel HTML', () => {
  const nonce = createNonce();
  const html = panelHtml({
    panel: 'heatmap',
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/heatmap.js',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/heatmap.css',
    cspSource: 'https://*.vscode-cdn.net',
    nonce,
  });

  test("strict CSP with this load's nonce and no unsafe sources", () => {
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    assert.equal(csp, panelCsp('https://*.vscode-cdn.net', nonce));
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'(;|$)`));
    assert.match(csp, new RegExp(`style-src https://\\*\\.vscode-cdn\\.net 'nonce-${nonce}'`));
    assert.match(csp, /img-src https:\/\/\*\.vscode-cdn\.net data:/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*;|http:/);
  });

  test('every script and style element carries the nonce; no remote URLs besides the given ones', () => {
    const tags = html.match(/<(script|style|link)\b[^>]*>/g) ?? [];
    assert.equal(tags.length, 3);
    for (const tag of tags) assert.ok(tag.includes(`nonce="${nonce}"`), tag);
    const urls = html.match(/https?:\/\/[^"'\s);]+/g) ?? [];
    for (const u of urls) assert.ok(u.startsWith('https://file+.vscode-resource.vscode-cdn.net/') || u === 'https://*.vscode-cdn.net', u);
  });

  test('nonces are fresh and well-formed; bad arguments are refused', () => {
    assert.notEqual(createNonce(), createNonce());
    assert.match(createNonce(), /^[A-Za-z0-9_-]{22}$/);
    assert.throws(() => panelHtml({ panel: 'heatmap', scriptUri: 'x', cspSource: 'https://a', nonce: 'short' }), /nonce/);
    assert.throws(() => panelHtml({ panel: 'heatmap', scriptUri: 'x', cspSource: "https://a 'unsafe-inline'", nonce }), /cspSource/);
    assert.throws(() => panelHtml({ panel: 'heatmap', scriptUri: 'x', cspSource: 'https://a; script-src *', nonce }), /cspSource/);
    // code-server's webview.cspSource lists two sources.
    assert.match(
      panelHtml({ panel: 'heatmap', scriptUri: 'x', cspSource: "'self' https://*.vscode-cdn.net", nonce }),
      /style-src 'self' https:\/\/\*\.vscode-cdn\.net 'nonce-/,
    );
    assert.throws(() => panelHtml({ panel: 'chat' as 'heatmap', scriptUri: 'x', cspSource: 'https://a', nonce }), /unknown panel/);
  });

  test('URIs are attribute-escaped', () => {
    const h = panelHtml({ panel: 'leaderboard', scriptUri: 'https://a/x.js?"><script>', cspSource: 'https://a', nonce });
    assert.ok(!h.includes('"><script>'));
    assert.ok(h.includes('x.js?&quot;&gt;&lt;script&gt;'));
  });
});
