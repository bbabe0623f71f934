/**
 * An eval's `steering` block (METHOD.md §6): add ±k·v to the output of the steered layers at every token, score
 * A/B from the logits beside one unsteered control, and generate a few greedy continuations per condition. The
 * vectors come from the direction's `position` (resolved when lowering: the tuned run's by default); `scale norm`
 * measures each layer's mean block-output norm at that position on the steering prompts first. The prompts are
 * the block's own set, else every `ab` set (so the tables share their base and tuned rows; the first set is the
 * target), else the tuned run's held-out statements. With the eval's `perplexity`, every cell also scores that
 * text under its steering (the same windows), and the best cell is the highest target honest rate whose perplexity
 * increase stays within `max_ppl_increase` (bestCell).
 */
import { vectorsAt } from '../../engine/method/direction-set';
import { abEvaluate, meanOutputNorms, steeringConditions, steeringGrid, withSteering, type AbItem, type SteeringCell } from '../../engine/method/evaluate';
import type { PerplexityOutcome } from '../../engine/eval/perplexity';
import type { StatementRow } from '../../engine/method/prompts';
import { generate } from '../../engine/generate';
import type { Tap } from '../../engine/model/forward';
import { withWeights } from '../../engine/model/weights';
import type { Session } from '../../engine/session';
import type { AbMetrics } from '../../engine/stats';
import type { EvalConfig, PromptSetConfig } from '../../protocol/contract';
import type { SectionContext, TunedResult } from '../context';
import { anchored, goldOf, labelIds, readRows, renderTarget } from '../prompting';
import type { RunFolder } from '../run-folder';
import { steeringLabel } from '../tables';
import { perplexityChange, type PerplexityChange, type PerplexityText } from './eval-perplexity';

/** How many steering prompts get greedy generations in every condition. */
export const STEERED_GENERATIONS = 3;

/** A/B items of one prompt set, with what steering needs besides: the rendered texts and the anchor positions. */
export interface AbSet {
  prompts: string;
  texts: string[];
  items: AbItem[];
  /** Anchor position of each item. */
  anchors: number[];
  idA: number;
  idB: number;
}

export function abSet(s: Session, name: string, p: PromptSetConfig, rows: readonly StatementRow[]): AbSet {
  const texts = rows.map((r) => renderTarget(p, r));
  const anchoredItems = texts.map((t) => anchored(s, p, t));
  const { idTrue: idA, idFalse: idB } = labelIds(s, p);
  return {
    prompts: name,
    texts,
    // The gold letter is the row's truthful one: with order_column an FT row's True is the second option (B).
    items: anchoredItems.map((a, i) => ({ ids: a.ids, gold: goldOf(p, rows[i] as StatementRow) })),
    anchors: anchoredItems.map((a) => a.position),
    idA,
    idB,
  };
}

/** A steering cell of the result: the condition, its A/B metrics on the target set and on every set, its perplexity cost. */
export interface SteeringCellResult {
  layers: number[];
  multiplier: number;
  scales: number[];
  /** On the first (target) prompt set. */
  metrics: AbMetrics;
  /** Per prompt set, in order. */
  sets: Array<{ prompts: string; metrics: AbMetrics }>;
  /** The perplexity change against the unsteered model (the eval's perplexity text, same windows). */
  ppl?: PerplexityChange;
}

/**
 * The best cell: the highest target honest rate among the cells within `bound` (a relative perplexity increase,
 * point estimate; every cell when undefined); ties go to the smaller perplexity increase, then the smaller |k|, then
 * grid order. The unsteered control (index 0) competes too. Null when no cell is within the bound.
 */
export function bestCell(cells: readonly SteeringCellResult[], bound: number | undefined): number | null {
  let best: number | null = null;
  cells.forEach((c, i) => {
    if (bound !== undefined && c.ppl !== undefined && !(c.ppl.deltaPct <= 100 * bound)) return;
    if (best === null) return void (best = i);
    const b = cells[best] as SteeringCellResult;
    const key = (x: SteeringCellResult) => [-x.metrics.honest, x.ppl?.deltaPct ?? 0, Math.abs(x.multiplier)];
    const [p, q] = [key(c), key(b)];
    for (let k = 0; k < p.length; k++) {
      if ((p[k] as number) < (q[k] as number)) return void (best = i);
      if ((p[k] as number) > (q[k] as number)) return;
    }
  });
  return best;
}

