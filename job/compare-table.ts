/**
 * The `compare` section's table, as pure functions of the evals' result.json objects: rows are conditions (base;
 * steering's best cell, then every grid cell; each eval's tuned model, labelled by its tune), columns per A/B
 * prompt set (honest % [CI], lie % [CI], bias), then the perplexity change [CI] and the held-out cosine with the
 * direction at the tuned layers. A value an eval did not measure is null (`-` in Markdown).
 */
import type { AbMetrics } from '../engine/stats';
import { abCells, pplCell, steeringLabel } from './tables';

export interface EvalResult {
  name: string;
  /** The eval's `tuned` section. */
  tune: string | undefined;
  dir: string;
  result: Record<string, unknown>;
}

export interface AbColumn {
  n: number;
  honest: number;
  honestCi: [number, number];
  lie: number;
  lieCi: [number, number];
  bias: number;
}

export interface PplColumn {
  deltaPct: number;
  ciPct: [number, number] | null;
  unit: string | null;
  units: number | null;
}

export interface ComparisonRow {
  label: string;
  kind: 'base' | 'steered-best' | 'steered' | 'tuned';
  /** The eval it comes from. */
  eval: string;
  /** Per A/B prompt set (the table's `sets`); a set the eval did not score is absent. */
  ab: Record<string, AbColumn>;
  ppl: PplColumn | null;
  /** Mean held-out cosine with the direction at the layers, or null when not measured for this condition. */
  cosine: { mean: number; layers: number[] } | null;
}

export interface Comparison {
  headline: string;
  /** A/B prompt sets, in column order (the first is the target). */
  sets: string[];
  evals: Array<{ name: string; tune: string | null; dir: string }>;
  rows: ComparisonRow[];
}

interface AbPart {
  prompts?: string;
  base: AbMetrics;
  tuned?: AbMetrics;
  sets?: Array<{ prompts: string; base: AbMetrics; tuned?: AbMetrics }>;
}
interface PplPart {
  deltaPct: number;
  ciPct: [number, number] | null;
  unit?: string;
  units?: number;
}
interface SteeringPart {
  prompts: string;
  cells: Array<{ layers: number[]; multiplier: number; metrics: AbMetrics; sets?: Array<{ prompts: string; metrics: AbMetrics }>; ppl?: PplPart }>;
  best?: number | null;
}
interface ProjectionPart {
  layers: number[];
  base: { mean: number };
  tuned?: { mean: number };
}

const col = (m: AbMetrics): AbColumn => ({
  n: m.n,
  honest: m.honest,
  honestCi: [m.honestCi.lo, m.honestCi.hi],
  lie: m.lie,
  lieCi: [m.lieCi.lo, m.lieCi.hi],
  bias: m.bias,
});
const pplCol = (c: PplPart | undefined): PplColumn | null =>
  c ? { deltaPct: c.deltaPct, ciPct: c.ciPct ?? null, unit: c.unit ?? null, units: c.units ?? null } : null;

function abSets(r: Record<string, unknown>): Array<{ prompts: string; base: AbMetrics; tuned?: AbMetrics }> {
  const ab = r['ab'] as AbPart | undefined;
  if (!ab) return [];
  return ab.sets ?? [{ prompts: ab.prompts ?? '', base: ab.base, ...(ab.tuned ? { tuned: ab.tuned } : {}) }];
}

