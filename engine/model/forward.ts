/**
 * The one forward pass: GPT-2 and the Llama family, batched, padding-aware, with an optional KV cache and
 * per-block taps. Capture (read activations, with gradient when training), steering (add a vector) and
 * ablation (project out a direction) are all taps on this path (engine/model/taps.ts), so training,
 * extraction, evaluation and generation compute the same thing.
 *
 * "Layer L" means decoder block L counted from 0; its output is HF hidden_states[L+1] (METHOD.md).
 * Masks and positions are host-side arrays: batches are built on the host, and small JS arrays are
 * cheaper than round trips to the device.
 *
 * Non-goals: dropout (we never train with it), sliding-window KV eviction (the mask handles windows),
 * attention implementations other than the plain masked softmax.
 */
import * as tf from '@tensorflow/tfjs';
import { ropeInvFreq, type ModelConfig } from '../../model/config';
import { dense, embed, gatherRows, geluExact, geluNew, layerNorm, rmsNorm, silu } from './ops';

export type TapSite = 'input' | 'output';

export interface TapContext {
  layer: number;
  site: TapSite;
  /** Number of cached positions before this call (0 without a cache). */
  pastLength: number;
  batch: number;
  seqLen: number;
  /** [B][T] 1 for real tokens of this call, 0 for padding. */
  tokenMask: number[][];
}

/** A tap sees the residual stream [B, T, C] and may return a replacement (intervention) or nothing (observation). */
export type TapFn = (h: tf.Tensor3D, ctx: TapContext) => tf.Tensor3D | void;

export interface Tap {
  layer: number;
  site: TapSite;
  fn: TapFn;
}

export interface KVCache {
  /** Per layer: [B, K, S, D], before GQA expansion. */
  keys: tf.Tensor4D[];
  values: tf.Tensor4D[];
  /** S: cached positions (including left padding). */
  length: number;
}

export interface Model {
  readonly config: ModelConfig;
  /** HF names → variables (matrices in [in, out] layout; see model/params.ts). */
  readonly params: Map<string, tf.Variable>;
  /** Where the weights came from (folder or .bin), for reports and metadata. */
  readonly path: string;
  readonly format: 'hf' | 'llama2c';
  dispose(): void;
}

export interface ForwardOptions {
  /**
   * [B][S] with S = past + T: 1 for real tokens, 0 for padding (left padding for generation, right padding
   * for training and capture). Defaults to all ones.
   */
  attentionMask?: number[][];
  /** Past keys and values; with `returnCache` the result carries the cache extended by this call. */
  cache?: KVCache;
  returnCache?: boolean;
  taps?: Tap[];
  /**
   * Which logits to compute: 'all' → [B, T, V]; 'last' → [B, 1, V] at the last position of each row; an array
   * gives one position per row → [B, 1, V]; 'none' skips the final norm and head (capture only).
   */
  logits?: 'all' | 'last' | 'none' | number[];
  /** Skip blocks after this layer (capture of early layers only; implies logits 'none'). */
  lastLayer?: number;
}

export interface ForwardResult {
  logits: tf.Tensor3D | undefined;
  cache: KVCache | undefined;
}

function param(model: Model, name: string): tf.Variable {
  const p = model.params.get(name);
  if (!p) throw new Error(`model ${model.path} has no parameter ${name}`);
  return p;
}

function optParam(model: Model, name: string): tf.Variable | undefined {
  return model.params.get(name);
}

/** Position ids [B][T]: count of real tokens before each position (so left padding does not shift positions). */
export function positionIds(mask: number[][], past: number, seqLen: number): number[][] {
  // A real token gets the number of real tokens before it; padding gets the same (harmless) value.
  return mask.map((row) => {
    let count = 0;
    for (let j = 0; j < past; j++) if (row[j]) count++;
    const out: number[] = [];
    for (let t = 0; t < seqLen; t++) {
      out.push(count);
      if (row[past + t]) count++;
    }
    return out;
  });
}

