/**
 * An eval's `generate { score { lexicon FILE } }`: every greedy continuation (the generated text only, not its
 * prompt) is scored with the lexicon (engine/eval/lexicon.ts: the sum of the weights of its words), and each
 * condition (base, tuned) is summarised by its mean score and the share of continuations scoring above 0 and below
 * 0, with Wilson 95% intervals; with a tuned run, the paired change tuned − base of the mean score has a bootstrap
 * 95% interval that resamples prompts (1000 resamples, seed 42, as `projection_cosine`). Written to result.json
 * under `score`, to the summary's metrics, headline and detail.
 */
import { parseLexicon, scoreText, type Lexicon } from '../../engine/eval/lexicon';
import { pairedBootstrap, wilson, type PairedBootstrapResult, type Proportion } from '../../engine/stats';
import { readText } from '../../engine/util/text';

export interface ScoreCondition {
  /** Mean score over the continuations. */
  mean: number;
  /** Share of continuations with score > 0, and with score < 0 (Wilson 95% intervals), and their counts. */
  positive: Proportion & { k: number };
  negative: Proportion & { k: number };
  /** Per continuation, in prompt order. */
  scores: number[];
  /** Per continuation, the lexicon words it used (with repeats). */
  hits: string[][];
}

export interface ScoreResult {
  lexicon: string;
  entries: number;
  rule: 'sum of word weights over the generated text';
  n: number;
  base: ScoreCondition;
  tuned?: ScoreCondition;
  /** Paired bootstrap of mean(tuned) − mean(base) over prompts. */
  delta?: PairedBootstrapResult;
}

/** Reads and parses the lexicon (a LexiconError names the file and line of a bad entry). */
export function readLexicon(file: string): Lexicon {
  return parseLexicon(readText(file).text, file);
}

function condition(texts: readonly string[], lexicon: Lexicon): ScoreCondition {
  const scored = texts.map((t) => scoreText(t, lexicon));
  const scores = scored.map((s) => s.score);
  const n = scores.length;
  const kPos = scores.filter((x) => x > 0).length;
  const kNeg = scores.filter((x) => x < 0).length;
  return {
    mean: n > 0 ? scores.reduce((a, b) => a + b, 0) / n : NaN,
    positive: { ...wilson(kPos, n), k: kPos },
    negative: { ...wilson(kNeg, n), k: kNeg },
    scores,
    hits: scored.map((s) => s.hits),
  };
}

/** Scores the base (and tuned) continuations. */
export function scoreGenerations(file: string, lexicon: Lexicon, base: readonly string[], tuned: readonly string[] | undefined): ScoreResult {
  const b = condition(base, lexicon);
  const t = tuned ? condition(tuned, lexicon) : undefined;
  const delta = t && b.scores.length > 0 ? pairedBootstrap(b.scores, t.scores, { unit: 'token', resamples: 1000, seed: 42 }) : undefined;
  return {
    lexicon: file,
    entries: lexicon.size,
    rule: 'sum of word weights over the generated text',
    n: base.length,
    base: b,
    ...(t ? { tuned: t } : {}),
    ...(delta ? { delta } : {}),
  };
}

const signed = (x: number, d = 2) => `${x >= 0 ? '+' : ''}${x.toFixed(d)}`;
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** The summary metrics of a score result. */
export function scoreMetrics(r: ScoreResult): Record<string, number> {
  const m: Record<string, number> = { scoreBase: r.base.mean, scorePositiveBase: r.base.positive.p, scoreNegativeBase: r.base.negative.p };
  if (r.tuned) {
    m['scoreTuned'] = r.tuned.mean;
    m['scorePositiveTuned'] = r.tuned.positive.p;
    m['scoreNegativeTuned'] = r.tuned.negative.p;
  }
  if (r.delta) {
    m['scoreDelta'] = r.delta.diff;
    m['scoreDeltaLo'] = r.delta.lo;
    m['scoreDeltaHi'] = r.delta.hi;
  }
  return m;
}

/** One headline part: `score +0.10 → +0.85 (change +0.75, 95% CI +0.50..+1.00; > 0: 10% → 55%)`. */
export function scoreHeadline(r: ScoreResult): string {
  if (!r.tuned || !r.delta) return `score ${signed(r.base.mean)} (> 0: ${pct(r.base.positive.p)}, n ${r.n})`;
  return `score ${signed(r.base.mean)} → ${signed(r.tuned.mean)} (change ${signed(r.delta.diff)}, 95% CI ${signed(r.delta.lo)}..${signed(r.delta.hi)}; > 0: ${pct(r.base.positive.p)} → ${pct(r.tuned.positive.p)}, n ${r.n})`;
}

/** The score table of the summary's detail. */
export function scoreTable(result: Record<string, unknown>): string | undefined {
  const r = result['score'] as ScoreResult | undefined;
  if (!r) return undefined;
  const share = (p: ScoreCondition['positive']) => `${p.k}/${r.n} = ${pct(p.p)} (95% CI ${pct(p.lo)}..${pct(p.hi)})`;
  const rows = ['| lexicon score | base | tuned |', '| --- | --- | --- |'];
  rows.push(`| mean | ${signed(r.base.mean)} | ${r.tuned ? signed(r.tuned.mean) : '-'} |`);
  rows.push(`| score > 0 | ${share(r.base.positive)} | ${r.tuned ? share(r.tuned.positive) : '-'} |`);
  rows.push(`| score < 0 | ${share(r.base.negative)} | ${r.tuned ? share(r.tuned.negative) : '-'} |`);
  const ci = r.delta ? `; change of the mean ${signed(r.delta.diff)} (95% paired-bootstrap CI over prompts ${signed(r.delta.lo)}..${signed(r.delta.hi)})` : '';
  return `${rows.join('\n')}\n\nlexicon ${r.lexicon} (${r.entries} words), score = sum of word weights over each generated text, n = ${r.n} prompts${ci}.`;
}
