/**
 * Aggregating contrastive activations into a steering direction (METHOD.md §4.4-4.6), in float64 on the host:
 * mean difference, PCA (pc1/pc2 of the raw activations or of the centred differences) with the research's sign
 * rule, optional project-out of a nuisance direction, normalisation, and per-layer diagnostics.
 * Inputs are N paired rows: pos[i] and neg[i] are the activations of pair i at one layer and position.
 *
 * Non-goals: capturing activations (a forward pass with capture taps does that), sklearn's randomised PCA
 * solvers (power iteration on the smaller Gram or covariance matrix is exact enough for two components).
 */

export type Vec = Float64Array;

export type { DirectionMethod } from '../../protocol/contract';
import type { DirectionMethod } from '../../protocol/contract';

export interface AggregateOptions {
  method: DirectionMethod;
  /** Which principal component (1 or 2) for the PCA methods. */
  component?: 1 | 2;
  normalize?: boolean;
  /** Remove this direction's component (e.g. the A-vs-B label direction) before normalising. */
  projectOut?: Vec;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

function scaled(a: Vec, k: number): Vec {
  return a.map((x) => x * k);
}

export function meanOf(rows: ArrayLike<number>[]): Vec {
  const C = (rows[0] as ArrayLike<number>).length;
  const m = new Float64Array(C);
  for (const r of rows) for (let j = 0; j < C; j++) m[j] = (m[j] as number) + (r[j] as number);
  return scaled(m, 1 / rows.length);
}

/** v - (v·u / |u|²) u */
export function projectOutOf(v: Vec, u: ArrayLike<number>): Vec {
  const uu = dot(u, u);
  if (uu === 0) return v.slice();
  const k = dot(v, u) / uu;
  return v.map((x, j) => x - k * (u[j] as number));
}

/**
 * Top-k principal directions of the rows of X (rows are centred here, as sklearn's PCA does), as unit vectors,
 * by power iteration with deflation on the smaller of the Gram (N x N) and covariance (C x C) matrices.
 */
export function principalComponents(X: ArrayLike<number>[], k: number): Vec[] {
  const N = X.length;
  const C = (X[0] as ArrayLike<number>).length;
  const mu = meanOf(X);
  const Z = X.map((r) => Float64Array.from({ length: C }, (_, j) => (r[j] as number) - (mu[j] as number)));
  const useGram = N <= C;
  const D = useGram ? N : C;
  const M = new Float64Array(D * D);
  if (useGram) {
    for (let i = 0; i < N; i++) for (let j = i; j < N; j++) M[i * D + j] = M[j * D + i] = dot(Z[i] as Vec, Z[j] as Vec);
  } else {
    for (const z of Z) for (let a = 0; a < C; a++) for (let b = 0; b < C; b++) M[a * D + b] = (M[a * D + b] as number) + (z[a] as number) * (z[b] as number);
  }
  const out: Vec[] = [];
  const found: Vec[] = [];
  for (let c = 0; c < k; c++) {
    // Deterministic start, orthogonalised against components already found.
    let v: Vec = Float64Array.from({ length: D }, (_, i) => 1 / Math.sqrt(D) + (i % 7) * 1e-3);
    let lambda = 0;
    for (let it = 0; it < 1000; it++) {
      for (const f of found) v = projectOutOf(v, f);
      const w = new Float64Array(D);
      for (let i = 0; i < D; i++) {
        let s = 0;
        for (let j = 0; j < D; j++) s += (M[i * D + j] as number) * (v[j] as number);
        w[i] = s;
      }
      for (const f of found) {
        const kf = dot(w, f);
        for (let i = 0; i < D; i++) w[i] = (w[i] as number) - kf * (f[i] as number);
      }
      const n = norm(w);
      if (n === 0) break;
      const next = scaled(w, 1 / n);
      const diff = norm(next.map((x, i) => x - (v[i] as number)));
      v = next;
      lambda = n;
      if (diff < 1e-12) break;
    }
    found.push(v);
    // Map a Gram eigenvector back to feature space: u = Z^T a / |Z^T a|.
    let u: Vec;
    if (useGram) {
      u = new Float64Array(C);
      for (let i = 0; i < N; i++) for (let j = 0; j < C; j++) u[j] = (u[j] as number) + (v[i] as number) * ((Z[i] as Vec)[j] as number);
      const n = norm(u);
      u = n > 0 ? scaled(u, 1 / n) : u;
    } else u = v;
    void lambda;
    out.push(u);
  }
  return out;
}

/**
 * Sign rule (METHOD.md §4.4): flip v when positives project below their negatives more often than above.
 */
export function orientBySign(v: Vec, pos: ArrayLike<number>[], neg: ArrayLike<number>[]): Vec {
  let below = 0;
  let above = 0;
  for (let i = 0; i < pos.length; i++) {
    const d = dot(pos[i] as ArrayLike<number>, v) - dot(neg[i] as ArrayLike<number>, v);
    if (d < 0) below++;
    else if (d > 0) above++;
  }
  return below > above ? scaled(v, -1) : v;
}

/** One direction from N paired activations at one layer and position. */
export function aggregate(pos: ArrayLike<number>[], neg: ArrayLike<number>[], opts: AggregateOptions): Vec {
  if (pos.length === 0 || pos.length !== neg.length) throw new Error(`aggregate: need N > 0 paired rows, got ${pos.length} and ${neg.length}`);
  const C = (pos[0] as ArrayLike<number>).length;
  const diffs = pos.map((p, i) => Float64Array.from({ length: C }, (_, j) => (p[j] as number) - ((neg[i] as ArrayLike<number>)[j] as number)));
  let v: Vec;
  if (opts.method === 'meandiff') v = meanOf(diffs);
  else {
    const comp = opts.component ?? 1;
    const pcs = principalComponents(opts.method === 'pca' ? [...pos, ...neg] : diffs, comp);
    v = orientBySign(pcs[comp - 1] as Vec, pos, neg);
  }
  if (opts.projectOut) v = projectOutOf(v, opts.projectOut);
  if (opts.normalize ?? true) {
    const n = norm(v);
    if (n > 0) v = scaled(v, 1 / n);
  }
  return v;
}

export interface Separation {
  /** Fraction of pairs whose positive projects higher onto v than its negative. */
  accuracy: number;
  /** (mean proj pos - mean proj neg) / pooled standard deviation of the projections. */
  effectSize: number;
  meanCosPos: number;
  meanCosNeg: number;
}

/** How well v separates the pairs (the per-layer diagnostic of METHOD.md §4.6). */
export function separation(v: ArrayLike<number>, pos: ArrayLike<number>[], neg: ArrayLike<number>[]): Separation {
  const vn = norm(v) || 1;
  const pp = pos.map((r) => dot(r, v) / vn);
  const pn = neg.map((r) => dot(r, v) / vn);
  const cos = (rows: ArrayLike<number>[]) => rows.reduce((s, r) => s + dot(r, v) / (vn * (norm(r) || 1)), 0) / rows.length;
  let higher = 0;
  for (let i = 0; i < pp.length; i++) if ((pp[i] as number) > (pn[i] as number)) higher++;
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const variance = (a: number[], m: number) => a.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, a.length - 1);
  const mp = mean(pp);
  const mn = mean(pn);
  const pooled = Math.sqrt((variance(pp, mp) + variance(pn, mn)) / 2);
  return { accuracy: higher / pp.length, effectSize: pooled > 0 ? (mp - mn) / pooled : 0, meanCosPos: cos(pos), meanCosNeg: cos(neg) };
}
