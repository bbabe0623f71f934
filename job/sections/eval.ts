/**
 * `eval` sections: perplexity on held-out text (base vs tuned, paired bootstrap of the change), A/B answers (base
 * vs tuned) with Wilson intervals, steering (eval-steering.ts), the projection cosine (eval-projection.ts) and
 * greedy generations. A tuned run's weights are swapped into the shared model for its half of each comparison and
 * the base ones put back.
 */
import { perplexity } from '../../engine/eval/perplexity';
import { CancelledError } from '../../engine/util/cancel';
import { abEvaluate } from '../../engine/method/evaluate';
import { withWeights } from '../../engine/model/weights';
import { newlineNote, readText } from '../../engine/util/text';
import { perplexityComparison } from '../../engine/stats';
import type { EvalConfig, PromptSetConfig } from '../../protocol/contract';
import type { RunSummary } from '../../protocol/lsp';
import type { SectionContext } from '../context';
import { readRows, renderTarget } from '../prompting';
import { abTable, generationsText, projectionTable, steeringGenerationsText, steeringLabel } from '../tables';
import { projectionEval } from './eval-projection';
import { readLexicon, scoreGenerations, scoreHeadline, scoreMetrics, scoreTable } from './eval-score';
import { abSet, steeringEval, type AbSet } from './eval-steering';
import { greedy } from './search';

export async function runEval(ctx: SectionContext, e: EvalConfig): Promise<RunSummary> {
  const folder = ctx.openFolder(e.output, e.name, 'eval', e);
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
      if (e.perplexity) {
        const pc = e.perplexity;
        const data = readText(pc.data, pc.newlines);
        const note = newlineNote(data.newlines, pc.data);
        if (note !== undefined) ctx.emit({ type: 'log', level: 'info', message: `eval ${e.name}: ${note}` }, folder);
        let ids = s.tokenizer.encode(data.text);
        if (pc.maxTokens !== undefined) ids = ids.slice(0, pc.maxTokens);
        const run = (which: string) =>
          perplexity(s.model, ids, {
            maxLength: pc.maxLength,
            stride: pc.stride,
            batch: pc.batch,
            ...ctx.cancel,
            onProgress: (done, total, ppl) =>
              ctx.emit({ type: 'progress', job: 'perplexity', done, total, unit: 'windows', message: `${which} ppl ${ppl.toFixed(3)}` }, folder),
          });
        const base = await run('base');
        metrics['pplBase'] = base.perplexity;
        // Kept as it is if the tuned pass is cancelled.
        result['perplexity'] = { base: base.perplexity, tokens: base.tokens, scored: base.scoredTokens, newlines: data.newlines };
        if (tuned) {
          const after = await withTuned(() => run('tuned'));
          const cmp = perplexityComparison(base.tokenNll, after.tokenNll, { resamples: pc.bootstrap, seed: pc.seed });
          metrics['pplTuned'] = after.perplexity;
          metrics['pplDeltaPct'] = cmp.deltaPct;
          parts.push(
            `ppl ${base.perplexity.toFixed(2)} → ${after.perplexity.toFixed(2)} (${cmp.deltaPct >= 0 ? '+' : ''}${cmp.deltaPct.toFixed(1)}%, 95% CI ${cmp.ciPct[0].toFixed(1)}..${cmp.ciPct[1].toFixed(1)}%)`,
          );
          result['perplexity'] = {
            base: base.perplexity,
            tuned: after.perplexity,
            comparison: cmp,
            tokens: base.tokens,
            scored: base.scoredTokens,
            newlines: data.newlines,
          };
        } else {
          parts.push(`ppl ${base.perplexity.toFixed(2)}`);
        }
      }
      let ab: AbSet | undefined;
      if (e.ab) {
        const pname = e.ab.prompts ?? tuned?.prompts;
        if (pname === undefined) throw new Error(`eval ${e.name}: ab needs a prompts set (ab { prompts NAME }) or a tuned run`);
        const p = ctx.config.prompts[pname] as PromptSetConfig;
        let rows = e.ab.holdout && tuned ? tuned.heldout : readRows(p);
        if (e.ab.limit !== undefined) rows = rows.slice(0, e.ab.limit);
        ab = abSet(s, pname, p, rows);
        const { items, idA, idB } = ab;
        const base = await abEvaluate(s.model, items, idA, idB, ctx.cancel);
        metrics['honestBase'] = base.honest;
        metrics['lieBase'] = base.lie;
        result['ab'] = { base };
        const after = tuned ? await withTuned(() => abEvaluate(s.model, items, idA, idB, ctx.cancel)) : undefined;
        if (after) {
          metrics['honestTuned'] = after.honest;
          metrics['lieTuned'] = after.lie;
        }
        parts.push(`honest ${(100 * base.honest).toFixed(0)}%${after ? ` → ${(100 * after.honest).toFixed(0)}%` : ''} (n ${base.n})`);
        result['ab'] = { base, tuned: after };
      }
      if (e.steering) {
        const r = await steeringEval(ctx, e, s, tuned, ab, folder);
        result['steering'] = r;
        const best = r.cells.slice(1).reduce((a, c) => (c.metrics.honest > a.metrics.honest ? c : a), r.cells[0] as (typeof r.cells)[number]);
        metrics['honestSteeredBest'] = best.metrics.honest;
        parts.push(
          `steered ${r.cells.length - 1} conditions at position ${r.position}: best honest ${(100 * best.metrics.honest).toFixed(0)}%${best.multiplier !== 0 ? ` (${steeringLabel(best)})` : ''}`,
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
        const run = async () => {
          const out: string[] = [];
          for (const text of texts) out.push(await greedy(ctx, s.model, s, s.tokenizer.encode(text), g.maxNewTokens));
          return out;
        };
        const base = await run();
        result['generate'] = texts.map((prompt, i) => ({ prompt, base: base[i] }));
        const after = tuned ? await withTuned(run) : undefined;
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
