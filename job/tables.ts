/**
 * The Markdown an eval's summary carries (`detail`): the A/B table (base, steered cells, tuned) with Wilson
 * intervals, the projection table and the greedy generations. Pure functions of the eval's result object.
 */
import type { AbMetrics } from '../engine/stats';

/** Markdown A/B table (base, steered cells, tuned) with Wilson intervals, for the summary's detail. */
export function abTable(result: Record<string, unknown>): string | undefined {
  const ab = result['ab'] as { base: AbMetrics; tuned?: AbMetrics } | undefined;
  if (!ab) return undefined;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const row = (name: string, m: AbMetrics) =>
    `| ${name} | ${pct(m.honest)} [${pct(m.honestCi.lo)}, ${pct(m.honestCi.hi)}] | ${pct(m.lie)} [${pct(m.lieCi.lo)}, ${pct(m.lieCi.hi)}] | ${m.bias >= 0 ? '+' : ''}${m.bias.toFixed(2)} |`;
  const rows = ['| condition | honest (95% CI) | lie (95% CI) | A/B bias |', '| --- | --- | --- | --- |', row('base', ab.base)];
  for (const c of (result['steering'] as Array<{ layers: number[]; multiplier: number; metrics: AbMetrics }> | undefined) ?? []) {
    if (c.multiplier !== 0) rows.push(row(`steered L${c.layers.join('+')} x${c.multiplier}`, c.metrics));
  }
  if (ab.tuned) rows.push(row('tuned', ab.tuned));
  return `${rows.join('\n')}\n\nn = ${ab.base.n}; bias = P(says A) - P(gold is A).`;
}

/** Markdown table of the projection evaluation (mean cosine with the direction per layer, base vs tuned). */
export function projectionTable(result: Record<string, unknown>): string | undefined {
  const r = result['projection'] as { direction: string; position: number; layers: number[]; n: number; base: { perLayer: number[]; mean: number }; tuned?: { perLayer: number[]; mean: number }; delta?: { diff: number; lo: number; hi: number } } | undefined;
  if (!r) return undefined;
  const f = (x: number) => x.toFixed(3);
  const rows = ['| layer | cos base | cos tuned |', '| --- | --- | --- |'];
  r.layers.forEach((l, j) => rows.push(`| ${l} | ${f(r.base.perLayer[j] as number)} | ${r.tuned ? f(r.tuned.perLayer[j] as number) : '-'} |`));
  rows.push(`| mean | ${f(r.base.mean)} | ${r.tuned ? f(r.tuned.mean) : '-'} |`);
  const ci = r.delta ? `; change ${r.delta.diff >= 0 ? '+' : ''}${f(r.delta.diff)} (95% paired-bootstrap CI ${f(r.delta.lo)}..${f(r.delta.hi)})` : '';
  return `${rows.join('\n')}\n\ncosine with direction ${r.direction} at anchor ${r.position >= 0 ? '+' : ''}${r.position}, n = ${r.n} prompts${ci}.`;
}

/** The greedy generations, base and tuned, as a readable list. */
export function generationsText(result: Record<string, unknown>): string | undefined {
  const g = result['generate'] as Array<{ prompt: string; base: string; tuned?: string }> | undefined;
  if (!g) return undefined;
  const q = (x: string) => JSON.stringify(x);
  return g.map((x, i) => `${i + 1}. prompt ${q(x.prompt)}\n   base:  ${q(x.base)}${x.tuned !== undefined ? `\n   tuned: ${q(x.tuned)}` : ''}`).join('\n');
}
