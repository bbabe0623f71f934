/**
 * Text generation with a KV cache: greedy (temperature 0) or sampled (temperature, top-p), seeded, batched with
 * left padding, with taps active at every step (steering during generation, METHOD.md §6).
 * Sampling happens on the host over downloaded logits: rows are small (B x V) and a seeded JS generator makes
 * runs reproducible on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { disposeCache, forward, type KVCache, type Model, type Tap } from './model/forward';
import { Rng } from './util/random';
import { throwIfCancelled } from './util/cancel';
import { yieldToEventLoop } from './util/yield';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Nucleus sampling mass in (0, 1]; 1 disables it. */
  topP?: number;
  seed?: number;
  taps?: Tap[];
  /** Token ids that end a row (default: the model's EOS). The stop token is not included in the output. */
  stopIds?: number[];
  padId?: number;
  signal?: AbortSignal;
  /** Called after each step with the new token of every unfinished row. */
  onStep?: (step: number, tokens: Array<number | undefined>) => void;
}

export interface GenerateResult {
  /** New tokens per prompt (without the prompt and without the stop token). */
  tokens: number[][];
  /** Per row: 'stop' (a stop id), 'length' (maxNewTokens or the model's context). */
  finish: Array<'stop' | 'length'>;
}

/** Index of the maximum (first on ties, like numpy argmax). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i] as number;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/** Sample from softmax(row / temperature) restricted to the top-p nucleus. */
export function sampleToken(row: ArrayLike<number>, temperature: number, topP: number, rng: Rng): number {
  if (temperature <= 0) return argmax(row);
  const n = row.length;
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, (row[i] as number) / temperature);
  const probs = new Float64Array(n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.exp((row[i] as number) / temperature - m);
    probs[i] = p;
    z += p;
  }
  let order: number[];
  if (topP < 1) {
    order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (probs[b] as number) - (probs[a] as number));
    let cum = 0;
    let keep = 0;
    while (keep < n && cum < topP * z) cum += probs[order[keep++] as number] as number;
    order = order.slice(0, Math.max(keep, 1));
    z = cum;
  } else {
    order = Array.from({ length: n }, (_, i) => i);
  }
  let r = rng.next() * z;
  for (const i of order) {
    r -= probs[i] as number;
    if (r <= 0) return i;
  }
  return order[order.length - 1] as number;
}

export async function generate(model: Model, prompts: number[][], opts: GenerateOptions): Promise<GenerateResult> {
  const c = model.config;
  const B = prompts.length;
  if (B === 0) return { tokens: [], finish: [] };
  if (prompts.some((p) => p.length === 0)) throw new Error('generate: every prompt needs at least one token (add a BOS)');
  const temperature = opts.temperature ?? 0;
  const topP = opts.topP ?? 1;
  if (temperature < 0) throw new Error(`generate: temperature must be >= 0, found ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`generate: top_p must be in (0, 1], found ${topP}`);
  const rng = new Rng(opts.seed ?? 0);
  const stop = new Set(opts.stopIds ?? (c.eosTokenId !== undefined ? [c.eosTokenId] : []));
  const pad = opts.padId ?? c.eosTokenId ?? 0;
  const L = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...new Array<number>(L - p.length).fill(pad), ...p]);
  let mask = prompts.map((p) => [...new Array<number>(L - p.length).fill(0), ...new Array<number>(p.length).fill(1)]);
  const maxNew = Math.min(opts.maxNewTokens, c.maxPositions - L);
  const out: number[][] = prompts.map(() => []);
  const finish: Array<'stop' | 'length'> = prompts.map(() => 'length');
  const done = prompts.map(() => false);
  let cache: KVCache | undefined;
  let input = ids;
  try {
    for (let step = 0; step < maxNew; step++) {
      await yieldToEventLoop();
      throwIfCancelled(opts.signal);
      const prev = cache;
      const res = tf.tidy(() => {
        const r = forward(model, input, { attentionMask: mask, cache: prev, returnCache: true, logits: 'last', ...(opts.taps ? { taps: opts.taps } : {}) });
        const k = r.cache as KVCache;
        return { logits: r.logits as tf.Tensor3D, keys: k.keys, values: k.values };
      });
      disposeCache(prev);
      cache = { keys: res.keys, values: res.values, length: (prev?.length ?? 0) + (input[0] as number[]).length };
      const logits = (await res.logits.data()) as Float32Array;
      res.logits.dispose();
      const V = c.vocabSize;
      const next: Array<number | undefined> = [];
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          next.push(undefined);
          continue;
        }
        const id = sampleToken(logits.subarray(b * V, (b + 1) * V), temperature, topP, rng);
        if (stop.has(id)) {
          done[b] = true;
          finish[b] = 'stop';
          next.push(undefined);
        } else {
          (out[b] as number[]).push(id);
          next.push(id);
        }
      }
      opts.onStep?.(step, next);
      if (done.every((d) => d)) break;
      input = next.map((id) => [id ?? pad]);
      mask = mask.map((row, b) => [...row, done[b] ? 0 : 1]);
    }
  } finally {
    disposeCache(cache);
  }
  return { tokens: out, finish };
}
