/**
 * An eval run's blocks: perplexity base → tuned with its paired-bootstrap interval, the A/B table (base, steered
 * cells, tuned) with Wilson intervals and bias, the steering grid as a plot, the projection cosines, and the
 * sample generations per condition. Read from result.json as job/sections/eval.ts writes it.
 */
import { cell, isRecord, num, numCell, pct, type Block, type Cell } from './blocks';
import type { ReportRun } from './model';
import { lineChartSvg, PALETTE } from './svg';

interface Rate {
  p: number;
  lo: number;
  hi: number;
}
interface Ab {
  n: number;
  honest: number;
  lie: number;
  bias: number;
  honestCi: Rate;
  lieCi: Rate;
}
interface SteeringCell {
  layers: number[];
  multiplier: number;
  metrics: Ab;
}

const isAb = (x: unknown): x is Ab => isRecord(x) && typeof x['honest'] === 'number' && isRecord(x['honestCi']) && isRecord(x['lieCi']);

/** `L1 +4`, `L1+2 -8` (job/tables.ts steeringLabel). */
export function steeringName(c: { layers: readonly number[]; multiplier: number }): string {
  return `L${c.layers.join('+')} ${c.multiplier > 0 ? '+' : ''}${c.multiplier}`;
}

function abRow(name: string, m: Ab, src: string): Cell[] {
  const r = (k: 'honest' | 'lie') => [
    cell(pct(m[k]), { src: `${src}.${k}`, value: m[k], pct: true }),
    cell(
      `[${pct(m[`${k}Ci`].lo)}, ${pct(m[`${k}Ci`].hi)}]`,
      { src: `${src}.${k}Ci.lo`, value: m[`${k}Ci`].lo, pct: true },
      { src: `${src}.${k}Ci.hi`, value: m[`${k}Ci`].hi, pct: true },
    ),
  ];
  return [
    cell(name),
    ...r('honest'),
    ...r('lie'),
    cell(`${m.bias >= 0 ? '+' : ''}${m.bias.toFixed(2)}`, { src: `${src}.bias`, value: m.bias }),
    numCell(`${src}.n`, m.n),
  ];
}

const AB_HEAD = ['condition', 'honest', 'honest 95% CI', 'lie', 'lie 95% CI', 'A/B bias', 'n'];

function perplexityBlock(p: Record<string, unknown>): Block {
  const c = isRecord(p['comparison']) ? p['comparison'] : undefined;
  const ci = Array.isArray(c?.['ciPct']) ? (c['ciPct'] as number[]) : undefined;
  const row: Cell[] = [
    cell(
      typeof p['base'] === 'number' ? p['base'].toFixed(3) : '—',
      ...(typeof p['base'] === 'number' ? [{ src: 'result.json#perplexity.base', value: p['base'] }] : []),
    ),
    cell(
      typeof p['tuned'] === 'number' ? p['tuned'].toFixed(3) : '—',
      ...(typeof p['tuned'] === 'number' ? [{ src: 'result.json#perplexity.tuned', value: p['tuned'] }] : []),
    ),
  ];
  const d = num(c?.['deltaPct']);
  row.push(d !== undefined ? cell(`${d >= 0 ? '+' : ''}${d.toFixed(2)}%`, { src: 'result.json#perplexity.comparison.deltaPct', value: d }) : cell('—'));
  row.push(
    ci && ci.length === 2
      ? cell(
          `[${(ci[0] as number).toFixed(2)}%, ${(ci[1] as number).toFixed(2)}%]`,
          { src: 'result.json#perplexity.comparison.ciPct.0', value: ci[0] as number },
          { src: 'result.json#perplexity.comparison.ciPct.1', value: ci[1] as number },
        )
      : cell('—'),
  );
  row.push(numCell('result.json#perplexity.comparison.p', c?.['p']), numCell('result.json#perplexity.scored', p['scored']));
  const conf = num(c?.['confidence']);
  return {
    type: 'table',
    title: 'Perplexity, base → tuned',
    head: ['base', 'tuned', 'change', `${conf !== undefined ? Math.round(conf * 100) : 95}% CI of change`, 'p', 'scored tokens'],
    rows: [row],
    ...(c
      ? { note: `paired bootstrap over ${String(c['unit'] ?? 'unit')}s (${String(c['units'] ?? '?')} units, ${String(c['resamples'] ?? '?')} resamples)` }
      : {}),
  };
}

function steeringPlot(cells: SteeringCell[], tuned: Ab | undefined, section: string): Block | undefined {
  const sets = [...new Set(cells.filter((c) => c.multiplier !== 0).map((c) => c.layers.join('+')))];
  if (sets.length === 0) return undefined;
  const control = cells.find((c) => c.multiplier === 0);
  const series = sets.map((set, i) => {
    const mine = [...(control ? [control] : []), ...cells.filter((c) => c.multiplier !== 0 && c.layers.join('+') === set)].sort(
      (a, b) => a.multiplier - b.multiplier,
    );
    return {
      name: `L${set}`,
      x: mine.map((c) => c.multiplier),
      y: mine.map((c) => c.metrics.honest),
      whiskers: mine.map((c) => [c.metrics.honestCi.lo, c.metrics.honestCi.hi] as const),
      color: PALETTE[i % PALETTE.length] as string,
      markers: true,
    };
  });
  const refs = [
    ...(control ? [{ name: 'unsteered', y: control.metrics.honest, color: '#555555' }] : []),
    ...(tuned ? [{ name: 'tuned', y: tuned.honest, color: '#e51400' }] : []),
  ];
  return {
    type: 'figure',
    id: `${section}-steering`,
    title: 'Steering grid: honest rate against the multiplier, per layer set (95% Wilson intervals)',
    svg: lineChartSvg({ title: `eval ${section}: honest answers under steering`, xLabel: 'multiplier k', yLabel: 'honest rate', series, refs, yRange: [0, 1] }),
  };
}

