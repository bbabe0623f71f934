/**
 * The two losses of representation tuning (METHOD.md §7) and the gradient routing between them.
 *
 * Token loss: cross-entropy on the answer token, against a hard target (the intended letter) or the soft
 * 50/50 A/B target (minimum ln 2). Projection loss: cosine between block outputs at the anchored positions and
 * the direction, "in" = (1 - cos)/2 (pull towards v) or, with a margin m, relu(m - cos), "out" = |cos| (make
 * orthogonal); `flip` negates v.
 * Both are averaged over batch, layers and positions.
 *
 * Routing: the research code meant the token loss to train some blocks and the projection loss others, but its
 * zero-grad hooks were no-ops (METHOD.md §11 item 1). Here routing is real: each loss is differentiated only
 * with respect to its own parameter group (plus the shared one), so a token-only block receives exactly zero
 * projection gradient and vice versa. A block that is a column slice of a tensor (GPT-2's q, k, v in
 * attn.c_attn) routes by a column mask: that loss's gradient is zeroed outside its columns. The token loss can be
 * gated (`skip_below`): below the threshold it is not back-propagated that step, as the research's June version
 * did near the soft target's minimum ln 2.
 */
import * as tf from '@tensorflow/tfjs';
import { pickLogProbs } from '../model/loss';
import type { TuneMode } from '../../protocol/contract';

/** The contract's tune mode. */
export type ProjectionMode = TuneMode;

/**
 * Projection loss. `acts[layer]` is [B, P, C] (captured block outputs at P positions), `dirs[layer]` is [P, C]
 * (one direction per position) or [C] (one for all positions). Returns the scalar loss and the mean cosine per
 * layer (for the per-layer heatmap).
 */
export function projectionLoss(
  acts: Map<number, tf.Tensor>,
  dirs: Map<number, tf.Tensor>,
  mode: ProjectionMode,
  flip = false,
  margin?: number,
): { loss: tf.Scalar; cosine: Map<number, tf.Scalar> } {
  const terms: tf.Tensor[] = [];
  const cosine = new Map<number, tf.Scalar>();
  for (const [layer, h] of acts) {
    const d = dirs.get(layer);
    if (!d) throw new Error(`projectionLoss: no direction for layer ${layer}`);
    const v = flip ? tf.neg(d) : d;
    const vn = tf.div(v, tf.add(tf.norm(v, 'euclidean', -1, true), 1e-12)); // [P,C] or [C]
    const hn = tf.div(h, tf.add(tf.norm(h, 'euclidean', -1, true), 1e-12)); // [B,P,C]
    const cos = tf.sum(tf.mul(hn, vn), -1); // [B,P]
    cosine.set(layer, tf.mean(cos) as tf.Scalar);
    // "in" with a margin: relu(margin - cos), which stops pushing once the cosine reaches the margin (METHOD §11.2).
    terms.push(mode === 'in' ? (margin !== undefined ? tf.relu(tf.sub(margin, cos)) : tf.div(tf.sub(1, cos), 2)) : tf.abs(cos));
  }
  if (terms.length === 0) throw new Error('projectionLoss: no layers');
  return { loss: tf.mean(tf.stack(terms)) as tf.Scalar, cosine };
}

/**
 * Token loss on answer logits [B, V]: hard targets (one id per row), or the soft 50/50 target over two ids
 * (idA, idB), whose minimum is ln 2 when p(A) = p(B) = 1/2 and every other token has probability 0.
 */
export function tokenLoss(answerLogits: tf.Tensor2D, target: { hard: number[] } | { soft: [number, number] }): tf.Scalar {
  const B = answerLogits.shape[0];
  if ('hard' in target) {
    if (target.hard.length !== B) throw new Error(`tokenLoss: ${target.hard.length} targets for ${B} rows`);
    return tf.neg(tf.mean(pickLogProbs(answerLogits, target.hard))) as tf.Scalar;
  }
  const [a, b] = target.soft;
  const la = pickLogProbs(answerLogits, new Array<number>(B).fill(a));
  const lb = pickLogProbs(answerLogits, new Array<number>(B).fill(b));
  return tf.neg(tf.mean(tf.mul(tf.add(la, lb), 0.5))) as tf.Scalar;
}

