/**
 * An eval's perplexity text, prepared once and scored as often as a comparison needs (base, tuned, each steering
 * cell) on the same tokens and windows, and the paired change between two scorings with a bootstrap interval that
 * resamples whole units (`bootstrap_unit`: documents or windows, engine/eval/units.ts), never single tokens.
 */
import { perplexity, type PerplexityOutcome } from '../../engine/eval/perplexity';
import { encodeDocuments, unitSegments } from '../../engine/eval/units';
import type { Tap } from '../../engine/model/forward';
import type { Session } from '../../engine/session';
import { perplexityComparison } from '../../engine/stats';
import { newlineNote, readText, type NewlineReport } from '../../engine/util/text';
import type { BootstrapUnitName, EvalConfig, PerplexityConfig } from '../../protocol/contract';
import type { SectionContext } from '../context';
import type { RunFolder } from '../run-folder';

/** Below this many units the interval is reported with a warning. */
export const FEW_UNITS = 10;

export interface PerplexityText {
  config: PerplexityConfig;
  ids: number[];
  newlines: NewlineReport;
  /** Document starts (token indices) for `bootstrap_unit documents`. */
  starts: number[] | undefined;
  /** Scores the text with the session's model as it is now (weights swapped in, `taps` applied). */
  score: (which: string, taps?: Tap[]) => Promise<PerplexityOutcome>;
}

/** The paired change of perplexity between two scorings of the same tokens, in percent, with its interval. */
export interface PerplexityChange {
  pplBase: number;
  pplTuned: number;
  deltaPct: number;
  /** Bootstrap percentile interval of deltaPct; null when `bootstrap 0` or fewer than 2 units. */
  ciPct: [number, number] | null;
  p: number | null;
  nllBase: number;
  nllTuned: number;
  /** Scored tokens. */
  n: number;
  unit: BootstrapUnitName;
  /** Units resampled. */
  units: number;
  resamples: number;
  confidence: number;
}

export function preparePerplexity(ctx: SectionContext, e: EvalConfig, s: Session, folder: RunFolder): PerplexityText {
  const pc = e.perplexity as PerplexityConfig;
  const data = readText(pc.data, pc.newlines);
  const note = newlineNote(data.newlines, pc.data);
  if (note !== undefined) ctx.emit({ type: 'log', level: 'info', message: `eval ${e.name}: ${note}` }, folder);
  let ids: number[];
  let starts: number[] | undefined;
  if (pc.bootstrapUnit === 'documents') {
    const docs = encodeDocuments(s.tokenizer, data.text);
    ids = docs.ids;
    starts = docs.starts;
    ctx.emit(
      {
        type: 'log',
        level: 'info',
        message:
          `eval ${e.name}: ${docs.starts.length} document(s) in ${pc.data} (${docs.split === 'blank-lines' ? 'separated by blank lines' : 'one per line'})` +
          (docs.aligned ? '' : '; tokenized document by document, which differs from the whole-text tokenization at the document boundaries'),
      },
      folder,
    );
  } else ids = s.tokenizer.encode(data.text);
  if (pc.maxTokens !== undefined) ids = ids.slice(0, pc.maxTokens);
  const score = (which: string, taps?: Tap[]) =>
    perplexity(s.model, ids, {
      maxLength: pc.maxLength,
      stride: pc.stride,
      batch: pc.batch,
      ...(taps ? { taps } : {}),
      ...ctx.cancel,
      onProgress: (done, total, ppl) =>
        ctx.emit({ type: 'progress', job: 'perplexity', done, total, unit: 'windows', message: `${which} ppl ${ppl.toFixed(3)}` }, folder),
    });
  return { config: pc, ids, newlines: data.newlines, starts, score };
}

/** The change from `base` to `after` (the same text and windows), bootstrapped over the configured units. */
export function perplexityChange(t: PerplexityText, base: PerplexityOutcome, after: PerplexityOutcome): PerplexityChange {
  const segments = unitSegments(base.windows, t.config.bootstrapUnit === 'documents' ? t.starts : undefined);
  const unit = t.config.bootstrapUnit;
  if (t.config.bootstrap === 0 || segments.length < 2) {
    const d = after.nll - base.nll;
    return {
      pplBase: base.perplexity,
      pplTuned: after.perplexity,
      deltaPct: 100 * Math.expm1(d),
      ciPct: null,
      p: null,
      nllBase: base.nll,
      nllTuned: after.nll,
      n: base.scoredTokens,
      unit,
      units: segments.length,
      resamples: 0,
      confidence: 0.95,
    };
  }
  const c = perplexityComparison(base.tokenNll, after.tokenNll, { resamples: t.config.bootstrap, seed: t.config.seed, segments });
  return {
    pplBase: c.pplBase,
    pplTuned: c.pplTuned,
    deltaPct: c.deltaPct,
    ciPct: c.ciPct,
    p: c.p,
    nllBase: c.nllBase,
    nllTuned: c.nllTuned,
    n: c.n,
    unit,
    units: c.units,
    resamples: c.resamples,
    confidence: c.confidence,
  };
}

/** A warning when the interval rests on few units, else undefined. */
export function fewUnitsNote(c: PerplexityChange, file: string): string | undefined {
  if (c.units >= FEW_UNITS) return undefined;
  const what = c.unit === 'documents' ? 'document(s)' : 'window(s)';
  return c.units < 2
    ? `the perplexity change has no interval: ${file} gives ${c.units} ${what} to resample (use a longer text${c.unit === 'documents' ? ' or bootstrap_unit windows' : ' or a smaller stride'})`
    : `the perplexity interval rests on ${c.units} ${what} only and is unreliable (use a longer text${c.unit === 'documents' ? ', more documents' : ' or a smaller stride'})`;
}

/** `+1.2% [−0.3, +2.8]` (no interval: the bracket says why). */
export function changeText(c: PerplexityChange): string {
  const f = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  return `${f(c.deltaPct)}% ${c.ciPct ? `[${f(c.ciPct[0])}, ${f(c.ciPct[1])}]` : '[no CI]'}`;
}