/** Additive attention bias [B, 1, T, S]: 0 where allowed, -1e9 where masked (causal, padding, sliding window). */
function attentionBias(mask: number[][], past: number, seqLen: number, window: number | undefined): tf.Tensor4D {
  const B = mask.length;
  const S = past + seqLen;
  const data = new Float32Array(B * seqLen * S);
  for (let b = 0; b < B; b++) {
    const row = mask[b] as number[];
    for (let t = 0; t < seqLen; t++) {
      const q = past + t;
      const base = (b * seqLen + t) * S;
      let any = false;
      for (let j = 0; j < S; j++) {
        const ok = j <= q && row[j] === 1 && (window === undefined || q - j < window);
        if (!ok) data[base + j] = -1e9;
        else any = true;
      }
      // A padding query with no visible key attends to itself so softmax stays finite; its output is ignored.
      if (!any) data[base + q] = 0;
    }
  }
  return tf.tensor4d(data, [B, 1, seqLen, S]);
}

function ropeTables(c: ModelConfig, pos: number[][]): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const inv = ropeInvFreq(c);
  const half = c.headDim / 2;
  const B = pos.length;
  const T = (pos[0] as number[]).length;
  const cos = new Float32Array(B * T * c.headDim);
  const sin = new Float32Array(B * T * c.headDim);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const p = (pos[b] as number[])[t] as number;
      const base = (b * T + t) * c.headDim;
      for (let i = 0; i < half; i++) {
        const a = p * (inv[i] as number);
        const cv = Math.cos(a);
        const sv = Math.sin(a);
        cos[base + i] = cv;
        cos[base + half + i] = cv;
        sin[base + i] = sv;
        sin[base + half + i] = sv;
      }
    }
  }
  return { cos: tf.tensor4d(cos, [B, 1, T, c.headDim]), sin: tf.tensor4d(sin, [B, 1, T, c.headDim]) };
}

/** HF rotate_half RoPE on x [B, H, T, D]. */
function applyRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor, half: number): tf.Tensor {
  const [x1, x2] = tf.split(x, [half, half], -1) as [tf.Tensor, tf.Tensor];
  const rotated = tf.concat([tf.neg(x2), x1], -1);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}

/** [B, T, C] → [B, H, T, D] */
function splitHeads(x: tf.Tensor, nHeads: number, headDim: number): tf.Tensor4D {
  const [B, T] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [B, T, nHeads, headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/**
 * Grouped-query attention without materialising repeated keys: query heads h = k*rep + r share kv head k
 * (HF repeat_kv), so q [B, H, T, D] is viewed as [B, K, rep*T, D] and attends to k, v [B, K, S, D] directly.
 * (Repeating k and v with stack/tile costs an Unpack in the backward pass that is very slow on wasm.)
 */
function attend(q: tf.Tensor, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D, headDim: number, nKv: number): tf.Tensor {
  const [B, H, T, D] = q.shape as [number, number, number, number];
  const S = k.shape[2];
  const rep = H / nKv;
  const qg = rep === 1 ? q : tf.reshape(q, [B, nKv, rep * T, D]);
  let scores = tf.mul(tf.matMul(qg as tf.Tensor4D, k, false, true), 1 / Math.sqrt(headDim)); // [B,K,rep*T,S]
  scores =
    rep === 1 ? tf.add(scores, bias) : tf.reshape(tf.add(tf.reshape(scores, [B, nKv, rep, T, S]), tf.reshape(bias, [B, 1, 1, T, S])), [B, nKv, rep * T, S]);
  const out = tf.matMul(tf.softmax(scores, -1) as tf.Tensor4D, v); // [B,K,rep*T,D]
  return rep === 1 ? out : tf.reshape(out, [B, H, T, D]);
}

function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [B, H, T, D] = x.shape as [number, number, number, number];
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * D]);
}

function applyTaps(taps: Tap[] | undefined, layer: number, site: TapSite, h: tf.Tensor3D, ctx: Omit<TapContext, 'layer' | 'site'>): tf.Tensor3D {
  if (!taps) return h;
  let out = h;
  for (const tap of taps) {
    if (tap.layer !== layer || tap.site !== site) continue;
    const r = tap.fn(out, { ...ctx, layer, site });
    if (r) out = r;
  }
  return out;
}

