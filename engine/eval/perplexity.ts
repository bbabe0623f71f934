/**
 * Perplexity by the canonical sliding-window method (Hugging Face "Perplexity of fixed-length models"):
 * windows of at most `maxLength` tokens start every `stride` tokens; each window scores only the tokens not
 * scored by an earlier window, with the earlier part serving as context. Every token except the first is
 * scored exactly once when stride < maxLength; with stride == maxLength the first token of each window has no
 * context and is not scored (and is not counted). PPL = exp(total NLL / scored tokens).
 * This fixes the research code's counting (METHOD.md §11 item 13). Per-window NLL sums and per-token NLLs are
 * kept for paired bootstrap comparisons of two models.
 */
import * as tf from '@tensorflow/tfjs';
import { checkMemory } from '../backend';
import { forward, type Model, type Tap } from '../model/forward';
import { pickLogProbs } from '../model/loss';
import { gatherRows } from '../model/ops';
import { throwIfCancelled } from '../util/cancel';
import { yieldToEventLoop } from '../util/yield';

export interface PerplexityOptions {
  maxLength: number;
  stride: number;
  /** Windows per forward pass. */
  batch: number;
  /** Taps applied in every forward pass (steering: the perplexity cost of a steered model). */
  taps?: Tap[];
  signal?: AbortSignal;
  onProgress?: (windowsDone: number, windowsTotal: number, runningPerplexity: number) => void;
}

export interface Window {
  begin: number;
  end: number;
  /** Scored target positions are [scoreFrom, end). */
  scoreFrom: number;
}

export interface PerplexityOutcome {
  perplexity: number;
  nll: number;
  tokens: number;
  scoredTokens: number;
  windows: Window[];
  windowNll: number[];
  windowTokens: number[];
  /** NLL of each scored token, in text order (for paired bootstrap). */
  tokenNll: Float64Array;
}

/** The windows for a text of `n` tokens. */
export function slidingWindows(n: number, maxLength: number, stride: number): Window[] {
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new Error(`max_length must be an integer >= 2, found ${maxLength}`);
  if (!Number.isInteger(stride) || stride < 1 || stride > maxLength)
    throw new Error(`stride must be an integer in [1, max_length=${maxLength}], found ${stride}`);
  const out: Window[] = [];
  let prevEnd = 0;
  for (let begin = 0; begin < n; begin += stride) {
    const end = Math.min(begin + maxLength, n);
    const scoreFrom = Math.max(prevEnd, begin + 1);
    if (scoreFrom < end) out.push({ begin, end, scoreFrom });
    prevEnd = end;
    if (end === n) break;
  }
  return out;
}

export async function perplexity(model: Model, ids: number[], opts: PerplexityOptions): Promise<PerplexityOutcome> {
  if (ids.length < 2) throw new Error(`perplexity needs at least 2 tokens, the text has ${ids.length}`);
  const c = model.config;
  if (c.arch === 'gpt2' && opts.maxLength > c.maxPositions) {
    throw new Error(`max_length ${opts.maxLength} exceeds the model's ${c.maxPositions} positions`);
  }
  const windows = slidingWindows(ids.length, opts.maxLength, opts.stride);
  // Logits [batch, maxLength, V] dominate activation memory; estimate generously (x3 for softmax scratch).
  const activation = opts.batch * opts.maxLength * (c.vocabSize * 3 + c.hiddenSize * (c.nLayers * 4 + (c.intermediateSize / c.hiddenSize) * 2)) * 4;
  checkMemory(`perplexity (batch ${opts.batch}, max_length ${opts.maxLength})`, activation + [...model.params.values()].reduce((a, v) => a + v.size * 4, 0));
  const windowNll: number[] = [];
  const windowTokens: number[] = [];
  const tokenNll: number[] = [];
  let total = 0;
  let count = 0;
  for (let w0 = 0; w0 < windows.length; w0 += opts.batch) {
    await yieldToEventLoop();
    throwIfCancelled(opts.signal);
    const group = windows.slice(w0, w0 + opts.batch);
    const T = Math.max(...group.map((w) => w.end - w.begin));
    const batchIds = group.map((w) => {
      const row = ids.slice(w.begin, w.end);
      return [...row, ...new Array<number>(T - row.length).fill(0)];
    });
    const mask = group.map((w) => {
      const len = w.end - w.begin;
      return [...new Array<number>(len).fill(1), ...new Array<number>(T - len).fill(0)];
    });
    const rows: number[] = [];
    const targets: number[] = [];
    for (let b = 0; b < group.length; b++) {
      const w = group[b] as Window;
      for (let p = w.scoreFrom; p < w.end; p++) {
        rows.push(b * T + (p - 1 - w.begin)); // logits at p-1 predict token p
        targets.push(ids[p] as number);
      }
    }
    const logp = tf.tidy(() => {
      const logits = forward(model, batchIds, { attentionMask: mask, ...(opts.taps ? { taps: opts.taps } : {}) }).logits as tf.Tensor3D;
      const flat = tf.reshape(logits, [group.length * T, c.vocabSize]);
      return pickLogProbs(gatherRows(flat, rows), targets);
    });
    const values = await logp.data();
    logp.dispose();
    let k = 0;
    for (const w of group) {
      let s = 0;
      for (let p = w.scoreFrom; p < w.end; p++) {
        const nll = -(values[k++] as number);
        tokenNll.push(nll);
        s += nll;
      }
      windowNll.push(s);
      windowTokens.push(w.end - w.scoreFrom);
      total += s;
      count += w.end - w.scoreFrom;
    }
    opts.onProgress?.(Math.min(w0 + opts.batch, windows.length), windows.length, Math.exp(total / count));
  }
  const nll = total / count;
  return { perplexity: Math.exp(nll), nll, tokens: ids.length, scoredTokens: count, windows, windowNll, windowTokens, tokenNll: Float64Array.from(tokenNll) };
}
