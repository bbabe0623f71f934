/**
 * The Markdown an eval's summary carries (`detail`): the A/B table (base, steered cells, tuned) with Wilson
 * intervals, the steered generations, the projection table and the greedy generations. Pure functions of the
 * eval's result object.
 */
import type { AbMetrics } from '../engine/stats';

/** A steering condition's name in tables and generations: `L1 +4`, `L1+2 -8`. */
export function steeringLabel(c: { layers: readonly number[]; multiplier: number }): string {
  return `L${c.layers.join('+')} ${c.multiplier > 0 ? '+' : ''}${c.multiplier}`;
}

interface PplChange {
  deltaPct: number;
  ciPct: [number, number] | null;
}

interface SteeringPart {
  position: number;
  scale: string;
  combine: boolean;
  prompts: string;
  shared: boolean;
  n: number;
  norms?: Record<string, number>;
  cells: Array<{ layers: number[]; multiplier: number; metrics: AbMetrics; sets?: Array<{ prompts: string; metrics: AbMetrics }>; ppl?: PplChange }>;
  tuned?: AbMetrics;
  best?: number | null;
  maxPplIncrease?: number | null;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const signed = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** `+1.2% [-0.3, +2.8]`, or `-` without a change. */
export function pplCell(c: PplChange | undefined): string {
  if (!c) return '-';
  return `${signed(c.deltaPct, 1)}% ${c.ciPct ? `[${signed(c.ciPct[0], 1)}, ${signed(c.ciPct[1], 1)}]` : '[no CI]'}`;
}

/** A/B cells of one condition: honest % [CI], lie % [CI], bias. */
export function abCells(m: AbMetrics | undefined): string[] {
  if (!m) return ['-', '-', '-'];
  return [`${pct(m.honest)} [${pct(m.honestCi.lo)}, ${pct(m.honestCi.hi)}]`, `${pct(m.lie)} [${pct(m.lieCi.lo)}, ${pct(m.lieCi.hi)}]`, signed(m.bias, 2)];
}

/**
 * Markdown A/B tables, one per prompt set (base, steered cells +k and -k with their perplexity cost, tuned), with
 * Wilson intervals, for the summary's detail. Steering on other prompts than `ab`'s gets a table of its own.
 */
export function abTable(result: Record<string, unknown>): string | undefined {
  const ab = result['ab'] as
    | { prompts?: string; base: AbMetrics; tuned?: AbMetrics; sets?: Array<{ prompts: string; base: AbMetrics; tuned?: AbMetrics }> }
    | undefined;
  const st = result['steering'] as SteeringPart | undefined;
  const tunedPpl = (result['perplexity'] as { comparison?: PplChange } | undefined)?.comparison;
  const withPpl = st?.cells.some((c) => c.ppl !== undefined) === true || tunedPpl !== undefined;
  const row = (name: string, m: AbMetrics | undefined, ppl?: PplChange) => `| ${[name, ...abCells(m), ...(withPpl ? [pplCell(ppl)] : [])].join(' | ')} |`;
  const head = [
    `| condition | honest (95% CI) | lie (95% CI) | A/B bias |${withPpl ? ' ppl change (95% CI) |' : ''}`,
    `| --- | --- | --- | --- |${withPpl ? ' --- |' : ''}`,
  ];
  const steeredOn = (j: number) =>
    st
      ? st.cells
          .filter((c) => c.multiplier !== 0)
          .map((c) => row(`steered ${steeringLabel(c)}`, c.sets?.[j]?.metrics ?? (j === 0 ? c.metrics : undefined), c.ppl))
      : [];
  const note = st
    ? `steering adds ±k·v at every token, v from position ${st.position}${st.combine ? `, split evenly over the ${st.cells[1]?.layers.length ?? 0} layers` : ''}` +
      (st.norms
        ? `; k in units of the mean block-output norm (${Object.entries(st.norms)
            .map(([l, x]) => `L${l} ${x.toFixed(2)}`)
            .join(', ')})`
        : '') +
      (st.best !== undefined && st.best !== null
        ? `; best cell ${st.best === 0 ? 'unsteered' : steeringLabel(st.cells[st.best] as SteeringPart['cells'][number])}`
        : '') +
      (st.maxPplIncrease !== undefined && st.maxPplIncrease !== null
        ? `; best: highest honest rate on the first set with ppl change <= +${(100 * st.maxPplIncrease).toFixed(0)}%${st.best === null ? ' (no cell qualifies)' : ''}`
        : '')
    : undefined;
  const tables: string[] = [];
  if (ab) {
    const sets = ab.sets ?? [{ prompts: ab.prompts ?? '', base: ab.base, ...(ab.tuned ? { tuned: ab.tuned } : {}) }];
    sets.forEach((x, j) => {
      const rows = [...head, row('base', x.base), ...(st?.shared ? steeredOn(j) : [])];
      if (x.tuned) rows.push(row('tuned', x.tuned, tunedPpl));
      const title = sets.length > 1 ? `Prompts ${x.prompts}${j === 0 ? ' (target)' : ''}:\n\n` : '';
      tables.push(`${title}${rows.join('\n')}\n\nn = ${x.base.n}; bias = P(says A) - P(gold is A)${st?.shared ? `; ${note}` : ''}.`);
    });
  }
  if (st && !st.shared) {
    const control = st.cells.find((c) => c.multiplier === 0);
    const rows = [...head, ...(control ? [row('unsteered', control.metrics)] : []), ...steeredOn(0), ...(st.tuned ? [row('tuned', st.tuned)] : [])];
    tables.push(`Steering on prompts ${st.prompts}:\n\n${rows.join('\n')}\n\nn = ${st.n}; bias = P(says A) - P(gold is A); ${note}.`);
  }
  return tables.length > 0 ? tables.join('\n\n') : undefined;
}

/** The steered greedy generations, per prompt: unsteered first, then each condition. */
export function steeringGenerationsText(result: Record<string, unknown>): string | undefined {
  const g = (result['steering'] as { generations?: Array<{ prompt: string; unsteered: string; steered: Record<string, string> }> } | undefined)?.generations;
  if (!g || g.length === 0) return undefined;
  const q = (x: string) => JSON.stringify(x);
  return `Steered generations:\n\n${g.map((x, i) => [`${i + 1}. prompt ${q(x.prompt)}`, `   unsteered: ${q(x.unsteered)}`, ...Object.entries(x.steered).map(([k, t]) => `   ${k}: ${q(t)}`)].join('\n')).join('\n')}`;
}

/** Markdown table of the projection evaluation (mean cosine with the direction per layer, base vs tuned). */
export function projectionTable(result: Record<string, unknown>): string | undefined {
  const r = result['projection'] as
    | {
        direction: string;
        position: number;
        layers: number[];
        n: number;
        base: { perLayer: number[]; mean: number };
        tuned?: { perLayer: number[]; mean: number };
        delta?: { diff: number; lo: number; hi: number };
      }
    | undefined;
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
