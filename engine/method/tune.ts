/**
 * Representation tuning: the dual-loss training loop (METHOD.md §7, with §11's bugs fixed).
 * Token loss on the answer token (hard or soft 50/50 target) + projection loss (in/out, optional flip) at the
 * anchored positions of the tuned layers; each loss trains its own blocks (real gradient routing, losses.ts);
 * AdamW with fp32 state, warmup + cosine, global-norm clipping, held-out early stopping, a NaN/Inf guard that
 * keeps the last good weights, seeded batches, cancellation within one step. Streams TuneStep / TuneEval events.
 *
 * Non-goals: building prompts (prompts.ts), choosing blocks (block search), writing run folders (the job layer).
 */
import * as tf from '@tensorflow/tfjs';
import type { TuneEval, TuneStep } from '../../protocol/job';
import { padRight } from '../model/batch';
import { forward, type Model } from '../model/forward';
import { nextTokenLoss } from '../model/loss';
import { captureTap } from '../model/taps';
import { AdamW, clipByGlobalNorm } from '../train/adamw';
import { learningRate } from '../train/schedule';
import { Rng } from '../util/random';
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
  /**
   * Generic block names (q k v o gate up down attn_norm mlp_norm) or the architecture's own names, trained by
   * each loss (model/blocks.ts resolves them; a block the architecture lacks is an error).
   */
  tokenBlocks: string[];
  projectionBlocks: string[];
  /** Learning rate of the projection-loss and shared blocks. */
  lr: number;
  /** Learning rate of the token-loss-only blocks (default: lr). */
  lrToken?: number;
  weightDecay: number;
  betas: [number, number];
  clip: number;
  warmupSteps: number;
  steps: number;
  batch: number;
  seed: number;
  evalEvery: number;
  patience: number;
  minSteps: number;
  signal?: AbortSignal;
  onEvent?: (e: TuneStep | TuneEval) => void;
}

export interface TuneOutcome {
  status: 'done' | 'early-stopped' | 'cancelled' | 'diverged';
  message: string;
  steps: number;
  bestStep: number;
  bestHeldout: number | undefined;
  history: TuneStep[];
  /** HF names of the parameters the run trained (wholly or in part: GPT-2's q, k, v are columns of attn.c_attn). */
  trained: string[];
}

function batchTensors(model: Model, exs: TuneExample[]) {
  return { ...padRight(exs.map((e) => e.ids)), last: exs.map((e) => e.ids.length - 1), V: model.config.vocabSize };
}

