/**
 * Rotary position embeddings as transformers computes them: `rope_scaling` (or transformers 5's
 * `rope_parameters`) read into a RopeScaling, the inverse frequencies with linear, llama3 or longrope scaling, and
 * longrope's cos/sin multiplier. LongRoPE (Phi-3 128k, Phi-3.5) switches to its long factors past
 * original_max_position_embeddings: rtune runs the short factors and refuses longer positions (forward.ts).
 * Schemes that change with the sequence length everywhere (dynamic, yarn) are refused with a clear error rather
 * than approximated. Imports only ModelConfig types.
 */
import type { ModelConfig, RopeScaling } from './config';
import { ModelConfigError, num, type Json } from './config-json';

const LONG_ROPE = ['yarn', 'dynamic'];

/** What longrope needs from the rest of config.json: the context lengths, and the number of frequencies. */
export interface RopeContext {
  maxPositions: number;
  /** The top-level original_max_position_embeddings (Phi-3), when present. */
  originalMaxPositions: number | undefined;
  halfHeadDim: number;
}

function factors(r: Json, file: string, field: string, key: string, n: number): number[] {
  const v = r[key];
  if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== 'number' || !(x > 0))) {
    throw new ModelConfigError(file, `${field}.${key} must list ${n} positive numbers (one per RoPE frequency, head_dim / 2)`);
  }
  return v as number[];
}

/** transformers' _compute_longrope_parameters: Phi-3 derives the factor from the two context lengths. */
function longrope(r: Json, file: string, field: string, ctx: RopeContext | undefined): RopeScaling {
  if (ctx === undefined) throw new ModelConfigError(file, `${field} type "longrope" is supported for Phi-3 only`);
  const original = ctx.originalMaxPositions ?? num(r, file, ['original_max_position_embeddings'], ctx.maxPositions);
  const factor = ctx.originalMaxPositions !== undefined ? ctx.maxPositions / ctx.originalMaxPositions : num(r, file, ['factor'], 1);
  const given = r['attention_factor'];
  const attentionFactor = typeof given === 'number' ? given : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
  return {
    type: 'longrope',
    factor,
    originalMaxPositions: original,
    shortFactor: factors(r, file, field, 'short_factor', ctx.halfHeadDim),
    longFactor: factors(r, file, field, 'long_factor', ctx.halfHeadDim),
    attentionFactor,
  };
}

/** A `rope_scaling` object (null / absent / "default" → undefined). `ctx`: for longrope (Phi-3). */
export function parseRopeScaling(rs: unknown, file: string, field = 'rope_scaling', ctx?: RopeContext): RopeScaling | undefined {
  if (!rs || typeof rs !== 'object') return undefined;
  const r = rs as Json;
  const type = r['rope_type'] ?? r['type'];
  // "su" is what the first Phi-3 128k configs called longrope.
  if (type === 'longrope' || type === 'su') return longrope(r, file, field, ctx);
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: num(r, file, ['factor']),
      lowFreqFactor: num(r, file, ['low_freq_factor'], 1),
      highFreqFactor: num(r, file, ['high_freq_factor'], 4),
      originalMaxPositions: num(r, file, ['original_max_position_embeddings'], 8192),
    };
  }
  if (type === 'linear') return { type: 'linear', factor: num(r, file, ['factor']) };
  if (type === 'default' || type === undefined) return undefined;
  if (typeof type === 'string' && LONG_ROPE.includes(type)) {
    throw new ModelConfigError(
      file,
      `${field} type "${type}" is not supported (long-context RoPE that depends on the sequence length): ` +
        'use a model whose RoPE is unscaled or has linear, llama3 or longrope scaling',
    );
  }
  throw new ModelConfigError(file, `${field} type "${String(type)}" is not supported (llama3, linear, longrope)`);
}

/**
 * RoPE inverse frequencies (length rotaryDim/2), with llama3, linear or longrope scaling applied as transformers does.
 * `local`: the frequencies of sliding-window layers where they differ (Gemma 3's rope_local_base_freq, unscaled).
 */
export function ropeInvFreq(c: ModelConfig, local = false): Float64Array {
  const half = c.rotaryDim / 2;
  const inv = new Float64Array(half);
  const theta = local && c.localRopeTheta !== undefined ? c.localRopeTheta : c.ropeTheta;
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / c.rotaryDim);
  const s = local && c.localRopeTheta !== undefined ? undefined : c.ropeScaling;
  if (s?.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = (inv[i] as number) / s.factor;
  } else if (s?.type === 'longrope') {
    for (let i = 0; i < half; i++) inv[i] = (inv[i] as number) / ((s.shortFactor as number[])[i] as number);
  } else if (s?.type === 'llama3') {
    // transformers' _compute_llama3_parameters.
    const low = s.lowFreqFactor ?? 1;
    const high = s.highFreqFactor ?? 4;
    const oldCtx = s.originalMaxPositions ?? 8192;
    const lowFreqWavelen = oldCtx / low;
    const highFreqWavelen = oldCtx / high;
    for (let i = 0; i < half; i++) {
      const f = inv[i] as number;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowFreqWavelen) inv[i] = f / s.factor;
      else if (wavelen >= highFreqWavelen) {
        const smooth = (oldCtx / wavelen - low) / (high - low);
        inv[i] = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
  }
  return inv;
}

/**
 * The RoPE base and scaling of a config: `rope_theta` and `rope_scaling`, or transformers 5's `rope_parameters`
 * (one object with rope_theta and the scaling fields, or, for per-layer-type RoPE such as Gemma 3's, one such
 * object per layer type: `layerType` picks it).
 */
export function ropeFields(
  cfg: Json,
  file: string,
  defaultTheta: number,
  layerType?: string,
  ctx?: RopeContext,
): { theta: number; scaling: RopeScaling | undefined } {
  const rp = cfg['rope_parameters'];
  if (rp && typeof rp === 'object') {
    const all = rp as Json;
    const own = layerType !== undefined ? all[layerType] : undefined;
    const r = own && typeof own === 'object' ? (own as Json) : all;
    return { theta: num(r, file, ['rope_theta'], num(cfg, file, ['rope_theta'], defaultTheta)), scaling: parseRopeScaling(r, file, 'rope_parameters', ctx) };
  }
  return { theta: num(cfg, file, ['rope_theta'], defaultTheta), scaling: parseRopeScaling(cfg['rope_scaling'], file, 'rope_scaling', ctx) };
}

/** The multiplier of RoPE's cos and sin (longrope's attention factor; 1 otherwise). */
export function ropeAttentionFactor(c: ModelConfig): number {
  return c.ropeScaling?.type === 'longrope' ? (c.ropeScaling.attentionFactor ?? 1) : 1;
}

/**
 * Positions RoPE covers as configured: longrope's short factors hold up to original_max_position_embeddings
 * (transformers switches to the long factors past it); undefined = no limit of RoPE's own.
 */
export function ropePositionLimit(c: ModelConfig): number | undefined {
  return c.ropeScaling?.type === 'longrope' ? c.ropeScaling.originalMaxPositions : undefined;
}
