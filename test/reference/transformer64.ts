/**
 * A naive float64 reference transformer (GPT-2, the Llama family, Qwen3, Phi-3, Gemma 2 and Gemma 3) for parity
 * tests, in the spirit of llm.c's CPU reference: plain loops over HF-layout weights (nn.Linear [out, in], GPT-2
 * Conv1D [in, out]), one sequence, no batching, no cache, nothing shared with the engine except the config
 * object. RoPE frequencies (llama3 and linear scaling, Gemma 3's local base), the sliding-window mask, Gemma's
 * (1 + w) norms, post-norms, scaled embeddings and soft-capping, Qwen3/Gemma 3 q/k norms and Phi-3's fused
 * projections are written here independently from transformers' modeling code.
 */
import type { ModelConfig } from '../../model/config';

export type Weights64 = Map<string, Float64Array>;

function w(ws: Weights64, name: string): Float64Array {
  const t = ws.get(name);
  if (!t) throw new Error(`reference: missing ${name}`);
  return t;
}

/** y[o] = sum_i W[o][i] x[i] (+ b[o]) for nn.Linear layout [out, in]. */
function linear(x: Float64Array, W: Float64Array, outDim: number, b?: Float64Array): Float64Array {
  const inDim = x.length;
  const y = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let s = b ? (b[o] as number) : 0;
    for (let i = 0; i < inDim; i++) s += (W[o * inDim + i] as number) * (x[i] as number);
    y[o] = s;
  }
  return y;
}

/** y[o] = sum_i x[i] W[i][o] + b[o] for Conv1D layout [in, out]. */
function conv1d(x: Float64Array, W: Float64Array, outDim: number, b: Float64Array): Float64Array {
  const y = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let s = b[o] as number;
    for (let i = 0; i < x.length; i++) s += (x[i] as number) * (W[i * outDim + o] as number);
    y[o] = s;
  }
  return y;
}

function layerNorm(x: Float64Array, g: Float64Array, b: Float64Array, eps: number): Float64Array {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let v2 = 0;
  for (const v of x) v2 += (v - m) * (v - m);
  v2 /= x.length;
  const r = 1 / Math.sqrt(v2 + eps);
  return x.map((v, i) => (v - m) * r * (g[i] as number) + (b[i] as number));
}

/** RMSNorm; Gemma's scales by (1 + g). */
function rmsNorm(x: Float64Array, g: Float64Array, eps: number, plusOne = false): Float64Array {
  let ms = 0;
  for (const v of x) ms += v * v;
  const r = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * r * ((g[i] as number) + (plusOne ? 1 : 0)));
}

/** RMSNorm of each head (width D) of x in place (Qwen3 / Gemma 3 q_norm, k_norm). */
function headNorm(x: Float64Array, D: number, g: Float64Array, eps: number, plusOne: boolean): void {
  for (let off = 0; off < x.length; off += D) x.set(rmsNorm(x.slice(off, off + D), g, eps, plusOne), off);
}

const geluTanh = (u: number): number => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u)));
const softcap = (v: number, cap: number | undefined): number => (cap === undefined ? v : cap * Math.tanh(v / cap));

