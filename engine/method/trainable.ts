/**
 * What a tuning run trains, as tensors. Each loss's blocks resolve to parameter slices (model/blocks.ts
 * `resolveBlocks`: whole tensors, or column ranges of a fused one such as GPT-2's q, k and v in attn.c_attn);
 * here they become the routed variable groups of losses.ts (token-only, projection-only, shared), a gradient
 * mask per loss for every partly trained variable, and AdamW groups whose per-column learning-rate scale is
 * the token rate on token-only columns, the projection rate on projection (and shared) columns and 0 on
 * untrained columns, so those stay bit-identical: no update and no weight decay.
 * Non-goals: the training loop (tune.ts), choosing blocks (search.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { FAMILY_NAMES, mergeSlices, missingBlocks, resolveBlocks } from '../../model/blocks';
import type { Model } from '../model/forward';
import type { ParamGroup } from '../train/adamw';
import type { RoutedGroups } from './losses';

type Ranges = Array<[number, number]> | undefined;

export interface Trainable {
  /** Routed groups with their gradient masks (keyed by tf variable name). */
  groups: RoutedGroups;
  /** AdamW parameter groups (token lr, projection lr), with per-column scales for partly trained variables. */
  optimiser: ParamGroup[];
  /** Every variable either loss trains (any of its columns), in parameter order. */
  vars: tf.Variable[];
  /** HF names of those variables. */
  names: string[];
  dispose(): void;
}

/** HF names of the parameters that `blocks` at `layers` train (any of their columns), in parameter order. */
export function blockParams(model: Model, blocks: readonly string[], layers: readonly number[]): string[] {
  return [...mergeSlices(model.config, resolveBlocks(model.config, blocks, layers)).keys()];
}

/** Throws, naming the blocks and the fix, when `blocks` names a block the model's architecture lacks. */
export function checkBlocks(model: Model, what: string, blocks: readonly string[]): void {
  const lacking = missingBlocks(model.config.arch, blocks);
  if (lacking.length > 0) {
    throw new Error(`${what} [${blocks.join(', ')}]: ${FAMILY_NAMES[model.config.arch]} has no \`${lacking.join('`, `')}\` block; remove it from the list`);
  }
}

/** Per-column values over `width` columns: `inside` on the ranges, `outside` elsewhere. */
function columnValues(width: number, ranges: Array<[number, number]>, inside: number, outside: number): Float32Array {
  const out = new Float32Array(width).fill(outside);
  for (const [a, b] of ranges) out.fill(inside, a, b);
  return out;
}

const covers = (r: Ranges, col: number): boolean => r === undefined || r.some(([a, b]) => col >= a && col < b);

/**
 * The trainable state of a run. `tokenLrScale` = lr_token / lr (the token-only columns' rate relative to the
 * projection group's).
 */
export function trainable(
  model: Model,
  tokenBlocks: readonly string[],
  projectionBlocks: readonly string[],
  layers: readonly number[],
  tokenLrScale: number,
  weightDecay: number,
): Trainable {
  const c = model.config;
  checkBlocks(model, 'token blocks', tokenBlocks);
  checkBlocks(model, 'projection blocks', projectionBlocks);
  const tok = mergeSlices(c, resolveBlocks(c, tokenBlocks, layers));
  const proj = mergeSlices(c, resolveBlocks(c, projectionBlocks, layers));
  const names = [...new Set([...tok.keys(), ...proj.keys()])];
  const groups: RoutedGroups = { token: [], projection: [], shared: [], masks: { token: new Map(), projection: new Map() } };
  const tokenScales = new Map<string, tf.Tensor>();
  const projScales = new Map<string, tf.Tensor>();
  const owned: tf.Tensor[] = [];
  const keep = (t: tf.Tensor): tf.Tensor => {
    owned.push(t);
    return t;
  };
  const vars = names.map((n) => {
    const v = model.params.get(n);
    if (!v) throw new Error(`tune: parameter ${n} is not loaded`);
    return v;
  });
  names.forEach((name, i) => {
    const v = vars[i] as tf.Variable;
    const width = v.shape[v.shape.length - 1] as number;
    const inTok = tok.has(name);
    const inProj = proj.has(name);
    const t = tok.get(name);
    const p = proj.get(name);
    (inTok && inProj ? groups.shared : inTok ? groups.token : groups.projection).push(v);
    if (inTok && t !== undefined) (groups.masks?.token as Map<string, tf.Tensor>).set(v.name, keep(tf.tensor1d(columnValues(width, t, 1, 0))));
    if (inProj && p !== undefined) (groups.masks?.projection as Map<string, tf.Tensor>).set(v.name, keep(tf.tensor1d(columnValues(width, p, 1, 0))));
    if (!inProj) {
      if (t !== undefined) tokenScales.set(v.name, keep(tf.tensor1d(columnValues(width, t, 1, 0))));
    } else if (p !== undefined) {
      // Projection (and shared) columns at the projection rate, token-only columns at the token rate, the rest frozen.
      const scale = Float32Array.from({ length: width }, (_, col) => (covers(p, col) ? 1 : inTok && covers(t, col) ? tokenLrScale : 0));
      projScales.set(v.name, keep(tf.tensor1d(scale)));
    }
  });
  const optimiser: ParamGroup[] = [
    { name: 'token', vars: groups.token, weightDecay, lrScale: tokenLrScale, scales: tokenScales },
    { name: 'projection+shared', vars: [...groups.projection, ...groups.shared], weightDecay, scales: projScales },
  ];
  return { groups, optimiser, vars, names, dispose: () => tf.dispose(owned) };
}
