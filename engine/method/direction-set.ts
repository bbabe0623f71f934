/**
 * A direction set: one unit vector per extracted layer and anchored position (offset), built from captured
 * contrastive activations, with the per-cell separation diagnostics; and the cosine measurements the job layer
 * reports against it (mean cosine per layer × position, per-prompt cosine at one position). Host float math on
 * top of directions.ts. Non-goals: capturing activations (extract.ts), files (export/directions.ts).
 */
import type { Component, DirectionMethod } from '../../protocol/contract';
import { aggregate, dot, norm, separation } from './directions';
import type { Activations } from './extract';

export interface DirectionSet {
  readonly layers: readonly number[];
  /** Positions relative to the anchor, in extraction order. */
  readonly offsets: readonly number[];
  /** vectors.get(layer)[k] = unit direction at offsets[k]. */
  readonly vectors: ReadonlyMap<number, readonly Float32Array[]>;
}

export interface BuiltDirectionSet extends DirectionSet {
  /** separation[i][k]: share of pairs whose positive side projects above the negative, layer i, offset k. */
  readonly separation: number[][];
  /** Cohen's d of the projections, same shape. */
  readonly effectSize: number[][];
}

export interface BuildOptions {
  method: DirectionMethod;
  component: Component;
  normalise: boolean;
  /** A nuisance direction to remove at a layer and offset (project_out), or undefined. */
  nuisance?: (layer: number, offset: number) => Float64Array | undefined;
}

/** Aggregate paired activations (pos/neg captured at `layers` × `offsets`) into a direction set. */
export function buildDirectionSet(
  pos: Activations,
  neg: Activations,
  layers: readonly number[],
  offsets: readonly number[],
  o: BuildOptions,
): BuiltDirectionSet {
  const vectors = new Map<number, Float32Array[]>();
  const sepTable: number[][] = [];
  const effectTable: number[][] = [];
  for (const l of layers) {
    const per: Float32Array[] = [];
    const seps: number[] = [];
    const effects: number[] = [];
    offsets.forEach((offset, k) => {
      const P = (pos.get(l) as Float32Array[][])[k] as Float32Array[];
      const N = (neg.get(l) as Float32Array[][])[k] as Float32Array[];
      const u = o.nuisance?.(l, offset);
      const v = aggregate(P, N, { method: o.method, component: o.component === 'pc2' ? 2 : 1, normalize: o.normalise, ...(u ? { projectOut: u } : {}) });
      per.push(Float32Array.from(v));
      const sep = separation(v, P, N);
      seps.push(sep.accuracy);
      effects.push(sep.effectSize);
    });
    vectors.set(l, per);
    sepTable.push(seps);
    effectTable.push(effects);
  }
  return { layers: [...layers], offsets: [...offsets], vectors, separation: sepTable, effectSize: effectTable };
}

/** The set's vector per layer at one offset; throws naming what is missing. */
export function vectorsAt(set: DirectionSet, offset: number, layers: readonly number[] = set.layers, what = 'the direction'): Map<number, Float32Array> {
  const k = set.offsets.indexOf(offset);
  if (k < 0) throw new Error(`${what} has no vectors at position ${offset} (it was extracted at positions [${set.offsets.join(', ')}])`);
  const out = new Map<number, Float32Array>();
  for (const l of layers) {
    const v = set.vectors.get(l)?.[k];
    if (!v) throw new Error(`${what} has no vector at layer ${l} (it was extracted at layers [${set.layers.join(', ')}])`);
    out.set(l, v);
  }
  return out;
}

export function cosine(x: ArrayLike<number>, v: ArrayLike<number>): number {
  return dot(x, v) / ((norm(x) || 1) * (norm(v) || 1));
}

/** Mean cosine over the captured prompts with the set's vector, per layer × offset (acts captured at the set's layers and offsets). */
export function meanCosineTable(acts: Activations, set: DirectionSet): number[][] {
  return set.layers.map((l) =>
    set.offsets.map((_, k) => {
      const v = (set.vectors.get(l) as readonly Float32Array[])[k] as Float32Array;
      const xs = (acts.get(l) as Float32Array[][])[k] as Float32Array[];
      return xs.length > 0 ? xs.reduce((sum, x) => sum + cosine(x, v), 0) / xs.length : NaN;
    }),
  );
}

/** cos[i][j]: prompt i's activation at `layers[j]` (capture position index 0) with `vecs.get(layers[j])`. */
export function cosineMatrix(acts: Activations, layers: readonly number[], vecs: ReadonlyMap<number, Float32Array>, n: number): number[][] {
  return Array.from({ length: n }, (_, i) =>
    layers.map((l) => cosine(((acts.get(l) as Float32Array[][])[0] as Float32Array[])[i] as Float32Array, vecs.get(l) as Float32Array)),
  );
}

/** The activations of the prompts at `indices` only (same layers and positions). */
export function subsetActivations(acts: Activations, indices: readonly number[]): Activations {
  const out: Activations = new Map();
  for (const [l, perPos] of acts)
    out.set(
      l,
      perPos.map((rows) => indices.map((i) => rows[i] as Float32Array)),
    );
  return out;
}

/** Separation and Cohen's d of the set's vectors on other pairs (pos/neg captured at the set's layers and offsets). */
export function separationTables(set: DirectionSet, pos: Activations, neg: Activations): { separation: number[][]; effectSize: number[][] } {
  const cells = set.layers.map((l) =>
    set.offsets.map((_, k) => {
      const v = (set.vectors.get(l) as readonly Float32Array[])[k] as Float32Array;
      return separation(v, (pos.get(l) as Float32Array[][])[k] as Float32Array[], (neg.get(l) as Float32Array[][])[k] as Float32Array[]);
    }),
  );
  return { separation: cells.map((r) => r.map((c) => c.accuracy)), effectSize: cells.map((r) => r.map((c) => c.effectSize)) };
}

/**
 * A control direction: at every layer and offset an independent Gaussian vector of width `hidden`, scaled to unit
 * length, drawn in layer-then-offset order from `normal` (a seeded generator), so a seed reproduces the set.
 */
export function randomDirectionSet(layers: readonly number[], offsets: readonly number[], hidden: number, normal: () => number): DirectionSet {
  const vectors = new Map<number, Float32Array[]>();
  for (const l of layers) {
    vectors.set(
      l,
      offsets.map(() => {
        const v = Float64Array.from({ length: hidden }, () => normal());
        const n = norm(v) || 1;
        return Float32Array.from(v, (x) => x / n);
      }),
    );
  }
  return { layers: [...layers], offsets: [...offsets], vectors };
}