function invFreq(c: ModelConfig, local: boolean): number[] {
  const R = c.rotaryDim; // partial rotary: RoPE on the first R dimensions of each head
  const half = R / 2;
  const out: number[] = [];
  const useLocal = local && c.localRopeTheta !== undefined;
  for (let i = 0; i < half; i++) {
    let f = Math.pow(useLocal ? (c.localRopeTheta as number) : c.ropeTheta, -(2 * i) / R);
    const s = useLocal ? undefined : c.ropeScaling;
    if (s?.type === 'linear') f /= s.factor;
    if (s?.type === 'longrope') f /= (s.shortFactor as number[])[i] as number;
    if (s?.type === 'llama3') {
      const lowWl = (s.originalMaxPositions as number) / (s.lowFreqFactor as number);
      const highWl = (s.originalMaxPositions as number) / (s.highFreqFactor as number);
      const wl = (2 * Math.PI) / f;
      if (wl > lowWl) f = f / s.factor;
      else if (wl >= highWl) {
        const smooth = ((s.originalMaxPositions as number) / wl - (s.lowFreqFactor as number)) / ((s.highFreqFactor as number) - (s.lowFreqFactor as number));
        f = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
    out.push(f);
  }
  return out;
}

/** rotate_half RoPE on one head vector at position p; `m` multiplies cos and sin (longrope's attention factor). */
function rope(x: Float64Array, off: number, D: number, p: number, inv: number[], m = 1): void {
  const half = D / 2;
  for (let i = 0; i < half; i++) {
    const a = p * (inv[i] as number);
    const c = Math.cos(a) * m;
    const s = Math.sin(a) * m;
    const x1 = x[off + i] as number;
    const x2 = x[off + half + i] as number;
    x[off + i] = x1 * c - x2 * s;
    x[off + half + i] = x2 * c + x1 * s;
  }
}

/** Logits [T][V] for one sequence. `addAt` optionally adds vector v to block `layer`'s output at every position. */
export function referenceLogits(c: ModelConfig, ws: Weights64, ids: number[], addAt?: { layer: number; vector: Float64Array }): Float64Array[] {
  const C = c.hiddenSize;
  const H = c.nHeads;
  const K = c.nKvHeads;
  const D = c.headDim;
  const F = c.intermediateSize;
  const T = ids.length;
  const gpt2 = c.arch === 'gpt2';
  const plus = c.normPlusOne;
  const eps = c.normEps;
  const globalInv = gpt2 ? [] : invFreq(c, false);
  const localInv = gpt2 ? [] : invFreq(c, true);
  // Gemma multiplies embeddings by sqrt(hidden) in the model's dtype: float32 here.
  const embedScale = c.embedScale === 1 ? 1 : Math.fround(Math.sqrt(C));
  let hs: Float64Array[] = ids.map((id, t) => {
    const e = w(ws, gpt2 ? 'transformer.wte.weight' : 'model.embed_tokens.weight').slice(id * C, (id + 1) * C);
    if (gpt2) {
      const pe = w(ws, 'transformer.wpe.weight');
      for (let i = 0; i < C; i++) e[i] = (e[i] as number) + (pe[t * C + i] as number);
    }
    return e.map((v) => v * embedScale);
  });
  for (let l = 0; l < c.nLayers; l++) {
    const sliding = c.slidingWindow !== undefined && c.slidingLayers[l] === true;
    const inv = sliding ? localInv : globalInv;
    const qs: Float64Array[] = [];
    const ks: Float64Array[] = [];
    const vs: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const h = hs[t] as Float64Array;
      if (gpt2) {
        const p = `transformer.h.${l}.`;
        const x = layerNorm(h, w(ws, `${p}ln_1.weight`), w(ws, `${p}ln_1.bias`), eps);
        const qkv = conv1d(x, w(ws, `${p}attn.c_attn.weight`), 3 * C, w(ws, `${p}attn.c_attn.bias`));
        qs.push(qkv.slice(0, C));
        ks.push(qkv.slice(C, 2 * C));
        vs.push(qkv.slice(2 * C));
      } else {
        const p = `model.layers.${l}.self_attn.`;
        const x = rmsNorm(h, w(ws, `model.layers.${l}.input_layernorm.weight`), eps, plus);
        let q: Float64Array;
        let k: Float64Array;
        let v: Float64Array;
        if (c.arch === 'phi3') {
          const qkv = linear(x, w(ws, `${p}qkv_proj.weight`), (H + 2 * K) * D);
          q = qkv.slice(0, H * D);
          k = qkv.slice(H * D, (H + K) * D);
          v = qkv.slice((H + K) * D);
        } else {
          q = linear(x, w(ws, `${p}q_proj.weight`), H * D, ws.get(`${p}q_proj.bias`));
          k = linear(x, w(ws, `${p}k_proj.weight`), K * D, ws.get(`${p}k_proj.bias`));
          v = linear(x, w(ws, `${p}v_proj.weight`), K * D, ws.get(`${p}v_proj.bias`));
        }
        if (c.qkNorm) {
          headNorm(q, D, w(ws, `${p}q_norm.weight`), eps, plus);
          headNorm(k, D, w(ws, `${p}k_norm.weight`), eps, plus);
        }
        const lr = c.ropeScaling?.type === 'longrope' ? c.ropeScaling : undefined;
        // LongRoPE: cos and sin times sqrt(1 + ln(max / original) / ln(original)) unless the config gives attention_factor.
        const m = lr === undefined ? 1 : (lr.attentionFactor ?? Math.sqrt(1 + Math.log(lr.factor) / Math.log(lr.originalMaxPositions as number)));
        for (let hh = 0; hh < H; hh++) rope(q, hh * D, c.rotaryDim, t, inv, m);
        for (let hh = 0; hh < K; hh++) rope(k, hh * D, c.rotaryDim, t, inv, m);
        qs.push(q);
        ks.push(k);
        vs.push(v);
      }
    }
    const scale = 1 / Math.sqrt(c.queryPreAttnScalar ?? D);
    const next: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const att = new Float64Array(H * D);
      const first = sliding ? Math.max(0, t - (c.slidingWindow as number) + 1) : 0;
      for (let hh = 0; hh < H; hh++) {
        const kh = Math.floor(hh / (H / K));
        const scores: number[] = [];
        for (let j = first; j <= t; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += ((qs[t] as Float64Array)[hh * D + d] as number) * ((ks[j] as Float64Array)[kh * D + d] as number);
          scores.push(softcap(s * scale, c.attnSoftcap));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = first; j <= t; j++) {
          const pj = (e[j - first] as number) / z;
          for (let d = 0; d < D; d++) att[hh * D + d] = (att[hh * D + d] as number) + pj * ((vs[j] as Float64Array)[kh * D + d] as number);
        }
      }
      const h = hs[t] as Float64Array;
      let out: Float64Array;
      if (gpt2) {
        const p = `transformer.h.${l}.`;
        const proj = conv1d(att, w(ws, `${p}attn.c_proj.weight`), C, w(ws, `${p}attn.c_proj.bias`));
        const r = h.map((v, i) => v + (proj[i] as number));
        const x = layerNorm(r, w(ws, `${p}ln_2.weight`), w(ws, `${p}ln_2.bias`), eps);
        const up = conv1d(x, w(ws, `${p}mlp.c_fc.weight`), F, w(ws, `${p}mlp.c_fc.bias`));
        const down = conv1d(up.map(geluTanh), w(ws, `${p}mlp.c_proj.weight`), C, w(ws, `${p}mlp.c_proj.bias`));
        out = r.map((v, i) => v + (down[i] as number));
      } else {
        const p = `model.layers.${l}.`;
        let proj = linear(att, w(ws, `${p}self_attn.o_proj.weight`), C, ws.get(`${p}self_attn.o_proj.bias`));
        if (c.postNorms) proj = rmsNorm(proj, w(ws, `${p}post_attention_layernorm.weight`), eps, plus);
        const r = h.map((v, i) => v + (proj[i] as number));
        const x = rmsNorm(r, w(ws, `${p}${c.postNorms ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'}.weight`), eps, plus);
        let g: Float64Array;
        let u: Float64Array;
        if (c.arch === 'phi3') {
          const gu = linear(x, w(ws, `${p}mlp.gate_up_proj.weight`), 2 * F);
          g = gu.slice(0, F);
          u = gu.slice(F);
        } else {
          g = linear(x, w(ws, `${p}mlp.gate_proj.weight`), F);
          u = linear(x, w(ws, `${p}mlp.up_proj.weight`), F);
        }
        const act = (v: number): number => (c.activation === 'silu' ? v / (1 + Math.exp(-v)) : geluTanh(v));
        const a = g.map((gv, i) => act(gv) * (u[i] as number));
        let down = linear(a, w(ws, `${p}mlp.down_proj.weight`), C);
        if (c.postNorms) down = rmsNorm(down, w(ws, `${p}post_feedforward_layernorm.weight`), eps, plus);
        out = r.map((v, i) => v + (down[i] as number));
      }
      if (addAt && addAt.layer === l) out = out.map((v, i) => v + (addAt.vector[i] as number));
      next.push(out);
    }
    hs = next;
  }
  return hs.map((h) => {
    const x = gpt2 ? layerNorm(h, w(ws, 'transformer.ln_f.weight'), w(ws, 'transformer.ln_f.bias'), eps) : rmsNorm(h, w(ws, 'model.norm.weight'), eps, plus);
    const head = c.tieWordEmbeddings ? w(ws, gpt2 ? 'transformer.wte.weight' : 'model.embed_tokens.weight') : w(ws, 'lm_head.weight');
    return linear(x, head, c.vocabSize).map((v) => softcap(v, c.finalSoftcap));
  });
}

/** Mean next-token cross-entropy over positions 0..T-2 (float64). */
export function referenceLoss(c: ModelConfig, ws: Weights64, ids: number[]): number {
  const logits = referenceLogits(c, ws, ids);
  let total = 0;
  for (let t = 0; t < ids.length - 1; t++) {
    const row = logits[t] as Float64Array;
    const m = Math.max(...row);
    let z = 0;
    for (const v of row) z += Math.exp(v - m);
    total += -((row[ids[t + 1] as number] as number) - m - Math.log(z));
  }
  return total / (ids.length - 1);
}
