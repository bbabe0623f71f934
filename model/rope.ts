/**
 * Rotary position embeddings as transformers computes them: `rope_scaling` (or transformers 5's
 * `rope_parameters`) read into a RopeScaling, and the inverse frequencies with linear or llama3 scaling.
 * Long-context schemes that change with the sequence length (longrope, dynamic, yarn) are refused with a clear
 * error rather than approximated. Imports only ModelConfig types.
 */
import type { ModelConfig, RopeScaling } from './config';
import { ModelConfigError, num, type Json } from './config-json';

const LONG_ROPE = ['longrope', 'su', 'yarn', 'dynamic'];

/** A `rope_scaling` object (null / absent / "default" → undefined). */
export function parseRopeScaling(rs: unknown, file: string, field = 'rope_scaling'): RopeScaling | undefined {
  if (!rs || typeof rs !== 'object') return undefined;
  const r = rs as Json;
  const type = r['rope_type'] ?? r['type'];
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
        'use the short-context variant of the model (e.g. microsoft/Phi-3-mini-4k-instruct rather than -128k), whose RoPE is unscaled, or one with linear or llama3 scaling',
    );
  }
  throw new ModelConfigError(file, `${field} type "${String(type)}" is not supported (llama3, linear)`);
}

/**
 * RoPE inverse frequencies (length headDim/2), with llama3 or linear scaling applied as transformers does.
 * `local`: the frequencies of sliding-window layers where they differ (Gemma 3's rope_local_base_freq, unscaled).
 */
export function ropeInvFreq(c: ModelConfig, local = false): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  const theta = local && c.localRopeTheta !== undefined ? c.localRopeTheta : c.ropeTheta;
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / c.headDim);
  const s = local && c.localRopeTheta !== undefined ? undefined : c.ropeScaling;
  if (s?.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = (inv[i] as number) / s.factor;
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
export function ropeFields(cfg: Json, file: string, defaultTheta: number, layerType?: string): { theta: number; scaling: RopeScaling | undefined } {
  const rp = cfg['rope_parameters'];
  if (rp && typeof rp === 'object') {
    const all = rp as Json;
    const own = layerType !== undefined ? all[layerType] : undefined;
    const r = own && typeof own === 'object' ? (own as Json) : all;
    return { theta: num(r, file, ['rope_theta'], num(cfg, file, ['rope_theta'], defaultTheta)), scaling: parseRopeScaling(r, file, 'rope_parameters') };
  }
  return { theta: num(cfg, file, ['rope_theta'], defaultTheta), scaling: parseRopeScaling(cfg['rope_scaling'], file) };
}