export async function tune(model: Model, train: TuneExample[], heldout: TuneExample[], o: TuneOptions): Promise<TuneOutcome> {
  // Each loss's blocks as parameter slices: GPT-2's q, k and v train only their columns of attn.c_attn.
  const plan = trainableOf(model, o.tokenBlocks, o.projectionBlocks, o.layers, (o.lrToken ?? o.lr) / o.lr, o.weightDecay);
  if (plan.names.length === 0) {
    plan.dispose();
    throw new Error(`no parameters match blocks [${[...o.tokenBlocks, ...o.projectionBlocks].join(', ')}] at layers [${o.layers.join(', ')}]`);
  }
  const groups = plan.groups;
  const trainable = plan.vars;
  const opt = new AdamW(plan.optimiser, { beta1: o.betas[0], beta2: o.betas[1] });
  const dirT = new Map([...o.directions].map(([l, d]) => [l, Array.isArray(d) ? tf.tensor2d(d.map((x) => Array.from(x))) : tf.tensor1d(d)]));
  const deepest = Math.max(...o.layers);
  const snapshot = (): tf.Tensor[] => trainable.map((p) => tf.clone(p));
  let best = snapshot();
  let lastGood = snapshot();
  const rng = new Rng(o.seed);
  const history: TuneStep[] = [];
  let bestHeldout: number | undefined;
  let bestStep = 0;
  let sinceBest = 0;
  let status: TuneOutcome['status'] = 'done';
  let message = `trained ${o.steps} steps`;

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
      forward(model, b.ids, { attentionMask: b.mask, taps: o.layers.map((l) => captureTap(l, 'output', exs.map((e) => e.positions), into, String(l))), lastLayer: deepest, logits: 'none' });
      const r = projectionLoss(new Map(o.layers.map((l) => [l, into[String(l)] as tf.Tensor])), dirT, o.mode, o.flip, o.margin);
      for (const [l, c] of r.cosine) cos[l] = tf.keep(c);
      return r.loss;
    };
    return { fTok, fProj, cos };
  };

  const evaluate = async (): Promise<{ tok: number; proj: number }> => {
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
    return { tok: tok / heldout.length, proj: proj / heldout.length };
  };

  try {
    let step = 0;
    for (; step < o.steps; step++) {
      await yieldToEventLoop();
      if (o.signal?.aborted) {
        status = 'cancelled';
        message = `cancelled at step ${step}`;
        break;
      }
      const t0 = performance.now();
      const exs = Array.from({ length: Math.min(o.batch, train.length) }, () => train[rng.int(train.length)] as TuneExample);
      const { fTok, fProj, cos } = losses(exs);
      const r = routedGrads(groups, fTok, fProj, o.tokenWeight, o.projectionWeight);
      const tokL = (await r.tokenLoss.data())[0] as number;
      const projL = (await r.projectionLoss.data())[0] as number;
      const gradNorm = await clipByGlobalNorm(r.grads, o.clip);
      const cosines = await Promise.all(o.layers.map(async (l) => (cos[l] ? ((await cos[l].data())[0] as number) : NaN)));
      tf.dispose([r.tokenLoss, r.projectionLoss, ...Object.values(cos)]);
      if (!Number.isFinite(tokL) || !Number.isFinite(projL) || !Number.isFinite(gradNorm)) {
        tf.dispose(Object.values(r.grads));
        trainable.forEach((p, i) => p.assign(lastGood[i] as tf.Tensor));
        status = 'diverged';
        message = `step ${step}: ${!Number.isFinite(tokL) ? `token loss is ${tokL}` : !Number.isFinite(projL) ? `projection loss is ${projL}` : `gradient norm is ${gradNorm}`}; stopped and kept the weights of the last good step. Lower the learning rate or the loss weights.`;
        break;
      }
      tf.dispose(lastGood);
      lastGood = snapshot();
      const lr = learningRate({ baseLr: o.lr, warmupSteps: o.warmupSteps, totalSteps: o.steps }, step);
      opt.apply(r.grads, lr);
      tf.dispose(Object.values(r.grads));
      const ev: TuneStep = {
        type: 'step', job: 'tune', run: o.run, step, epoch: (step * o.batch) / train.length, tokenLoss: tokL, projectionLoss: projL,
        totalLoss: o.tokenWeight * tokL + o.projectionWeight * projL, lr, gradNorm, cosine: cosines, layers: o.layers,
        tokensPerSecond: (exs.reduce((a, e) => a + e.ids.length, 0) / (performance.now() - t0)) * 1000,
      };
      history.push(ev);
      o.onEvent?.(ev);
      if (heldout.length > 0 && ((step + 1) % o.evalEvery === 0 || step === o.steps - 1)) {
        const h = await evaluate();
        const total = o.tokenWeight * h.tok + o.projectionWeight * h.proj;
        o.onEvent?.({ type: 'eval', job: 'tune', run: o.run, step, split: 'heldout', tokenLoss: h.tok, projectionLoss: h.proj, totalLoss: total });
        if (bestHeldout === undefined || total < bestHeldout) {
          bestHeldout = total;
          bestStep = step;
          sinceBest = 0;
          tf.dispose(best);
          best = snapshot();
        } else if (++sinceBest >= o.patience && step + 1 >= o.minSteps) {
          status = 'early-stopped';
          message = `held-out loss stopped improving after step ${bestStep}; restored its weights`;
          step++;
          break;
        }
      }
    }
    if (status === 'early-stopped') trainable.forEach((p, i) => p.assign(best[i] as tf.Tensor));
    return { status, message, steps: step, bestStep, bestHeldout, history, trained: plan.names };
  } finally {
    tf.dispose([...best, ...lastGood, ...dirT.values()]);
    opt.dispose();
    plan.dispose();
  }
}