export interface RoutedGroups {
  /** Trained by the token loss only. */
  token: tf.Variable[];
  /** Trained by the projection loss only. */
  projection: tf.Variable[];
  /** Trained by both (weighted sum of the two gradients). */
  shared: tf.Variable[];
  /**
   * Per loss, variable name → 0/1 mask broadcast against the gradient (a [columns] vector for a column slice):
   * the loss trains only where the mask is 1. A variable without a mask gets that loss's whole gradient.
   */
  masks?: { token?: ReadonlyMap<string, tf.Tensor>; projection?: ReadonlyMap<string, tf.Tensor> };
}

/**
 * Gradients with real routing: d(wTok * Ltok)/d(token ∪ shared) + d(wProj * Lproj)/d(projection ∪ shared).
 * Two backward passes (one per loss) when both groups are non-empty; each `f` builds its loss from scratch
 * (the projection pass can stop at the deepest tuned layer). Returns the summed gradients keyed by variable
 * name, and both loss values.
 *
 * `skipTokenBelow` (token_loss.skip_below): when the token loss is below it, its gradient is dropped, so the
 * token-only blocks get no gradient at all this step (the optimiser leaves them and their state untouched) and
 * the shared blocks get only the projection gradient; `tokenSkipped` says so.
 */
export async function routedGrads(
  groups: RoutedGroups,
  fTok: () => tf.Scalar,
  fProj: () => tf.Scalar,
  wTok: number,
  wProj: number,
  opts: { skipTokenBelow?: number | undefined } = {},
): Promise<{ grads: Record<string, tf.Tensor>; tokenLoss: tf.Scalar; projectionLoss: tf.Scalar; tokenSkipped: boolean }> {
  const tokVars = [...groups.token, ...groups.shared];
  const projVars = [...groups.projection, ...groups.shared];
  const all = new Set([...tokVars, ...projVars]);
  const before = new Map([...all].map((v) => [v, v.trainable]));
  // variableGrads differentiates only trainable variables; mark exactly the ones of this pass.
  const setTrainable = (vs: tf.Variable[]): void => {
    const on = new Set(vs);
    for (const v of all) v.trainable = on.has(v);
  };
  const grads: Record<string, tf.Tensor> = {};
  const add = (g: Record<string, tf.Tensor>): void => {
    for (const [k, t] of Object.entries(g)) {
      const prev = grads[k];
      if (prev) {
        grads[k] = tf.add(prev, t);
        prev.dispose();
        t.dispose();
      } else grads[k] = t;
    }
  };
  // One backward pass per loss, over that loss's variables only; a loss with no variables (or weight 0) is
  // still evaluated for reporting.
  const pass = (
    vars: tf.Variable[],
    f: () => tf.Scalar,
    w: number,
    masks: ReadonlyMap<string, tf.Tensor> | undefined,
  ): { value: tf.Scalar; grads: Record<string, tf.Tensor> } => {
    if (vars.length === 0 || w === 0) return { value: tf.tidy(() => f()), grads: {} };
    setTrainable(vars);
    const r = tf.variableGrads(() => tf.mul(f(), w) as tf.Scalar, vars);
    const value = tf.div(r.value, w) as tf.Scalar;
    r.value.dispose();
    for (const [k, g] of Object.entries(r.grads)) {
      const m = masks?.get(k);
      if (m === undefined) continue;
      r.grads[k] = tf.mul(g, m);
      g.dispose();
    }
    return { value, grads: r.grads };
  };
  let tokenValue: tf.Scalar;
  let projValue: tf.Scalar;
  let tokenSkipped = false;
  try {
    const tok = pass(tokVars, fTok, wTok, groups.masks?.token);
    tokenValue = tok.value;
    if (opts.skipTokenBelow !== undefined && Object.keys(tok.grads).length > 0 && ((await tok.value.data())[0] as number) < opts.skipTokenBelow) {
      tf.dispose(Object.values(tok.grads));
      tokenSkipped = true;
    } else add(tok.grads);
    const proj = pass(projVars, fProj, wProj, groups.masks?.projection);
    projValue = proj.value;
    add(proj.grads);
  } finally {
    for (const [v, t] of before) v.trainable = t;
  }
  return { grads, tokenLoss: tokenValue, projectionLoss: projValue, tokenSkipped };
}
