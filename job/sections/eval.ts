/**
 * `eval` sections: perplexity on held-out text (base vs tuned, paired bootstrap of the change over documents or windows, eval-perplexity.ts), A/B answers (base
 * vs tuned) with Wilson intervals, steering (eval-steering.ts), the projection cosine (eval-projection.ts) and
 * greedy generations. A tuned run's weights are swapped into the shared model for its half of each comparison and
 * the base ones put back.
 */
import type { PerplexityOutcome } from '../../engine/eval/perplexity';
import { CancelledError } from '../../engine/util/cancel';
import { abEvaluate } from '../../engine/method/evaluate';
import { withWeights } from '../../engine/model/weights';
import type { AbMetrics } from '../../engine/stats';
import type { EvalConfig, PromptSetConfig } from '../../protocol/contract';
import type { RunSummary } from '../../protocol/lsp';
import type { SectionContext } from '../context';
import { readRows, renderTarget } from '../prompting';
import { abTable, generationsText, projectionTable, steeringGenerationsText, steeringLabel } from '../tables';
import { projectionEval } from './eval-projection';
import { changeText, fewUnitsNote, perplexityChange, preparePerplexity, type PerplexityText } from './eval-perplexity';
import { readLexicon, scoreGenerations, scoreHeadline, scoreMetrics, scoreTable } from './eval-score';
import { abSet, steeringEval, type AbSet } from './eval-steering';
import { greedyBatches } from './search';

