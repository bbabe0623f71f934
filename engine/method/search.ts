/**
 * Block search (METHOD.md §8, with §11 items 6-8 fixed): which blocks should each loss train?
 *
 * Candidates (model/block-sets.ts, shared with the language server's trial count): 'separate' = token subsets x
 * projection subsets (105 for the research's {gate, up, down} x {q, k, v, o}), 'joint' = subsets of all
 * candidates trained by both losses (127; every block of the set really trains, unlike block_search_oneset's
 * overwritten requires_grad, §11 item 7). `maxBlocks` bounds each loss's subset. Candidates are resolved on the
 * model at the trained layers: two that train the same parameter slices are one trial, and a subset that trains
 * nothing on this architecture is no trial. Without a projection loss (no direction, or weight 0) the
 * projection candidates are ignored ('separate' then searches the token subsets alone).
 *
 * Strategies: exhaustive (every candidate for `stepsPerTrial` steps) or successive halving (rung 0 runs every
 * candidate for `minSteps`, keeps the best floor(n / eta) (at least 1), multiplies the steps by eta, and stops
 * after the rung with a single candidate or when the next rung does not fit the step budget).
 *
 * The model is loaded once by the caller; every parameter any trial may train is snapshotted before the first
 * trial and restored with `assign` after each trial (and on cancel or error), so every trial starts from the
 * base weights and the model leaves the search bit-identical. Finished trials stream as SearchTrial events;
 * passing them back as `resumeFrom` skips them, so a crashed or cancelled search resumes where it stopped.
 *
 * Ranking metric (lower is better): the held-out loss (`rankBy`: total, projection or token) of the weights the
 * trial ends with, which are early stopping's best when it is enabled (the same weights the A/B and sample
 * callbacks see), or the final training loss when there is no held-out set; Infinity for a diverged trial.
 * Loss-based by default on purpose: the token loss is back-propagated unless `skip_below` says otherwise (§11 item 6).
 *
 * Non-goals: building prompts and examples, loading the model, computing A/B metrics or samples (callbacks),
 * writing leaderboard files (the job layer), parallel trials.
 */
import type { SearchTrial } from '../../protocol/job';
import { enumerateBlockSets, type BlockCandidate } from '../../model/block-sets';
import { FAMILY_NAMES, resolveBlocks, slicesKey } from '../../model/blocks';
import type { Model } from '../model/forward';
import { WeightSnapshot } from '../model/weights';
import { blockParams } from './trainable';
import { tune, type TuneExample, type TuneOptions } from './tune';
import type { RankBy, SearchStrategy } from '../../protocol/contract';
import type { SearchSets } from '../../protocol/contract';

/** A finished trial plus its ranking metric (SearchTrial has no field for it; persist this object to resume). */
export interface RankedTrial extends SearchTrial {
  /** Lower is better: the `rankBy` held-out loss of the trial's kept weights (see SearchOptions.rankBy). */
  metric: number;
}

export interface SearchOptions {
  /** TuneOptions for every trial, without the blocks (and with steps/signal/onEvent set by the search; warmup from the schedule's fraction is of the trial's steps). */
  template: Omit<TuneOptions, 'tokenBlocks' | 'projectionBlocks' | 'steps' | 'signal' | 'onEvent'>;
  /** Token-loss candidate blocks (research: gate, up, down). */
  tokenCandidates: string[];
  /** Projection-loss candidate blocks (research: q, k, v, o). */
  projectionCandidates: string[];
  sets: SearchSets;
  /** Largest number of blocks in each loss's subset ('joint': in the one shared subset); default no limit. */
  maxBlocks?: number;
  strategy: SearchStrategy;
  /** Exhaustive: steps of every trial. Halving: unused (the last rung runs minSteps * eta^(rungs - 1)). */
  stepsPerTrial: number;
  /** Halving: the factor by which candidates shrink and steps grow per rung (default 3). */
  eta?: number;
  /** Halving: the steps of rung 0. */
  minSteps: number;
  /** Total step budget (default: unlimited). A trial or rung that would exceed it is not started. */
  budget?: number;
  /**
   * What ranks trials (and decides who survives a halving rung), lower is better: `total` (default) the held-out
   * total loss, `projection` / `token` the held-out loss of one kind, all of the weights the trial keeps (early
   * stopping's best when enabled), or `ab_accuracy` the held-out target rate from `evaluate` (higher is better; a
   * NaN rate ranks last). Without a held-out set, the final training losses stand in.
   */
  rankBy?: RankBy;
  /**
   * Held-out A/B metrics of the tuned model (default: NaN): the share of held-out items answered with the tune's
   * target letter (the truthful one for labels honest, the lie for labels dishonest) and with the other letter.
   */
  evaluate?: (model: Model) => Promise<{ targetRate: number; otherRate: number }>;
  /** A short greedy sample from the tuned model (default: ''). */
  sample?: (model: Model) => Promise<string>;
  signal?: AbortSignal;
  onTrial?: (t: RankedTrial) => void;
  /**
   * Trials already finished (events of an earlier run of the same search, same options); matched by rung and
   * block sets. A RankedTrial keeps its metric; a bare SearchTrial is ranked by its final training total loss.
   */
  resumeFrom?: Array<SearchTrial | RankedTrial>;
  /** Job id written into the events (default 'search'). */
  job?: string;
}