/** The table over `evals` (result.json objects), in their order. */
export function comparisonRows(evals: readonly EvalResult[]): Comparison {
  const sets = abSets(evals.find((e) => abSets(e.result).length > 0)?.result ?? {}).map((s) => s.prompts);
  const rows: ComparisonRow[] = [];
  const baseEval = evals.find((e) => abSets(e.result).length > 0 || e.result['projection'] !== undefined);
  if (baseEval) {
    const proj = baseEval.result['projection'] as ProjectionPart | undefined;
    rows.push({
      label: 'base',
      kind: 'base',
      eval: baseEval.name,
      ab: Object.fromEntries(abSets(baseEval.result).map((s) => [s.prompts, col(s.base)])),
      ppl: null,
      cosine: proj ? { mean: proj.base.mean, layers: proj.layers } : null,
    });
  }
  const steerEval = evals.find((e) => e.result['steering'] !== undefined);
  if (steerEval) {
    const st = steerEval.result['steering'] as SteeringPart;
    const cellAb = (c: SteeringPart['cells'][number]): Record<string, AbColumn> =>
      Object.fromEntries((c.sets ?? [{ prompts: st.prompts, metrics: c.metrics }]).map((x) => [x.prompts, col(x.metrics)]));
    const best = st.best ?? null;
    const bestCell = best !== null ? st.cells[best] : undefined;
    if (bestCell && best !== 0)
      rows.push({
        label: `steered best (${steeringLabel(bestCell)})`,
        kind: 'steered-best',
        eval: steerEval.name,
        ab: cellAb(bestCell),
        ppl: pplCol(bestCell.ppl),
        cosine: null,
      });
    for (const c of st.cells)
      if (c.multiplier !== 0)
        rows.push({ label: `steered ${steeringLabel(c)}`, kind: 'steered', eval: steerEval.name, ab: cellAb(c), ppl: pplCol(c.ppl), cosine: null });
  }
  for (const e of evals) {
    if (e.tune === undefined) continue;
    const proj = e.result['projection'] as ProjectionPart | undefined;
    const ppl = (e.result['perplexity'] as { comparison?: PplPart } | undefined)?.comparison;
    rows.push({
      label: e.tune,
      kind: 'tuned',
      eval: e.name,
      ab: Object.fromEntries(abSets(e.result).flatMap((s) => (s.tuned ? [[s.prompts, col(s.tuned)]] : []))),
      ppl: pplCol(ppl),
      cosine: proj?.tuned ? { mean: proj.tuned.mean, layers: proj.layers } : null,
    });
  }
  const target = sets[0];
  const rate = (r: ComparisonRow) => (target !== undefined && r.ab[target] ? `${r.label} ${(100 * r.ab[target].honest).toFixed(0)}%` : undefined);
  const shown = rows
    .filter((r) => r.kind !== 'steered')
    .map(rate)
    .filter((x) => x !== undefined);
  const headline =
    `${rows.length} conditions × ${sets.length} prompt set(s)` + (shown.length > 0 && target !== undefined ? `; honest on ${target}: ${shown.join(', ')}` : '');
  return { headline, sets, evals: evals.map((e) => ({ name: e.name, tune: e.tune ?? null, dir: e.dir })), rows };
}

/** The comparison as one Markdown table with a note on what the columns are. */
export function comparisonMarkdown(t: Comparison): string {
  const head = ['condition', ...t.sets.flatMap((s, j) => [`${s}${j === 0 ? ' (target)' : ''} honest`, `${s} lie`, `${s} bias`]), 'ppl change', 'cos(v)'];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of t.rows) {
    const ab = t.sets.flatMap((s) => {
      const c = r.ab[s];
      return abCells(
        c
          ? ({
              n: c.n,
              honest: c.honest,
              lie: c.lie,
              bias: c.bias,
              honestCi: { lo: c.honestCi[0], hi: c.honestCi[1] },
              lieCi: { lo: c.lieCi[0], hi: c.lieCi[1] },
            } as AbMetrics)
          : undefined,
      );
    });
    const ppl = r.ppl ? pplCell(r.ppl) : '-';
    const cos = r.cosine ? r.cosine.mean.toFixed(3) : '-';
    lines.push(`| ${[r.label, ...ab, ppl, cos].join(' | ')} |`);
  }
  const units = t.rows.find((r) => r.ppl?.unit)?.ppl;
  const layers = t.rows.find((r) => r.cosine)?.cosine?.layers;
  const ns = t.sets.map((s) => `${s} ${t.rows.find((r) => r.ab[s])?.ab[s]?.n ?? '?'}`).join(', ');
  return (
    `${lines.join('\n')}\n\n` +
    `honest / lie: A/B answers from the label logits, Wilson 95% intervals (n: ${ns}); bias = P(says A) - P(gold is A). ` +
    `ppl change: relative perplexity change against the base (steered: against unsteered) on the eval's perplexity text, paired bootstrap 95% CI` +
    (units?.unit ? ` resampling ${units.units ?? '?'} ${units.unit}` : '') +
    `. cos(v): mean held-out cosine of the block outputs with the direction` +
    (layers ? ` at layers ${layers.join(', ')}` : '') +
    ` (not measured under steering). Evals: ${t.evals.map((e) => `${e.name}${e.tune ? ` (tuned ${e.tune})` : ''}`).join(', ')}.`
  );
}
