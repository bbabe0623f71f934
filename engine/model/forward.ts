/**
 * The one forward pass: GPT-2, the Llama family (Llama, Mistral, Qwen2, llama2.c), Qwen3, Phi-3, Gemma 2 and
 * Gemma 3, batched, padding-aware, with an optional KV cache and per-block taps. The architectures differ by
 * ModelConfig features (q/k norms, Gemma's (1 + w) norms, post-norms, scaled embeddings, soft-capping, sliding
 * layers, fused projections), never by a second copy of the model; attention pieces live in attention.ts.
 * Capture (read activations, with gradient when training), steering (add a vector) and ablation (project out a
 * direction) are all taps on this path (engine/model/taps.ts), so training, extraction, evaluation and
 * generation compute the same thing.
 *
 * "Layer L" means decoder block L counted from 0; its output is HF hidden_states[L+1] (METHOD.md).
 * Masks and positions are host-side arrays: batches are built on the host, and small JS arrays are
 * cheaper than round trips to the device.
 *
 * Non-goals: dropout (we never train with it), sliding-window KV eviction (the mask handles windows),
 * attention implementations other than the plain masked softmax.
 */
import * as tf from '@tensorflow/tfjs';
import { ropeAttentionFactor, ropeInvFreq, ropePositionLimit, type ModelConfig } from '../../model/config';
import { applyRope, attend, attentionBias, mergeHeads, ropeTables, splitHeads, type RopeTables } from './attention';
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

/** RMSNorm with the layer's weight, as (1 + w) for Gemma. */
function norm(model: Model, x: tf.Tensor, name: string): tf.Tensor {
  const w = param(model, name);
  return rmsNorm(x, model.config.normPlusOne ? tf.add(w, 1) : w, model.config.normEps);
}

/** Queries, keys and values of a GPT-2 block: column thirds of the fused c_attn. */
function gpt2QKV(model: Model, h: tf.Tensor, l: number): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const c = model.config;
  const p = `transformer.h.${l}.`;
  const x = layerNorm(h, param(model, `${p}ln_1.weight`), param(model, `${p}ln_1.bias`), c.normEps);
  const qkv = dense(x, param(model, `${p}attn.c_attn.weight`), param(model, `${p}attn.c_attn.bias`)); // [B,T,3C]
  const [q0, k0, v0] = tf.split(qkv, 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
  return [splitHeads(q0, c.nHeads, c.headDim), splitHeads(k0, c.nKvHeads, c.headDim), splitHeads(v0, c.nKvHeads, c.headDim)];
}

/** Queries, keys (q/k-normed where the model has q_norm/k_norm, then rotated) and values of a `model.layers` block. */
function ropeQKV(model: Model, h: tf.Tensor, l: number, rope: RopeTables): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const c = model.config;
  const a = `model.layers.${l}.self_attn.`;
  const x = norm(model, h, `model.layers.${l}.input_layernorm.weight`);
  let q0: tf.Tensor;
  let k0: tf.Tensor;
  let v0: tf.Tensor;
  if (c.arch === 'phi3') {
    const qd = c.nHeads * c.headDim;
    const kvd = c.nKvHeads * c.headDim;
    const qkv = dense(x, param(model, `${a}qkv_proj.weight`), optParam(model, `${a}qkv_proj.bias`));
    [q0, k0, v0] = tf.split(qkv, [qd, kvd, kvd], -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
  } else {
    q0 = dense(x, param(model, `${a}q_proj.weight`), optParam(model, `${a}q_proj.bias`));
    k0 = dense(x, param(model, `${a}k_proj.weight`), optParam(model, `${a}k_proj.bias`));
    v0 = dense(x, param(model, `${a}v_proj.weight`), optParam(model, `${a}v_proj.bias`));
  }
  let q: tf.Tensor = splitHeads(q0, c.nHeads, c.headDim);
  let k: tf.Tensor = splitHeads(k0, c.nKvHeads, c.headDim);
  if (c.qkNorm) {
    q = norm(model, q, `${a}q_norm.weight`);
    k = norm(model, k, `${a}k_norm.weight`);
  }
  return [applyRope(q, rope), applyRope(k, rope), splitHeads(v0, c.nKvHeads, c.headDim)];
}

/** GPT-2: output projection, residual, LayerNorm MLP, residual. */
function gpt2Rest(model: Model, h: tf.Tensor, att: tf.Tensor, l: number): tf.Tensor3D {
  const c = model.config;
  const p = `transformer.h.${l}.`;
  const residual = tf.add(h, dense(att, param(model, `${p}attn.c_proj.weight`), param(model, `${p}attn.c_proj.bias`)));
  const x = layerNorm(residual, param(model, `${p}ln_2.weight`), param(model, `${p}ln_2.bias`), c.normEps);
  const up = dense(x, param(model, `${p}mlp.c_fc.weight`), param(model, `${p}mlp.c_fc.bias`));
  const act = c.activation === 'gelu' ? geluExact(up) : geluNew(up);
  return tf.add(residual, dense(act, param(model, `${p}mlp.c_proj.weight`), param(model, `${p}mlp.c_proj.bias`))) as tf.Tensor3D;
}