export interface SearchResult {
  status: 'done' | 'budget' | 'cancelled';
  message: string;
  /** One entry per candidate (its highest rung), sorted by rung (descending) then metric (ascending). */
  leaderboard: RankedTrial[];
  /** Every trial (resumed ones included), in schedule order. */
  trials: RankedTrial[];
  /** Steps trained by all trials (resumed ones included). */
  totalSteps: number;
  /** Steps of one full run: stepsPerTrial (exhaustive) or the last rung's steps (halving). */
  stepsPerFullRun: number;
  /** totalSteps / stepsPerFullRun: the cost in full runs. */
  fullRuns: number;
}

export interface Rung {
  rung: number;
  candidates: number;
  steps: number;
}

/**
 * The successive-halving schedule for `n` candidates: rung r runs n_r candidates for minSteps * eta^r steps,
 * n_0 = n, n_{r+1} = max(1, floor(n_r / eta)), ending with the first rung of one candidate; rungs that would
 * push the total over `budget` are dropped.
 */
export function halvingSchedule(n: number, eta: number, minSteps: number, budget = Infinity): { rungs: Rung[]; totalSteps: number } {
  if (!(eta >= 2)) throw new Error(`halving: eta must be at least 2 (got ${eta})`);
  if (!(minSteps >= 1)) throw new Error(`halving: minSteps must be at least 1 (got ${minSteps})`);
  const rungs: Rung[] = [];
  let total = 0;
  let count = n;
  let steps = minSteps;
  for (let r = 0; count >= 1; r++) {
    if (total + count * steps > budget) break;
    rungs.push({ rung: r, candidates: count, steps });
    total += count * steps;
    if (count === 1) break;
    count = Math.max(1, Math.floor(count / eta));
    steps *= eta;
  }
  return { rungs, totalSteps: total };
}

/** Resume key: rung and block sets (a trial's `steps` may be below the rung's when tune stopped early). */
const key = (c: BlockCandidate, rung: number): string => `${rung}|${[...c.tokenBlocks].sort().join(',')}|${[...c.projectionBlocks].sort().join(',')}`;

const isRanked = (t: SearchTrial | RankedTrial): t is RankedTrial => 'metric' in t && typeof t.metric === 'number';

