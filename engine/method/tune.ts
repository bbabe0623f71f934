/**
 * Representation tuning: the dual-loss training loop (METHOD.md §7, with §11's bugs fixed).
 * Token loss on the answer token (hard or soft 50/50 target, optionally gated by `skip_below`) + projection loss
 * (in/out, optional flip) at the anchored positions of the tuned layers; each loss trains its own blocks (real
 * gradient routing, losses.ts). The optimiser (adamw, adam or sgd) keeps fp32 state; warmup then cosine, linear
 * or no decay to `min_lr_ratio` of each group's peak; global-norm clipping; epochs are seeded shuffled passes
 * over the training examples. Every `every` steps the whole held-out split is evaluated; early stopping watches
 * the mean of the last `window` evaluations of one held-out loss and, when enabled, the run ends on the weights
 * of its best evaluation (early stop or not). A NaN/Inf guard after every update keeps the last good weights;
 * cancellation within one step. Streams TuneStep / TuneEval events.
 *
 * Non-goals: building prompts (prompts.ts), choosing blocks (block search), writing run folders (the job layer).
 */
import * as tf from '@tensorflow/tfjs';
import type { EarlyStoppingConfig, OptimizerConfig, ScheduleConfig } from '../../protocol/contract';
import type { TuneEval, TuneStep } from '../../protocol/job';
import { padRight } from '../model/batch';
import { forward, type Model } from '../model/forward';
import { nextTokenLoss } from '../model/loss';
import { captureTap } from '../model/taps';
import { WeightSnapshot } from '../model/weights';
import { clipByGlobalNorm } from '../train/adamw';
import { EpochBatches } from '../train/batches';
import { EarlyStopping } from '../train/early-stopping';
import { allFinite, createOptimizer, type ParamGroup } from '../train/optimizer';
import { scheduleFactor } from '../train/schedule';
import { projectionLoss, routedGrads, tokenLoss, type ProjectionMode } from './losses';
import { trainable as trainableOf } from './trainable';
import { yieldToEventLoop } from '../util/yield';

export interface TuneExample {
  /** Prompt ids; the last token's logits predict the answer. */
  ids: number[];
  /** Hard target id of the answer token. */
  answer: number;
  /** Absolute positions where the projection loss applies. */
  positions: number[];
}

export interface TuneOptions {
  run: string;
  layers: number[];
  /**
   * Per tuned layer: one unit direction ([C]) used at every position, or one per position ([P][C], in the order of
   * each example's `positions`).
   */
  directions: Map<number, Float32Array | Float32Array[]>;
  mode: ProjectionMode;
  flip: boolean;
  /** Mode "in" only: hinge relu(margin - cos) instead of (1 - cos)/2. */
  margin?: number;
  /**
   * 'hard': cross-entropy on each example's `answer`; soft: ½/½ over two answer ids; 'lm': next-token
   * cross-entropy over every token of each prompt (a language-modelling loss; `answer` is unused).
   */
  tokenTarget: 'hard' | 'lm' | { soft: [number, number] };
  tokenWeight: number;
  projectionWeight: number;
  /** token_loss.skip_below: back-propagate the token loss only on steps where it is at least this (undefined: always). */
  tokenSkipBelow?: number | undefined;
  /**
   * Generic block names (q k v o gate up down attn_norm mlp_norm) or the architecture's own names, trained by
   * each loss (model/blocks.ts resolves them; a block the architecture lacks is an error).
   */
  tokenBlocks: string[];
  projectionBlocks: string[];
  /** The tune section's settings as the contract has them: `lrToken` for the token-loss-only blocks, `lrProjection` for the rest. */
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  earlyStopping: EarlyStoppingConfig;
  steps: number;
  batch: number;
  seed: number;
  signal?: AbortSignal;
  onEvent?: (e: TuneStep | TuneEval) => void;
}

/** Held-out losses of one evaluation. */
export interface HeldoutLosses {
  tokenLoss: number;
  projectionLoss: number;
  totalLoss: number;
}

