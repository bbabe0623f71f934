/**
 * The steering grid's best cell under a perplexity bound (ties: smaller increase, then smaller |k|, then grid
 * order) and the compare section's table built from eval results (rows, columns, nulls for what an eval did not
 * measure), as pure functions of result objects.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { abMetrics, type AbMetrics } from '../../engine/stats';
import { bestCell, type SteeringCellResult } from '../../job/sections/eval-steering';
import { comparisonMarkdown, comparisonRows } from '../../job/compare-table';

/** A/B metrics with `honest` of `n` rows answered correctly (gold A everywhere). */
function ab(honest: number, n = 10): AbMetrics {
  return abMetrics(Array.from({ length: n }, (_, i) => ({ gold: 'A' as const, logitA: i < honest ? 1 : 0, logitB: i < honest ? 0 : 1 })));
}
function cell(multiplier: number, honest: number, deltaPct: number): SteeringCellResult {
  const metrics = ab(honest);
  return {
    layers: multiplier === 0 ? [] : [1],
    multiplier,
    scales: [],
    metrics,
    sets: [{ prompts: 'liar', metrics }],
    ppl: {
      pplBase: 1,
      pplTuned: 1,
      deltaPct,
      ciPct: [deltaPct - 1, deltaPct + 1],
      p: 1,
      nllBase: 0,
      nllTuned: 0,
      n: 10,
      unit: 'documents',
      units: 12,
      resamples: 100,
      confidence: 0.95,
    },
  };
}

describe('steering: the best cell', () => {
  it('is the highest honest rate within the bound; ties go to the smaller increase, then the smaller |k|, then grid order', () => {
    const cells = [cell(0, 2, 0), cell(1, 5, 3), cell(-1, 1, 1), cell(4, 9, 25), cell(-4, 5, 3), cell(2, 5, 3)];
    assert.equal(bestCell(cells, 0.1), 1, '+4 (9/10) costs +25%, beyond +10%; +1, -4 and +2 tie at 5/10 and +3%: the smallest |k| wins');
    assert.equal(bestCell(cells, 0.3), 3, 'with a +30% bound +4 qualifies');
    assert.equal(bestCell(cells, undefined), 3, 'no bound: the highest honest rate');
    assert.equal(bestCell(cells, 0), 0, 'only the unsteered control costs nothing');
    assert.equal(bestCell([cell(1, 5, 4), cell(-1, 5, 2)], 0.1), 1, 'equal honest rates: the smaller increase');
    assert.equal(bestCell([cell(1, 5, 4), cell(-1, 5, 4)], 0.1), 0, 'equal everything: grid order');
    assert.equal(bestCell([cell(1, 5, 40)], 0.1), null, 'nothing within the bound');
  });
});

describe('compare: the table', () => {
  const base = { liar: ab(2), plain: ab(8) };
  const tuned = { liar: ab(7), plain: ab(8) };
  const result = (withSteering: boolean) => ({
    ab: {
      prompts: 'liar',
      base: base.liar,
      tuned: tuned.liar,
      sets: [
        { prompts: 'liar', base: base.liar, tuned: tuned.liar },
        { prompts: 'plain', base: base.plain, tuned: tuned.plain },
      ],
    },
    perplexity: { comparison: { deltaPct: 1.5, ciPct: [0.5, 2.5], unit: 'documents', units: 12 } },
    projection: { layers: [1, 2], base: { mean: 0.1 }, tuned: { mean: 0.4 } },
    ...(withSteering ? { steering: { prompts: 'liar', best: 1, cells: [cell(0, 2, 0), cell(1, 5, 3), cell(-1, 1, 1)] } } : {}),
  });

  it('rows: base, best steered cell, the grid, then each tuned eval by its tune; columns per prompt set, ppl change and cosine', () => {
    const t = comparisonRows([
      { name: 'in_eval', tune: 'honest', dir: '/r/in', result: result(true) },
      { name: 'out_eval', tune: 'honest_out', dir: '/r/out', result: result(false) },
    ]);
    assert.deepEqual(t.sets, ['liar', 'plain']);
    assert.deepEqual(
      t.rows.map((r) => [r.label, r.kind]),
      [
        ['base', 'base'],
        ['steered best (L1 +1)', 'steered-best'],
        ['steered L1 +1', 'steered'],
        ['steered L1 -1', 'steered'],
        ['honest', 'tuned'],
        ['honest_out', 'tuned'],
      ],
    );
    const row = (label: string) => t.rows.find((r) => r.label === label);
    assert.equal(row('base')?.ab['plain']?.honest, 0.8);
    assert.equal(row('base')?.ppl, null, 'the base is the reference of the change');
    assert.deepEqual(row('base')?.cosine, { mean: 0.1, layers: [1, 2] });
    assert.equal(row('honest')?.ab['liar']?.honest, 0.7);
    assert.deepEqual(row('honest')?.ppl, { deltaPct: 1.5, ciPct: [0.5, 2.5], unit: 'documents', units: 12 });
    assert.equal(row('steered L1 -1')?.ab['plain'], undefined, 'steering scored only liar: no plain column');
    assert.equal(row('steered L1 +1')?.cosine, null, 'no cosine under steering');
    const md = comparisonMarkdown(t);
    assert.match(md, /\| condition \| liar \(target\) honest \| liar lie \| liar bias \| plain honest \| plain lie \| plain bias \| ppl change \| cos\(v\) \|/);
    assert.match(md, /\| honest \| 70\.0% \[39\.7%, 89\.2%\] \| 30\.0% \[10\.8%, 60\.3%\] \| -0\.30 \| 80\.0% .* \| \+1\.5% \[\+0\.5, \+2\.5\] \| 0\.400 \|/);
    assert.match(md, /resampling 12 documents/);
    assert.match(t.headline, /^6 conditions × 2 prompt set\(s\); honest on liar: base 20%, steered best \(L1 \+1\) 50%, honest 70%, honest_out 70%$/);
  });
});
