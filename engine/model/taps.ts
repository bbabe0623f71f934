/**
 * Ready-made taps on the forward pass (engine/model/forward.ts): read activations, add a vector (steering),
 * project out a direction (ablation). Positions are absolute token positions per batch row, so a tap means the
 * same thing with or without a KV cache; padding positions are never touched (METHOD.md §11 item 11).
 */
import * as tf from '@tensorflow/tfjs';
import type { Tap, TapContext, TapSite } from './forward';
import { gatherRows } from './ops';

/** Which positions a tap acts on: every real token, or explicit absolute positions per batch row. */
export type PositionSelector = 'all' | number[][];

/** [B, T, 1] mask: 1 at selected real-token positions of this call. */
function positionMask(sel: PositionSelector, ctx: TapContext): tf.Tensor3D {
  const { batch: B, seqLen: T, pastLength: past, tokenMask } = ctx;
  const data = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const real = tokenMask[b] as number[];
    if (sel === 'all') {
      for (let t = 0; t < T; t++) data[b * T + t] = real[t] ? 1 : 0;
    } else {
      for (const p of sel[b] ?? []) {
        const t = p - past;
        if (t >= 0 && t < T && real[t]) data[b * T + t] = 1;
      }
    }
  }
  return tf.tensor3d(data, [B, T, 1]);
}

/**
 * Capture the residual stream at `positions` ([B][P] absolute positions within this call; a cache is not
 * supported for captures) into `into[key]` as [B, P, C]. Gradients flow through it when the forward pass
 * runs under tf.variableGrads, so losses can be built on captured activations.
 */
export function captureTap(layer: number, site: TapSite, positions: number[][] | 'all', into: Record<string, tf.Tensor>, key = `${site}.${layer}`): Tap {
  return {
    layer,
    site,
    fn: (h, ctx) => {
      if (positions === 'all') {
        into[key] = h;
        return;
      }
      const { batch: B, seqLen: T, pastLength: past } = ctx;
      if (past !== 0) throw new Error('captureTap: capture positions with a KV cache are not supported');
      const P = (positions[0] as number[]).length;
      const rows: number[] = [];
      for (let b = 0; b < B; b++) {
        const ps = positions[b] as number[];
        if (ps.length !== P) throw new Error('captureTap: every row needs the same number of positions');
        for (const p of ps) {
          if (p < 0 || p >= T) throw new Error(`captureTap: position ${p} is outside the sequence (length ${T})`);
          rows.push(b * T + p);
        }
      }
      const C = h.shape[2];
      const flat = tf.reshape(h, [B * T, C]);
      // gather with a scatterND gradient (wasm-safe), see ops.ts.
      into[key] = tf.reshape(gatherRows(flat, rows), [B, P, C]);
    },
  };
}

/** Add `scale * vector` ([C]) to the residual stream at the selected positions (steering). */
export function addTap(layer: number, site: TapSite, vector: tf.Tensor1D, scale = 1, positions: PositionSelector = 'all'): Tap {
  return {
    layer,
    site,
    fn: (h, ctx) => {
      const m = positionMask(positions, ctx);
      return tf.add(h, tf.mul(m, tf.mul(vector, scale))) as tf.Tensor3D;
    },
  };
}

/** Remove the component along `direction` ([C], any norm) at the selected positions: h - (h·u)u, u = d/|d|. */
export function projectOutTap(layer: number, site: TapSite, direction: tf.Tensor1D, positions: PositionSelector = 'all'): Tap {
  return {
    layer,
    site,
    fn: (h, ctx) => {
      const u = tf.div(direction, tf.norm(direction));
      const proj = tf.sum(tf.mul(h, u), -1, true); // [B,T,1]
      const m = positionMask(positions, ctx);
      return tf.sub(h, tf.mul(m, tf.mul(proj, u))) as tf.Tensor3D;
    },
  };
}