export interface TuneOutcome {
  status: 'done' | 'early-stopped' | 'cancelled' | 'diverged';
  message: string;
  /** Optimiser updates run and kept (the NaN guard undoes the update that broke the weights). */
  steps: number;
  /** The held-out loss early stopping watches (`auto` resolved). */
  metric: 'projection' | 'token' | 'total';
  /** The evaluation with the best smoothed metric, and that value; undefined without held-out evaluations. */
  bestStep: number | undefined;
  bestMetric: number | undefined;
  /**
   * The weights the model holds at the end: those after step `step` (0-based; -1 = the weights the run started
   * from), with their held-out losses when that step was evaluated.
   */
  kept: { step: number; heldout: HeldoutLosses | undefined };
  /** Steps whose token loss was below `tokenSkipBelow` and so was not back-propagated. */
  tokenSkipped: number;
  history: TuneStep[];
  /** HF names of the parameters the run trained (wholly or in part: GPT-2's q, k, v are columns of attn.c_attn). */
  trained: string[];
}

function batchTensors(model: Model, exs: TuneExample[]) {
  return { ...padRight(exs.map((e) => e.ids)), last: exs.map((e) => e.ids.length - 1), V: model.config.vocabSize };
}

export async function tune(model: Model, train: TuneExample[], heldout: TuneExample[], o: TuneOptions): Promise<TuneOutcome> {
  const metricKind = o.earlyStopping.metric === 'auto' ? (o.directions.size > 0 ? 'projection' : 'token') : o.earlyStopping.metric;
  if (metricKind === 'projection' && o.directions.size === 0)
    throw new Error('early_stopping.metric projection needs a direction, and this run has none (token loss only): use metric token, total or auto');
  if (!(o.earlyStopping.every >= 1)) throw new Error(`early_stopping.every must be at least 1 (got ${o.earlyStopping.every})`);
  const oc = o.optimizer;
  // Each loss's blocks as parameter slices: GPT-2's q, k and v train only their columns of attn.c_attn. Columns
  // trained by the token loss alone inside a projection tensor run at lr_token / lr_projection of that group's rate.
  const plan = trainableOf(model, o.tokenBlocks, o.projectionBlocks, o.layers, oc.lrProjection > 0 ? oc.lrToken / oc.lrProjection : 0, oc.weightDecay);
  if (plan.names.length === 0) {
    plan.dispose();
    throw new Error(`no parameters match blocks [${[...o.tokenBlocks, ...o.projectionBlocks].join(', ')}] at layers [${o.layers.join(', ')}]`);
  }
  const stopping = new EarlyStopping(o.earlyStopping);
  const batches = new EpochBatches(train, o.batch, o.seed);
  const groups = plan.groups;
  const trainable = plan.vars;
  // Each group's learning rate is the schedule's factor times its peak (so is the floor, min_lr_ratio × peak).
  const [tokenGroup, projectionGroup] = plan.optimiser as [ParamGroup, ParamGroup];
  const opt = createOptimizer(oc, [
    { ...tokenGroup, lrScale: oc.lrToken },
    { ...projectionGroup, lrScale: oc.lrProjection },
  ]);
  // The lr the step events report: the projection group's, or the token group's in a token-only run.
  const reportedPeak = groups.projection.length + groups.shared.length > 0 ? oc.lrProjection : oc.lrToken;
  const dirT = new Map([...o.directions].map(([l, d]) => [l, Array.isArray(d) ? tf.tensor2d(d.map((x) => Array.from(x))) : tf.tensor1d(d)]));
  const deepest = Math.max(...o.layers);
  // Early stopping ends the run on its best weights; without held-out data there is nothing to choose by.
  const keepBest = o.earlyStopping.enabled && heldout.length > 0;
  let best: WeightSnapshot | undefined;
  // The weights before the update of step `lastGoodStep`: the last ones whose training loss was finite.
  let lastGood = WeightSnapshot.of(trainable);
  let lastGoodStep = 0;
  const evals = new Map<number, HeldoutLosses>();
  const history: TuneStep[] = [];
  let tokenSkipped = 0;
  let status: TuneOutcome['status'] = 'done';
  let message = '';

  const losses = (exs: TuneExample[]) => {
    const b = batchTensors(model, exs);
    const fTok = (): tf.Scalar => {
      if (o.tokenTarget === 'lm') {
        const all = forward(model, b.ids, { attentionMask: b.mask, logits: 'all' }).logits as tf.Tensor3D;
        return nextTokenLoss(all, b.ids, b.mask);
      }
      const logits = forward(model, b.ids, { attentionMask: b.mask, logits: b.last }).logits as tf.Tensor3D;
      const rows = tf.reshape(logits, [exs.length, b.V]) as tf.Tensor2D;
      return tokenLoss(rows, o.tokenTarget === 'hard' ? { hard: exs.map((e) => e.answer) } : o.tokenTarget);
    };
    const cos: Record<number, tf.Scalar> = {};
    const fProj = (): tf.Scalar => {
      // Token-only tuning (no direction): there is no projection loss; report 0.
      if (dirT.size === 0) return tf.scalar(0);
      const into: Record<string, tf.Tensor> = {};
      forward(model, b.ids, {
        attentionMask: b.mask,
        taps: o.layers.map((l) =>
          captureTap(
            l,
            'output',
            exs.map((e) => e.positions),
            into,
            String(l),
          ),
        ),
        lastLayer: deepest,
        logits: 'none',
      });
      const r = projectionLoss(new Map(o.layers.map((l) => [l, into[String(l)] as tf.Tensor])), dirT, o.mode, o.flip, o.margin);
      for (const [l, c] of r.cosine) cos[l] = tf.keep(c);
      return r.loss;
    };
    return { fTok, fProj, cos };
  };

  const evaluate = async (): Promise<HeldoutLosses> => {
    let tok = 0;
    let proj = 0;
    for (let i = 0; i < heldout.length; i += o.batch) {
      const exs = heldout.slice(i, i + o.batch);
      const { fTok, fProj, cos } = losses(exs);
      const [t, p] = tf.tidy(() => [fTok(), fProj()]) as [tf.Scalar, tf.Scalar];
      tok += ((await t.data())[0] as number) * exs.length;
      proj += ((await p.data())[0] as number) * exs.length;
      tf.dispose([t, p, ...Object.values(cos)]);
    }
    const h = { tokenLoss: tok / heldout.length, projectionLoss: proj / heldout.length };
    return { ...h, totalLoss: o.tokenWeight * h.tokenLoss + o.projectionWeight * h.projectionLoss };
  };
  // The NaN guard: back to the last weights whose training losses were finite.
  const diverge = (why: string): 'diverged' => {
    lastGood.restore();
    message = why;
    return 'diverged';
  };
  const finite = (...xs: number[]): boolean => xs.every((x) => Number.isFinite(x));

  try {
    let step = 0;
    let lastBatch: TuneExample[] | undefined;
    for (; step < o.steps; step++) {
      await yieldToEventLoop();
      if (o.signal?.aborted) {
        status = 'cancelled';
        message = `cancelled at step ${step}`;
        break;
      }
      const t0 = performance.now();
      const epoch = batches.epoch;
      const exs = batches.next();
      const { fTok, fProj, cos } = losses(exs);
      const r = await routedGrads(groups, fTok, fProj, o.tokenWeight, o.projectionWeight, { skipTokenBelow: o.tokenSkipBelow });
      const tokL = (await r.tokenLoss.data())[0] as number;
      const projL = (await r.projectionLoss.data())[0] as number;
      const gradNorm = await clipByGlobalNorm(r.grads, oc.clipNorm);
      const cosines = await Promise.all(o.layers.map(async (l) => (cos[l] ? ((await cos[l].data())[0] as number) : NaN)));
      tf.dispose([r.tokenLoss, r.projectionLoss, ...Object.values(cos)]);
      if (!finite(tokL, projL, gradNorm)) {
        // These weights came from the previous update: undo it.
        tf.dispose(Object.values(r.grads));
        status = diverge(
          `step ${step}: ${!Number.isFinite(tokL) ? `token loss is ${tokL}` : !Number.isFinite(projL) ? `projection loss is ${projL}` : `gradient norm is ${gradNorm}`}`,
        );
        break;
      }
      lastGood.dispose();
      lastGood = WeightSnapshot.of(trainable);
      lastGoodStep = step;
      const factor = scheduleFactor(o.schedule, o.steps, step);
      opt.apply(r.grads, factor);
      tf.dispose(Object.values(r.grads));
      // After every update: an update can overflow the weights although its loss was finite. (The next step's
      // loss, or after the last step the check below the loop, catches finite weights that break the forward.)
      if (!(await allFinite(trainable))) {
        status = diverge(`step ${step}: the update made weights non-finite`);
        break;
      }
      if (r.tokenSkipped) tokenSkipped++;
      const ev: TuneStep = {
        type: 'step',
        job: 'tune',
        run: o.run,
        step,
        epoch,
        tokenLoss: tokL,
        projectionLoss: projL,
        totalLoss: o.tokenWeight * tokL + o.projectionWeight * projL,
        lr: factor * reportedPeak,
        gradNorm,
        cosine: cosines,
        layers: o.layers,
        tokensPerSecond: (exs.reduce((a, e) => a + e.ids.length, 0) / (performance.now() - t0)) * 1000,
      };
      history.push(ev);
      o.onEvent?.(ev);
      lastBatch = exs;
      if (heldout.length > 0 && ((step + 1) % o.earlyStopping.every === 0 || step === o.steps - 1)) {
        const h = await evaluate();
        o.onEvent?.({ type: 'eval', job: 'tune', run: o.run, step, split: 'heldout', ...h });
        if (!finite(h.tokenLoss, h.projectionLoss, h.totalLoss)) {
          status = diverge(
            `step ${step}: the held-out ${Number.isFinite(h.tokenLoss) ? 'projection' : 'token'} loss is ${Number.isFinite(h.tokenLoss) ? h.projectionLoss : h.tokenLoss} after the update`,
          );
          break;
        }
        evals.set(step, h);
        const seen = stopping.observe(step, metricKind === 'projection' ? h.projectionLoss : metricKind === 'token' ? h.tokenLoss : h.totalLoss, step + 1);
        if (seen.improved && keepBest) {
          best?.dispose();
          best = WeightSnapshot.of(trainable);
        }
        if (seen.stop) {
          status = 'early-stopped';
          step++;
          break;
        }
      }
    }
    // The last update has no next step to check its loss: without a held-out evaluation of it, check it on its batch.
    if (status === 'done' && heldout.length === 0 && lastBatch) {
      const { fTok, fProj, cos } = losses(lastBatch);
      const [t, p] = tf.tidy(() => [fTok(), fProj()]) as [tf.Scalar, tf.Scalar];
      const [tokL, projL] = [(await t.data())[0] as number, (await p.data())[0] as number];
      tf.dispose([t, p, ...Object.values(cos)]);
      if (!finite(tokL, projL))
        status = diverge(`step ${step - 1}: after the last update the ${Number.isFinite(tokL) ? `projection loss is ${projL}` : `token loss is ${tokL}`}`);
    }
    // Steps run and kept; the model holds the weights after the last of them (the NaN guard went back further).
    if (status === 'diverged') step = lastGoodStep;
    let keptStep = step - 1;
    // Early stopping's best weights, unless cancelled, or unless the NaN guard found them broken (newer than the
    // last good weights: a training loss on them was not finite).
    const bestStep = stopping.bestStep ?? Infinity;
    const restored = best !== undefined && status !== 'cancelled' && (status !== 'diverged' || bestStep < lastGoodStep);
    if (restored && best) {
      best.restore();
      keptStep = stopping.bestStep as number;
    }
    message = outcomeMessage(status, message, { steps: step, keptStep, restored, metric: metricKind, o: o.earlyStopping, best: stopping.best });
    return {
      status,
      message,
      steps: step,
      metric: metricKind,
      bestStep: stopping.bestStep,
      bestMetric: stopping.best,
      kept: { step: keptStep, heldout: evals.get(keptStep) },
      tokenSkipped,
      history,
      trained: plan.names,
    };
  } finally {
    best?.dispose();
    lastGood.dispose();
    tf.dispose([...dirT.values()]);
    opt.dispose();
    plan.dispose();
  }
}

