/**
 * Reading fields of a parsed Hugging Face `config.json`: the error type that names the file, and typed field
 * readers shared by the per-architecture normalisers (config.ts, config-gemma.ts). Imports nothing.
 */

export class ModelConfigError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ModelConfigError';
  }
}

export type Json = Record<string, unknown>;

export function num(cfg: Json, file: string, keys: string[], fallback?: number): number {
  for (const k of keys) {
    const v = cfg[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  if (fallback !== undefined) return fallback;
  throw new ModelConfigError(file, `missing numeric field ${keys.map((k) => `"${k}"`).join(' or ')}`);
}

/**
 * A field that may be a number or null: absent → `fallback`, null → undefined (Gemma's soft-capping fields,
 * whose defaults differ between Gemma 2 and Gemma 3 and which a config turns off with null).
 */
export function optionalNum(cfg: Json, file: string, key: string, fallback: number | undefined): number | undefined {
  if (!(key in cfg)) return fallback;
  const v = cfg[key];
  if (v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  throw new ModelConfigError(file, `"${key}" must be a positive number or null, found ${JSON.stringify(v)}`);
}

export function firstId(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

export function positiveInt(file: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new ModelConfigError(file, `"${name}" must be a positive integer, found ${v}`);
  return v;
}

/**
 * Per-layer attention kinds from `layer_types` ("sliding_attention" / "full_attention", transformers ≥ 4.53), as
 * booleans (true = sliding), or undefined when the config has none.
 */
export function layerTypes(cfg: Json, file: string, nLayers: number): boolean[] | undefined {
  const lt = cfg['layer_types'];
  if (lt === undefined || lt === null) return undefined;
  if (!Array.isArray(lt) || lt.length !== nLayers || lt.some((t) => t !== 'sliding_attention' && t !== 'full_attention')) {
    throw new ModelConfigError(file, `"layer_types" must list "sliding_attention" or "full_attention" for each of the ${nLayers} layers`);
  }
  return lt.map((t) => t === 'sliding_attention');
}

/** Attention shape fields shared by every RoPE architecture; head_dim may differ from hidden/heads (Qwen3, Gemma). */
export function attentionShape(cfg: Json, file: string): { hidden: number; nHeads: number; nKvHeads: number; headDim: number } {
  const hidden = positiveInt(file, 'hidden_size', num(cfg, file, ['hidden_size']));
  const nHeads = positiveInt(file, 'num_attention_heads', num(cfg, file, ['num_attention_heads']));
  const nKvHeads = positiveInt(file, 'num_key_value_heads', num(cfg, file, ['num_key_value_heads'], nHeads));
  if (nHeads % nKvHeads !== 0) {
    throw new ModelConfigError(file, `num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`);
  }
  const headDim = num(cfg, file, ['head_dim'], hidden / nHeads);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new ModelConfigError(file, `head_dim ${headDim} must be an even integer`);
  return { hidden, nHeads, nKvHeads, headDim };
}