export async function blockSearch(model: Model, train: TuneExample[], heldout: TuneExample[], o: SearchOptions): Promise<SearchResult> {
  const t = o.template;
  const projectionLoss = t.directions.size > 0 && t.projectionWeight > 0;
  const projectionCandidates = projectionLoss || o.sets === 'joint' ? o.projectionCandidates : [];
  const resolve = (blocks: readonly string[]): string => slicesKey(model.config, resolveBlocks(model.config, blocks, t.layers));
  const candidates = enumerateBlockSets(o.tokenCandidates, projectionCandidates, o.sets, o.maxBlocks, resolve);
  if (candidates.length === 0) {
    throw new Error(
      `block search: no candidates: token blocks [${o.tokenCandidates.join(', ')}] and projection blocks [${projectionCandidates.join(', ')}] ` +
        `train no parameters of this ${FAMILY_NAMES[model.config.arch]} model at layers [${t.layers.join(', ')}]; name blocks it has`,
    );
  }
  const eta = o.eta ?? 3;
  const budget = o.budget ?? Infinity;
  const plan: Rung[] =
    o.strategy === 'halving'
      ? halvingSchedule(candidates.length, eta, o.minSteps, budget).rungs
      : [{ rung: 0, candidates: candidates.length, steps: o.stepsPerTrial }];
  const stepsPerFullRun = o.strategy === 'halving' ? o.minSteps * eta ** (plan.length > 0 ? (plan[plan.length - 1] as Rung).rung : 0) : o.stepsPerTrial;
  const fallbackMetric = (tr: SearchTrial): number => t.tokenWeight * tr.finalTokenLoss + t.projectionWeight * tr.finalProjectionLoss;
  const done = new Map<string, RankedTrial>();
  for (const r of o.resumeFrom ?? []) {
    const ranked: RankedTrial = isRanked(r) ? r : { ...r, metric: fallbackMetric(r) };
    done.set(key(r, r.rung), ranked);
  }

  // Snapshot every parameter any candidate may train (once), restore after each trial.
  const allBlocks = [...new Set(candidates.flatMap((c) => [...c.tokenBlocks, ...c.projectionBlocks]))];
  const names = blockParams(model, allBlocks, t.layers);
  const vars = names.map((n) => {
    const v = model.params.get(n);
    if (!v) throw new Error(`block search: parameter ${n} is not loaded`);
    return v;
  });
  const trials: RankedTrial[] = [];
  let status: SearchResult['status'] = 'done';
  let message = '';
  let spent = 0;
  const snapshot = WeightSnapshot.of(vars);
  const restore = (): void => snapshot.restore();

  const runTrial = async (c: BlockCandidate, index: number, rung: number, steps: number): Promise<RankedTrial | 'cancelled'> => {
    const t0 = performance.now();
    try {
      const out = await tune(model, train, heldout, { ...t, tokenBlocks: c.tokenBlocks, projectionBlocks: c.projectionBlocks, steps, signal: o.signal });
      if (out.status === 'cancelled') return 'cancelled';
      const first = out.history[0];
      const last = out.history[out.history.length - 1];
      // The model holds the weights the trial keeps: the metric, the A/B rates and the sample all see these.
      const metrics = o.evaluate ? await o.evaluate(model) : { targetRate: NaN, otherRate: NaN };
      const sample = o.sample ? await o.sample(model) : '';
      const trial: SearchTrial = {
        type: 'trial',
        job: o.job ?? 'search',
        run: t.run,
        trial: index + 1,
        tokenBlocks: c.tokenBlocks,
        projectionBlocks: c.projectionBlocks,
        steps: out.steps,
        initialTokenLoss: first?.tokenLoss ?? NaN,
        finalTokenLoss: last?.tokenLoss ?? NaN,
        initialProjectionLoss: first?.projectionLoss ?? NaN,
        finalProjectionLoss: last?.projectionLoss ?? NaN,
        targetRate: metrics.targetRate,
        otherRate: metrics.otherRate,
        sample,
        seconds: (performance.now() - t0) / 1000,
        rung,
      };
      const rankBy = o.rankBy ?? 'total';
      const kept = out.kept.heldout;
      const metric =
        out.status === 'diverged'
          ? Infinity
          : rankBy === 'ab_accuracy'
            ? -metrics.targetRate
            : rankBy === 'projection'
              ? (kept?.projectionLoss ?? trial.finalProjectionLoss)
              : rankBy === 'token'
                ? (kept?.tokenLoss ?? trial.finalTokenLoss)
                : kept !== undefined
                  ? kept.totalLoss
                  : fallbackMetric(trial);
      return { ...trial, metric: Number.isNaN(metric) ? Infinity : metric };
    } finally {
      restore();
    }
  };

  try {
    let pool = candidates.map((c, i) => ({ c, i }));
    for (const [ri, r] of plan.entries()) {
      if (ri > 0) {
        const prev = trials.filter((x) => x.rung === ri - 1).sort((a, b) => a.metric - b.metric || a.trial - b.trial);
        pool = prev.slice(0, r.candidates).map((x) => ({ c: candidates[x.trial - 1] as BlockCandidate, i: x.trial - 1 }));
      }
      for (const { c, i } of pool) {
        const previous = done.get(key(c, r.rung));
        if (previous) {
          trials.push(previous);
          spent += previous.steps;
          continue;
        }
        if (o.signal?.aborted) {
          status = 'cancelled';
          break;
        }
        if (spent + r.steps > budget) {
          status = 'budget';
          break;
        }
        const res = await runTrial(c, i, r.rung, r.steps);
        if (res === 'cancelled') {
          status = 'cancelled';
          break;
        }
        trials.push(res);
        spent += res.steps;
        o.onTrial?.(res);
      }
      if (status !== 'done') break;
    }
    const lastRung = plan[plan.length - 1];
    if (o.strategy === 'halving' && status === 'done' && (lastRung === undefined || lastRung.candidates > 1)) status = 'budget';
  } finally {
    restore();
    snapshot.dispose();
  }

  const best = new Map<number, RankedTrial>();
  for (const x of trials) {
    const b = best.get(x.trial);
    if (!b || x.rung > b.rung) best.set(x.trial, x);
  }
  const leaderboard = [...best.values()].sort((a, b) => b.rung - a.rung || a.metric - b.metric || a.trial - b.trial);
  message =
    status === 'cancelled'
      ? `cancelled after ${trials.length} trials; weights restored`
      : status === 'budget'
        ? `step budget ${budget} reached after ${trials.length} trials`
        : `${trials.length} trials over ${plan.length} rung(s)`;
  return { status, message, leaderboard, trials, totalSteps: spent, stepsPerFullRun, fullRuns: stepsPerFullRun > 0 ? spent / stepsPerFullRun : 0 };
}