export async function steeringEval(
  ctx: SectionContext,
  e: EvalConfig,
  s: Session,
  tuned: TunedResult | undefined,
  abSets: readonly AbSet[],
  ppl: { text: PerplexityText; base: PerplexityOutcome } | undefined,
  folder: RunFolder,
) {
  const st = e.steering as NonNullable<EvalConfig['steering']>;
  const d = ctx.directions.get(st.direction);
  if (!d) throw new Error(`eval ${e.name}: run direction ${st.direction} first`);
  const vecs = vectorsAt(d, st.position, st.layers, `eval ${e.name}: steering: direction ${st.direction}`);
  let sets: readonly AbSet[];
  if (st.prompts !== undefined)
    sets = [abSet(s, st.prompts, ctx.config.prompts[st.prompts] as PromptSetConfig, readRows(ctx.config.prompts[st.prompts] as PromptSetConfig))];
  else if (abSets.length > 0) sets = abSets;
  else if (tuned) sets = [abSet(s, tuned.prompts, ctx.config.prompts[tuned.prompts] as PromptSetConfig, tuned.heldout)];
  else throw new Error(`eval ${e.name}: steering needs prompts: steering { prompts NAME }, an ab block or a tuned run`);
  const set = sets[0] as AbSet;
  if (set.items.length === 0) throw new Error(`eval ${e.name}: steering has no prompts to steer on (prompts ${set.prompts} is empty)`);
  const shared = sets === abSets;
  const gguf = Object.values(ctx.config.exports).find((x) => x.direction === st.direction && x.directionFormats.includes('gguf'));
  if (gguf && st.layers.includes(0)) {
    ctx.emit(
      {
        type: 'log',
        level: 'warn',
        message: `eval ${e.name}: steering at layer 0 cannot be reproduced with the llama.cpp control vector of export ${gguf.name}: llama.cpp cannot steer block 0`,
      },
      folder,
    );
  }
  // scale norm: k in units of each layer's mean block-output norm at the steered position, unsteered.
  const norms =
    st.scale === 'norm'
      ? await meanOutputNorms(
          s.model,
          set.items.map((it, i) => ({ ids: it.ids, positions: [(set.anchors[i] as number) + st.position] })),
          st.layers,
          { batch: 16, ...ctx.cancel },
        )
      : undefined;
  if (norms)
    ctx.emit(
      {
        type: 'log',
        level: 'info',
        message: `steering: mean block-output norm at position ${st.position}: ${[...norms].map(([l, n]) => `L${l} ${n.toFixed(3)}`).join(', ')}`,
      },
      folder,
    );
  const conditions = steeringConditions(st.layers, st.multipliers, { combine: st.combine, ...(norms ? { units: norms } : {}) });
  const started = Date.now();
  const grids: SteeringCell[][] = [];
  for (const x of sets) grids.push(await steeringGrid(s.model, x.items, x.idA, x.idB, vecs, conditions, ctx.cancel));
  const cells: SteeringCellResult[] = [];
  for (let i = 0; i < (grids[0] as SteeringCell[]).length; i++) {
    const c = (grids[0] as SteeringCell[])[i] as SteeringCell;
    const cell: SteeringCellResult = {
      layers: c.layers,
      multiplier: c.multiplier,
      scales: c.scales,
      metrics: c.metrics,
      sets: sets.map((x, j) => ({ prompts: x.prompts, metrics: ((grids[j] as SteeringCell[])[i] as SteeringCell).metrics })),
    };
    if (ppl) {
      const cond = conditions[i - 1];
      const after = cond === undefined ? ppl.base : await withSteering(cond, vecs, (taps) => ppl.text.score(steeringLabel(cond), taps));
      cell.ppl = perplexityChange(ppl.text, ppl.base, after);
    }
    cells.push(cell);
  }
  const seconds = (Date.now() - started) / 1000;
  ctx.emit(
    {
      type: 'log',
      level: 'info',
      message: `steering grid: ${cells.length} cells x ${sets.length} prompt set(s)${ppl ? ' + perplexity' : ''} in ${seconds.toFixed(1)} s`,
    },
    folder,
  );
  const best = bestCell(cells, ppl ? st.maxPplIncrease : undefined);
  const tunedMetrics: AbMetrics | undefined =
    !shared && tuned ? await withWeights(s.model, tuned.weights, () => abEvaluate(s.model, set.items, set.idA, set.idB, ctx.cancel)) : undefined;
  let generations: Array<{ prompt: string; unsteered: string; steered: Record<string, string> }> | undefined;
  if (st.maxNewTokens > 0) {
    const ids = set.items.slice(0, STEERED_GENERATIONS).map((it) => it.ids);
    const run = async (taps?: Tap[]) => {
      const r = await generate(s.model, ids, { maxNewTokens: st.maxNewTokens, temperature: 0, ...(taps ? { taps } : {}), ...ctx.cancel });
      return r.tokens.map((t) => s.tokenizer.decode(t));
    };
    const unsteered = await run();
    const steered = new Map<string, string[]>();
    for (const c of conditions) steered.set(steeringLabel(c), await withSteering(c, vecs, run));
    generations = ids.map((_, i) => ({
      prompt: set.texts[i] as string,
      unsteered: unsteered[i] as string,
      steered: Object.fromEntries([...steered].map(([k, v]) => [k, v[i] as string])),
    }));
  }
  return {
    direction: st.direction,
    position: st.position,
    scale: st.scale,
    combine: st.combine,
    prompts: set.prompts,
    shared,
    n: set.items.length,
    ...(norms ? { norms: Object.fromEntries(norms) } : {}),
    cells,
    /** Index of the best cell in `cells` (bestCell), null when none is within the bound. */
    best,
    bestLabel: best === null ? null : best === 0 ? 'unsteered' : steeringLabel(cells[best] as SteeringCellResult),
    maxPplIncrease: ppl ? (st.maxPplIncrease ?? null) : null,
    gridSeconds: seconds,
    ...(tunedMetrics ? { tuned: tunedMetrics } : {}),
    ...(generations ? { generations } : {}),
  };
}

export type SteeringResult = Awaited<ReturnType<typeof steeringEval>>;