export async function runEval(ctx: SectionContext, e: EvalConfig): Promise<RunSummary> {
  const folder = ctx.openFolder(e.output, e.name, 'eval', e);
  ctx.evalRuns.set(e.name, folder.dir);
  return ctx.guarded(folder, 'eval', async () => {
    const s = await ctx.session(e.model);
    const tuned = e.tuned !== undefined ? ctx.tuned.get(e.tuned) : undefined;
    if (e.tuned !== undefined && !tuned) throw new Error(`eval ${e.name}: run tune ${e.tuned} first (select both sections)`);
    const withTuned = <T>(fn: () => Promise<T>): Promise<T> => withWeights(s.model, tuned?.weights, fn);
    // Read before any compute, so a malformed lexicon fails the eval at once.
    const lexicon = e.generate?.score ? readLexicon(e.generate.score.lexicon) : undefined;
    const parts: string[] = [];
    const metrics: Record<string, number> = {};
    const result: Record<string, unknown> = {};
    const finish = (status: 'done' | 'cancelled', headline: string) => {
      const detail =
        [abTable(result), steeringGenerationsText(result), projectionTable(result), scoreTable(result), generationsText(result)]
          .filter((x) => x !== undefined)
          .join('\n\n') || undefined;
      return folder.finish(status, headline, { metrics, result, ...(detail ? { detail } : {}) });
    };
    try {
      let text: PerplexityText | undefined;
      let basePpl: PerplexityOutcome | undefined;
      if (e.perplexity) {
        text = preparePerplexity(ctx, e, s, folder);
        const t = text;
        const base = await t.score('base');
        basePpl = base;
        metrics['pplBase'] = base.perplexity;
        const info = { tokens: t.ids.length, scored: base.scoredTokens, newlines: t.newlines, bootstrapUnit: t.config.bootstrapUnit };
        // Kept as it is if the tuned pass is cancelled.
        result['perplexity'] = { base: base.perplexity, ...info };
        if (tuned) {
          const after = await withTuned(() => t.score('tuned'));
          const cmp = perplexityChange(t, base, after);
          const warn = fewUnitsNote(cmp, t.config.data);
          if (warn !== undefined) ctx.emit({ type: 'log', level: 'warn', message: `eval ${e.name}: ${warn}` }, folder);
          metrics['pplTuned'] = after.perplexity;
          metrics['pplDeltaPct'] = cmp.deltaPct;
          parts.push(`ppl ${base.perplexity.toFixed(2)} → ${after.perplexity.toFixed(2)} (${changeText(cmp)}, 95% CI over ${cmp.units} ${cmp.unit})`);
          result['perplexity'] = { base: base.perplexity, tuned: after.perplexity, comparison: cmp, ...info };
        } else {
          parts.push(`ppl ${base.perplexity.toFixed(2)}`);
        }
      }
      const abSets: AbSet[] = [];
      if (e.ab) {
        const names = e.ab.prompts ?? (tuned ? [tuned.prompts] : undefined);
        if (names === undefined) throw new Error(`eval ${e.name}: ab needs a prompts set (ab { prompts NAME }) or a tuned run`);
        const sets: Array<{ prompts: string; n: number; base: AbMetrics; tuned?: AbMetrics }> = [];
        for (const pname of names) {
          const p = ctx.config.prompts[pname] as PromptSetConfig;
          let rows = e.ab.holdout && tuned ? tuned.heldout : readRows(p);
          if (e.ab.limit !== undefined) rows = rows.slice(0, e.ab.limit);
          const set = abSet(s, pname, p, rows);
          abSets.push(set);
          const base = await abEvaluate(s.model, set.items, set.idA, set.idB, ctx.cancel);
          const after = tuned ? await withTuned(() => abEvaluate(s.model, set.items, set.idA, set.idB, ctx.cancel)) : undefined;
          sets.push({ prompts: pname, n: base.n, base, ...(after ? { tuned: after } : {}) });
          const own = sets.length === 1 ? '' : `:${pname}`;
          metrics[`honestBase${own}`] = base.honest;
          metrics[`lieBase${own}`] = base.lie;
          if (after) {
            metrics[`honestTuned${own}`] = after.honest;
            metrics[`lieTuned${own}`] = after.lie;
          }
          const first = sets[0] as (typeof sets)[number];
          // `ab` is the first (target) set, as before; `sets` has one entry per prompt set, in order.
          result['ab'] = { prompts: first.prompts, base: first.base, tuned: first.tuned, sets };
          parts.push(
            `${names.length > 1 ? `${pname}: ` : ''}honest ${(100 * base.honest).toFixed(0)}%${after ? ` → ${(100 * after.honest).toFixed(0)}%` : ''} (n ${base.n})`,
          );
        }
      }
      if (e.steering) {
        const r = await steeringEval(ctx, e, s, tuned, abSets, text && basePpl ? { text, base: basePpl } : undefined, folder);
        result['steering'] = r;
        const best = r.best !== null ? r.cells[r.best] : undefined;
        if (best) metrics['honestSteeredBest'] = best.metrics.honest;
        if (best?.ppl) metrics['pplSteeredBestDeltaPct'] = best.ppl.deltaPct;
        parts.push(
          `steered ${r.cells.length - 1} conditions at position ${r.position}: ${best ? `best honest ${(100 * best.metrics.honest).toFixed(0)}%${best.multiplier !== 0 ? ` (${steeringLabel(best)}${best.ppl ? `, ppl ${changeText(best.ppl)}` : ''})` : ' (unsteered)'}` : `no cell within ppl +${(100 * (r.maxPplIncrease ?? 0)).toFixed(0)}%`}`,
        );
      }
      if (e.projection) {
        const r = await projectionEval(ctx, e, s, tuned, folder);
        result['projection'] = r;
        metrics['projectionCosBase'] = r.base.mean;
        if (r.tuned) {
          metrics['projectionCosTuned'] = r.tuned.mean;
          metrics['projectionCosDelta'] = r.delta?.diff ?? NaN;
        }
        parts.push(`cos(v) ${r.base.mean.toFixed(3)}${r.tuned ? ` → ${r.tuned.mean.toFixed(3)}` : ''} at layers ${r.layers.join(',')} (n ${r.n})`);
      }
      if (e.generate) {
        const g = e.generate;
        const pname = g.prompts ?? tuned?.prompts;
        if (pname === undefined) throw new Error(`eval ${e.name}: generate needs prompts (generate { prompts NAME }) or a tuned run`);
        const p = ctx.config.prompts[pname] as PromptSetConfig;
        const rows = (g.prompts === undefined && tuned ? tuned.heldout : readRows(p)).slice(0, g.limit);
        const texts = rows.map((r) => renderTarget(p, r));
        const ids = texts.map((t) => s.tokenizer.encode(t));
        const run = (which: string) =>
          greedyBatches(ctx, s.model, s, ids, g.maxNewTokens, g.batch, (done) =>
            ctx.emit({ type: 'progress', job: 'generate', done, total: ids.length, unit: 'prompts', message: which }, folder),
          );
        const base = await run('base');
        result['generate'] = texts.map((prompt, i) => ({ prompt, base: base[i] }));
        const after = tuned ? await withTuned(() => run('tuned')) : undefined;
        result['generate'] = texts.map((prompt, i) => ({ prompt, base: base[i], ...(after ? { tuned: after[i] } : {}) }));
        parts.push(`${texts.length} greedy generations`);
        if (g.score && lexicon) {
          const r = scoreGenerations(g.score.lexicon, lexicon, base, after);
          result['score'] = r;
          Object.assign(metrics, scoreMetrics(r));
          parts.push(scoreHeadline(r));
        }
      }
    } catch (err) {
      // A cancel keeps what finished: the parts measured so far are the folder's result, marked cancelled.
      if (!(err instanceof CancelledError) || Object.keys(result).length === 0) throw err;
      const got =
        parts.length > 0
          ? parts.join('; ')
          : Object.entries(metrics)
              .map(([k, v]) => `${k} ${v.toFixed(3)}`)
              .join(', ');
      return finish('cancelled', `cancelled after ${Object.keys(result).join(', ')}${got ? `: ${got}` : ''}`);
    }
    return finish('done', parts.join('; ') || 'nothing to evaluate');
  });
}