/** `model.layers`: output projection (post-normed for Gemma), residual, gated MLP (SwiGLU / GeGLU, post-normed for Gemma), residual. */
function gatedRest(model: Model, h: tf.Tensor, att: tf.Tensor, l: number): tf.Tensor3D {
  const c = model.config;
  const p = `model.layers.${l}.`;
  let a = dense(att, param(model, `${p}self_attn.o_proj.weight`), optParam(model, `${p}self_attn.o_proj.bias`));
  if (c.postNorms) a = norm(model, a, `${p}post_attention_layernorm.weight`);
  const residual = tf.add(h, a);
  const x = norm(model, residual, `${p}${c.postNorms ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'}.weight`);
  const m = `${p}mlp.`;
  let g: tf.Tensor;
  let u: tf.Tensor;
  if (c.arch === 'phi3') {
    const gu = dense(x, param(model, `${m}gate_up_proj.weight`), optParam(model, `${m}gate_up_proj.bias`));
    [g, u] = tf.split(gu, 2, -1) as [tf.Tensor, tf.Tensor];
  } else {
    g = dense(x, param(model, `${m}gate_proj.weight`), optParam(model, `${m}gate_proj.bias`));
    u = dense(x, param(model, `${m}up_proj.weight`), optParam(model, `${m}up_proj.bias`));
  }
  const act = c.activation === 'silu' ? silu(g) : geluNew(g); // gelu_pytorch_tanh is gelu_new's tanh approximation
  let out = dense(tf.mul(act, u), param(model, `${m}down_proj.weight`), optParam(model, `${m}down_proj.bias`));
  if (c.postNorms) out = norm(model, out, `${p}post_feedforward_layernorm.weight`);
  return tf.add(residual, out) as tf.Tensor3D;
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
  const ropeLimit = ropePositionLimit(c);
  if (ropeLimit !== undefined && maxPos >= ropeLimit) {
    throw new Error(
      `forward: position ${maxPos} is beyond original_max_position_embeddings ${ropeLimit}, where LongRoPE switches to its long factors, which rtune does not run; use sequences (max_length) of at most ${ropeLimit} tokens`,
    );
  }
  const tokenMask = mask.map((r) => r.slice(past));
  const ctxBase = { pastLength: past, batch: B, seqLen: T, tokenMask };
  const lastLayer = opts.lastLayer ?? c.nLayers - 1;
  const idsT = tf.tensor2d(ids, [B, T], 'int32');
  const windowed = c.slidingWindow !== undefined && c.slidingLayers.some((s) => s);
  const fullBias = attentionBias(mask, past, T, undefined);
  const slidingBias = windowed ? attentionBias(mask, past, T, c.slidingWindow) : fullBias;
  const scale = 1 / Math.sqrt(c.queryPreAttnScalar ?? c.headDim);
  const newKeys: tf.Tensor4D[] = [];
  const newValues: tf.Tensor4D[] = [];

  let h: tf.Tensor3D;
  let rope: RopeTables | undefined;
  let localRope: RopeTables | undefined;
  if (c.arch === 'gpt2') {
    const posT = tf.tensor2d(pos, [B, T], 'int32');
    h = tf.add(embed(param(model, 'transformer.wte.weight'), idsT), embed(param(model, 'transformer.wpe.weight'), posT)) as tf.Tensor3D;
  } else {
    h = embed(param(model, 'model.embed_tokens.weight'), idsT) as tf.Tensor3D;
    if (c.embedScale !== 1) h = tf.mul(h, c.embedScale);
    rope = ropeTables(ropeInvFreq(c), c.rotaryDim, pos, ropeAttentionFactor(c));
    localRope = c.localRopeTheta !== undefined ? ropeTables(ropeInvFreq(c, true), c.rotaryDim, pos) : rope;
  }

  for (let l = 0; l <= lastLayer; l++) {
    h = applyTaps(opts.taps, l, 'input', h, ctxBase);
    const sliding = c.slidingLayers[l] === true && windowed;
    const [q, k0, v0] = c.arch === 'gpt2' ? gpt2QKV(model, h, l) : ropeQKV(model, h, l, (sliding ? localRope : rope) as RopeTables);
    let k = k0;
    let v = v0;
    if (opts.cache) {
      k = tf.concat([opts.cache.keys[l] as tf.Tensor4D, k], 2);
      v = tf.concat([opts.cache.values[l] as tf.Tensor4D, v], 2);
    }
    if (opts.returnCache) {
      newKeys.push(k);
      newValues.push(v);
    }
    const att = mergeHeads(attend(q, k, v, sliding ? slidingBias : fullBias, scale, c.nKvHeads, c.attnSoftcap));
    h = c.arch === 'gpt2' ? gpt2Rest(model, h, att, l) : gatedRest(model, h, att, l);
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
      ? layerNorm(hs, param(model, 'transformer.ln_f.weight'), param(model, 'transformer.ln_f.bias'), c.normEps)
      : norm(model, hs, 'model.norm.weight');
  const head = c.tieWordEmbeddings
    ? tf.transpose(param(model, c.arch === 'gpt2' ? 'transformer.wte.weight' : 'model.embed_tokens.weight'))
    : param(model, 'lm_head.weight');
  let logits = dense(normed, head) as tf.Tensor3D;
  if (c.finalSoftcap !== undefined) logits = tf.mul(tf.tanh(tf.div(logits, c.finalSoftcap)), c.finalSoftcap) as tf.Tensor3D;
  return { logits, cache };
}

/** Dispose a cache's tensors. */
export function disposeCache(cache: KVCache | undefined): void {
  if (!cache) return;
  tf.dispose([...cache.keys, ...cache.values]);
}
