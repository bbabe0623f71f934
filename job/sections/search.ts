/**
 * `search` sections: a block search (engine/method/search.ts) over the tune it names — which blocks the token and
 * projection losses train — with held-out A/B rates and a greedy sample after every trial, resumable from an
 * unfinished earlier run with the same configuration.
 */
import * as tf from '@tensorflow/tfjs';
import { generate } from '../../engine/generate';
import { blockSearch } from '../../engine/method/search';
import { forward, type Model } from '../../engine/model/forward';
import type { Session } from '../../engine/session';
import { throwIfCancelled } from '../../engine/util/cancel';
import { yieldToEventLoop } from '../../engine/util/yield';
import { expandBlocks } from '../../model/blocks';
import type { PromptSetConfig, SearchConfig, TuneConfig } from '../../protocol/contract';
import type { RunSummary } from '../../protocol/lsp';
import { layersOf, type SectionContext } from '../context';
import { labelIds } from '../prompting';
import { resumableTrials } from '../resume';
import { prepareTune } from './tune';

/** Greedy continuation of `ids` (at most `tokens` new tokens), decoded. */
export async function greedy(ctx: SectionContext, m: Model, s: Session, ids: number[], tokens: number): Promise<string> {
  const r = await generate(m, [ids], { maxNewTokens: tokens, temperature: 0, ...ctx.cancel });
  return s.tokenizer.decode(r.tokens[0] ?? []);
}

/**
 * Greedy continuations of many prompts, `batch` at a time (left-padded rows of one generate call: positions and
 * attention ignore the padding, so each row is the text it would be alone, up to float rounding); `onBatch` gets
 * the number of prompts done after each batch.
 */
export async function greedyBatches(
  ctx: SectionContext,
  m: Model,
  s: Session,
  prompts: readonly number[][],
  tokens: number,
  batch: number,
  onBatch?: (done: number) => void,
): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < prompts.length; i += batch) {
    const r = await generate(m, prompts.slice(i, i + batch), { maxNewTokens: tokens, temperature: 0, ...ctx.cancel });
    for (const t of r.tokens) out.push(s.tokenizer.decode(t));
    onBatch?.(out.length);
  }
  return out;
}

export async function runSearch(ctx: SectionContext, x: SearchConfig): Promise<RunSummary> {
  const folder = ctx.openFolder(x.output, x.name, 'search', x);
  return ctx.guarded(folder, 'search', async () => {
    const t0 = ctx.config.tunes[x.tune] as TuneConfig;
    const { s, train, held, options } = await prepareTune(ctx, t0, folder.id);
    const { tokenBlocks: _tb, projectionBlocks: _pb, steps: _st, signal: _sg, ...template } = options;
    const layers = x.layers !== undefined ? layersOf(x.layers, s.model.config.nLayers) : template.layers;
    const samplePrompt = x.samplePrompt !== undefined ? s.tokenizer.encode(x.samplePrompt) : (held[0] ?? train[0])?.ids;
    const p = ctx.config.prompts[t0.prompts] as PromptSetConfig;
    // Resume: the newest earlier run of this search that did not finish (cancelled, failed, or a crash that left
    // it "running") with the same configuration lends its finished trials; they are re-announced in this run's
    // events so its folder and the leaderboard are complete on their own.
    const resumed = resumableTrials(x.output, folder.id, x);
    if (resumed.trials.length > 0) {
      ctx.emit(
        { type: 'log', level: 'info', message: `search ${x.name}: resuming ${resumed.from}: ${resumed.trials.length} finished trial(s) are not run again` },
        folder,
      );
      for (const t of resumed.trials) ctx.emit({ ...t, run: folder.id }, folder);
    }
    const res = await blockSearch(s.model, train, held, {
      template: { ...template, layers, directions: template.directions },
      tokenCandidates: expandBlocks(x.tokenBlocks, s.model.config.arch),
      projectionCandidates: expandBlocks(x.projectionBlocks, s.model.config.arch),
      sets: x.sets,
      ...(x.maxBlocks !== undefined ? { maxBlocks: x.maxBlocks } : {}),
      strategy: x.strategy,
      stepsPerTrial: x.stepsPerTrial ?? options.steps,
      eta: x.eta,
      minSteps: x.minSteps,
      rankBy: x.rankBy,
      ...(x.budget !== undefined ? { budget: x.budget } : {}),
      ...ctx.cancel,
      // Held-out A/B rates of each trial: the share of held-out prompts answered with the tune's target letter
      // (the truthful one for labels honest, the lie for labels dishonest), from the answer logits.
      evaluate: async (m) => {
        if (t0.tokenLoss.target === 'lm') return { targetRate: NaN, otherRate: NaN }; // no answer letter to score
        const { idTrue, idFalse } = labelIds(s, p);
        let onTarget = 0;
        for (const e of held) {
          await yieldToEventLoop();
          throwIfCancelled(ctx.cancel.signal);
          const t = tf.tidy(() => forward(m, [e.ids], { logits: 'last' }).logits as tf.Tensor3D);
          const row = await t.data();
          t.dispose();
          const says = (row[idTrue] as number) > (row[idFalse] as number) ? idTrue : idFalse;
          if (says === e.answer) onTarget++;
        }
        const rate = held.length > 0 ? onTarget / held.length : NaN;
        return { targetRate: rate, otherRate: held.length > 0 ? 1 - rate : NaN };
      },
      // A short greedy continuation of a fixed prompt after every trial (sample_prompt, else the first held-out
      // prompt, else the first training prompt), generated with the trial's tuned weights: deterministic, so
      // trials differ only by their weights.
      ...(samplePrompt ? { sample: async (m) => greedy(ctx, m, s, samplePrompt, x.sampleTokens) } : {}),
      ...(resumed.trials.length > 0 ? { resumeFrom: resumed.trials } : {}),
      onTrial: (trial) => ctx.emit(trial, folder),
    });
    const best = res.leaderboard[0];
    const headline = best
      ? `${res.trials.length} trials (${res.fullRuns.toFixed(1)} full runs): best token [${best.tokenBlocks.join(' ')}] / projection [${best.projectionBlocks.join(' ')}]`
      : res.message;
    const status = res.status === 'cancelled' ? 'cancelled' : 'done';
    return folder.finish(status, headline, {
      metrics: { trials: res.trials.length, fullRuns: res.fullRuns },
      result: { leaderboard: res.leaderboard, totalSteps: res.totalSteps, stepsPerFullRun: res.stepsPerFullRun },
    });
  });
}