export function evalBlocks(r: ReportRun): Block[] {
  const res = r.result ?? {};
  const out: Block[] = [];
  if (isRecord(res['perplexity'])) out.push(perplexityBlock(res['perplexity']));
  const ab = isRecord(res['ab']) ? res['ab'] : undefined;
  const st = isRecord(res['steering']) ? res['steering'] : undefined;
  const cells = (Array.isArray(st?.['cells']) ? st['cells'] : []).filter(
    (c): c is SteeringCell => isRecord(c) && isAb(c['metrics']) && Array.isArray(c['layers']),
  );
  const steered = cells.map((c, i) => ({ c, i })).filter(({ c }) => c.multiplier !== 0);
  if (ab && isAb(ab['base'])) {
    const rows = [abRow('base', ab['base'], 'result.json#ab.base')];
    if (st?.['shared'] === true)
      rows.push(...steered.map(({ c, i }) => abRow(`steered ${steeringName(c)}`, c.metrics, `result.json#steering.cells.${i}.metrics`)));
    if (isAb(ab['tuned'])) rows.push(abRow('tuned', ab['tuned'], 'result.json#ab.tuned'));
    out.push({
      type: 'table',
      title: 'A/B answers of the evaluation prompts',
      head: AB_HEAD,
      rows,
      note: 'bias = P(says A) − P(gold is A); intervals are 95% Wilson intervals.',
    });
  }
  if (st && st['shared'] !== true && cells.length > 0) {
    const control = cells.findIndex((c) => c.multiplier === 0);
    const rows = [
      ...(control >= 0 ? [abRow('unsteered', (cells[control] as SteeringCell).metrics, `result.json#steering.cells.${control}.metrics`)] : []),
      ...steered.map(({ c, i }) => abRow(`steered ${steeringName(c)}`, c.metrics, `result.json#steering.cells.${i}.metrics`)),
      ...(isAb(st['tuned']) ? [abRow('tuned', st['tuned'], 'result.json#steering.tuned')] : []),
    ];
    out.push({ type: 'table', title: `Steering on prompts ${String(st['prompts'] ?? '')}`, head: AB_HEAD, rows });
  }
  if (st) {
    const tuned = isAb(st['tuned']) ? st['tuned'] : ab && isAb(ab['tuned']) && st['shared'] === true ? ab['tuned'] : undefined;
    const plot = steeringPlot(cells, tuned, r.section);
    if (plot) out.push(plot);
  }
  const proj = isRecord(res['projection']) ? res['projection'] : undefined;
  if (proj && Array.isArray(proj['layers']) && isRecord(proj['base'])) {
    const base = proj['base'];
    const tuned = isRecord(proj['tuned']) ? proj['tuned'] : undefined;
    const rows = (proj['layers'] as unknown[]).map((l, j) => [
      cell(String(l)),
      numCell(`result.json#projection.base.perLayer.${j}`, (base['perLayer'] as unknown[] | undefined)?.[j], 3),
      tuned ? numCell(`result.json#projection.tuned.perLayer.${j}`, (tuned['perLayer'] as unknown[] | undefined)?.[j], 3) : cell('—'),
    ]);
    rows.push([
      cell('mean'),
      numCell('result.json#projection.base.mean', base['mean'], 3),
      tuned ? numCell('result.json#projection.tuned.mean', tuned['mean'], 3) : cell('—'),
    ]);
    const d = isRecord(proj['delta']) ? proj['delta'] : undefined;
    out.push({
      type: 'table',
      title: `Projection: cosine with direction ${String(proj['direction'] ?? '')} at anchor ${String(proj['position'] ?? '')}`,
      head: ['layer', 'cos base', 'cos tuned'],
      rows,
      ...(d
        ? {
            note: `change ${formatSigned(num(d['diff']))} (95% paired-bootstrap CI ${formatSigned(num(d['lo']))}..${formatSigned(num(d['hi']))}), n = ${String(proj['n'] ?? '?')} prompts`,
          }
        : {}),
    });
  }
  const gen = Array.isArray(res['generate']) ? res['generate'] : [];
  const items = gen.filter(isRecord).map((g) => ({
    prompt: String(g['prompt'] ?? ''),
    outputs: [{ condition: 'base', text: String(g['base'] ?? '') }, ...(typeof g['tuned'] === 'string' ? [{ condition: 'tuned', text: g['tuned'] }] : [])],
  }));
  if (items.length > 0) out.push({ type: 'generations', title: 'Sample generations (greedy), base and tuned', items });
  const sg = Array.isArray(st?.['generations']) ? (st['generations'] as unknown[]) : [];
  const sitems = sg.filter(isRecord).map((g) => ({
    prompt: String(g['prompt'] ?? ''),
    outputs: [
      { condition: 'unsteered', text: String(g['unsteered'] ?? '') },
      ...Object.entries(isRecord(g['steered']) ? g['steered'] : {}).map(([k, t]) => ({ condition: `steered ${k}`, text: String(t) })),
    ],
  }));
  if (sitems.length > 0) out.push({ type: 'generations', title: 'Sample generations under steering (greedy)', items: sitems });
  return out;
}

function formatSigned(x: number | undefined): string {
  return x === undefined ? '?' : `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
}