/** The outcome's one-line account: how the run ended and whose weights the model keeps. */
function outcomeMessage(
  status: TuneOutcome['status'],
  why: string,
  r: { steps: number; keptStep: number; restored: boolean; metric: string; o: EarlyStoppingConfig; best: number | undefined },
): string {
  const smoothed = `held-out ${r.metric} loss${r.o.window > 1 ? ` (mean of the last ${r.o.window} evaluations)` : ''}`;
  const kept = r.keptStep < 0 ? 'kept the weights the run started from' : `kept the weights after step ${r.keptStep}`;
  const best = r.restored && r.best !== undefined ? `, the best ${smoothed} (${r.best.toPrecision(4)})` : '';
  switch (status) {
    case 'cancelled':
      return why;
    case 'diverged':
      return `${why}; stopped and ${kept}${r.restored ? best : ' (the last good step)'}. Lower the learning rate or the loss weights.`;
    case 'early-stopped':
      return `no new best of the ${smoothed} in ${r.o.patience} evaluations: stopped after ${r.steps} steps and ${kept}${best}`;
    case 'done':
      if (!r.restored) return `trained ${r.steps} steps`;
      if (r.keptStep === r.steps - 1)
        return `trained ${r.steps} steps; the final weights are the best by the ${smoothed}${r.best !== undefined ? ` (${r.best.toPrecision(4)})` : ''}`;
      return `trained ${r.steps} steps and ${kept}${best}`;
  }
}