/**
 * Run the model on `ids` ([B][T] token ids). Call inside `tf.tidy` (or `tf.variableGrads`): every tensor made
 * here is an intermediate except the returned logits and cache.
 */
export function forward(model: Model, ids: number[][], opts: ForwardOptions = {}): ForwardResult {
  const c = model.config;
  const B = ids.length;
  const T = (ids[0] as number[]).length;
  if (B === 0 || T === 0) throw new Error('forward: empty batch');
  for (const row of ids) if (row.length !== T) throw new Error(`forward: ragged batch (rows of ${T} and ${row.length} tokens); pad first`);
  const past = opts.cache?.length ?? 0;
  const S = past + T;
  const mask = opts.attentionMask ?? ids.map(() => new Array<number>(S).fill(1));
  if (mask.length !== B || mask.some((r) => r.length !== S)) {
    throw new Error(`forward: attentionMask must be [${B}][${S}] (past ${past} + ${T} new)`);
  }
  for (const row of ids) {
    for (const id of row) {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new Error(`forward: token id ${id} is outside the vocabulary [0, ${c.vocabSize})`);
    }
  }
  const pos = positionIds(mask, past, T);
  const maxPos = Math.max(...pos.map((r) => Math.max(...r)));
  if (c.arch === 'gpt2' && maxPos >= c.maxPositions) {
    throw new Error(`forward: position ${maxPos} exceeds GPT-2's ${c.maxPositions} position embeddings; use a shorter max_length`);
  }
  const tokenMask = mask.map((r) => r.slice(past));
  const ctxBase = { pastLength: past, batch: B, seqLen: T, tokenMask };
  const lastLayer = opts.lastLayer ?? c.nLayers - 1;
  const idsT = tf.tensor2d(ids, [B, T], 'int32');
  const bias = attentionBias(mask, past, T, c.slidingWindow);
  const newKeys: tf.Tensor4D[] = [];
  const newValues: tf.Tensor4D[] = [];
  const eps = c.normEps;

  let h: tf.Tensor3D;
  let rope: { cos: tf.Tensor4D; sin: tf.Tensor4D } | undefined;
  if (c.arch === 'gpt2') {
    const posT = tf.tensor2d(pos, [B, T], 'int32');
    h = tf.add(embed(param(model, 'transformer.wte.weight'), idsT), embed(param(model, 'transformer.wpe.weight'), posT)) as tf.Tensor3D;
  } else {
    h = embed(param(model, 'model.embed_tokens.weight'), idsT) as tf.Tensor3D;
    rope = ropeTables(c, pos);
  }

  for (let l = 0; l <= lastLayer; l++) {
    h = applyTaps(opts.taps, l, 'input', h, ctxBase);
    let q: tf.Tensor;
    let k: tf.Tensor4D;
    let v: tf.Tensor4D;
    let residual: tf.Tensor;
    if (c.arch === 'gpt2') {
      const p = `transformer.h.${l}.`;
      const x = layerNorm(h, param(model, `${p}ln_1.weight`), param(model, `${p}ln_1.bias`), eps);
      const qkv = dense(x, param(model, `${p}attn.c_attn.weight`), param(model, `${p}attn.c_attn.bias`)); // [B,T,3C]
      const [q0, k0, v0] = tf.split(qkv, 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
      q = splitHeads(q0, c.nHeads, c.headDim);
      k = splitHeads(k0, c.nKvHeads, c.headDim);
      v = splitHeads(v0, c.nKvHeads, c.headDim);
    } else {
      const p = `model.layers.${l}.`;
      const x = rmsNorm(h, param(model, `${p}input_layernorm.weight`), eps);
      const a = `${p}self_attn.`;
      const q0 = dense(x, param(model, `${a}q_proj.weight`), optParam(model, `${a}q_proj.bias`));
      const k0 = dense(x, param(model, `${a}k_proj.weight`), optParam(model, `${a}k_proj.bias`));
      const v0 = dense(x, param(model, `${a}v_proj.weight`), optParam(model, `${a}v_proj.bias`));
      const r = rope as { cos: tf.Tensor4D; sin: tf.Tensor4D };
      q = applyRope(splitHeads(q0, c.nHeads, c.headDim), r.cos, r.sin, c.headDim / 2);
      k = applyRope(splitHeads(k0, c.nKvHeads, c.headDim), r.cos, r.sin, c.headDim / 2) as tf.Tensor4D;
      v = splitHeads(v0, c.nKvHeads, c.headDim);
    }
    if (opts.cache) {
      k = tf.concat([opts.cache.keys[l] as tf.Tensor4D, k], 2);
      v = tf.concat([opts.cache.values[l] as tf.Tensor4D, v], 2);
    }
    if (opts.returnCache) {
      newKeys.push(k);
      newValues.push(v);
    }
    const att = mergeHeads(attend(q, k, v, bias, c.headDim, c.nKvHeads));
    if (c.arch === 'gpt2') {
      const p = `transformer.h.${l}.`;
      residual = tf.add(h, dense(att, param(model, `${p}attn.c_proj.weight`), param(model, `${p}attn.c_proj.bias`)));
      const x = layerNorm(residual, param(model, `${p}ln_2.weight`), param(model, `${p}ln_2.bias`), eps);
      const up = dense(x, param(model, `${p}mlp.c_fc.weight`), param(model, `${p}mlp.c_fc.bias`));
      const act = c.activation === 'gelu' ? geluExact(up) : geluNew(up);
      h = tf.add(residual, dense(act, param(model, `${p}mlp.c_proj.weight`), param(model, `${p}mlp.c_proj.bias`))) as tf.Tensor3D;
    } else {
      const p = `model.layers.${l}.`;
      residual = tf.add(h, dense(att, param(model, `${p}self_attn.o_proj.weight`), optParam(model, `${p}self_attn.o_proj.bias`)));
      const x = rmsNorm(residual, param(model, `${p}post_attention_layernorm.weight`), eps);
      const m = `${p}mlp.`;
      const gate = silu(dense(x, param(model, `${m}gate_proj.weight`), optParam(model, `${m}gate_proj.bias`)));
      const up = dense(x, param(model, `${m}up_proj.weight`), optParam(model, `${m}up_proj.bias`));
      h = tf.add(residual, dense(tf.mul(gate, up), param(model, `${m}down_proj.weight`), optParam(model, `${m}down_proj.bias`))) as tf.Tensor3D;
    }
    h = applyTaps(opts.taps, l, 'output', h, ctxBase);
  }

  const cache: KVCache | undefined = opts.returnCache ? { keys: newKeys, values: newValues, length: S } : undefined;
  const which = opts.lastLayer !== undefined && opts.lastLayer < c.nLayers - 1 ? 'none' : (opts.logits ?? 'all');
  if (which === 'none') return { logits: undefined, cache };

  let hs: tf.Tensor = h; // [B,T,C] or [B,1,C]
  if (which !== 'all') {
    const at = which === 'last' ? ids.map(() => T - 1) : which;
    if (at.length !== B || at.some((t) => !Number.isInteger(t) || t < 0 || t >= T))
      throw new Error(`forward: logits positions ${JSON.stringify(at)} out of range for T=${T}`);
    const flat = tf.reshape(h, [B * T, c.hiddenSize]);
    hs = tf.reshape(
      gatherRows(
        flat,
        at.map((t, b) => b * T + t),
      ),
      [B, 1, c.hiddenSize],
    );
  }
  const normed =
    c.arch === 'gpt2'
      ? layerNorm(hs, param(model, 'transformer.ln_f.weight'), param(model, 'transformer.ln_f.bias'), eps)
      : rmsNorm(hs, param(model, 'model.norm.weight'), eps);
  const head = c.tieWordEmbeddings
    ? tf.transpose(param(model, c.arch === 'gpt2' ? 'transformer.wte.weight' : 'model.embed_tokens.weight'))
    : param(model, 'lm_head.weight');
  const logits = dense(normed, head) as tf.Tensor3D;
  return { logits, cache };
}

/** Dispose a cache's tensors. */
export function disposeCache(cache: KVCache | undefined): void {
  if (!cache) return;
  tf.dispose([...cache.keys, ...cache.values]);
}
