/**
 * `direction` sections: capture the contrastive pairs' activations at the chosen layers and anchored positions,
 * aggregate them into a direction set (engine/method/direction-set.ts), stream the separation heatmaps and write
 * `direction.safetensors` with its metadata into the run folder, beside `inputs.json` (job/inputs.ts). A direction
 * whose inputs are those of its newest finished run is loaded from that folder instead (job/checkpoint.ts).
 */
import { writeDirectionsSafetensors } from '../../engine/export';
import { saltedUnit } from '../../common/split';
import { buildDirectionSet, randomDirectionSet, separationTables, subsetActivations } from '../../engine/method/direction-set';
import { captureActivations } from '../../engine/method/extract';
import { contrastPairs, type ContrastPair } from '../../engine/method/prompts';
import { Rng } from '../../engine/util/random';
import type { DirectionConfig, PromptSetConfig } from '../../protocol/contract';
import type { RunSummary } from '../../protocol/lsp';
import { readDirection, reusableRun, reusedSummary, writeInputs } from '../checkpoint';
import { layersOf, type SectionContext } from '../context';
import { directionInputs, fileSha256, knownInputs } from '../inputs';
import { anchored, correctOnly, readRows, renderSide } from '../prompting';
import type { RunFolder } from '../run-folder';

/** The newest finished run of this direction with the same inputs, loaded into `ctx.directions`; undefined when there is none (or it cannot be read). */
function reuseDirection(ctx: SectionContext, d: DirectionConfig, inputs: ReturnType<typeof directionInputs>): RunSummary | undefined {
  const r = reusableRun(ctx, 'direction', d.name, d.output, inputs);
  if (!r) return undefined;
  try {
    ctx.directions.set(d.name, readDirection(r.dir));
    return reusedSummary(ctx, r, 'direction', d.name);
  } catch (e) {
    ctx.emit({
      type: 'log',
      level: 'warn',
      message: `direction ${d.name}: cannot load ${r.id} (${e instanceof Error ? e.message : String(e)}); extracting again`,
    });
    return undefined;
  }
}

export async function runDirection(ctx: SectionContext, d: DirectionConfig): Promise<RunSummary> {
  const inputs = knownInputs(() => directionInputs(ctx.config, d, ctx.directions, ctx.opts.backend));
  const reused = reuseDirection(ctx, d, inputs);
  if (reused) return reused;
  const folder = ctx.openFolder(d.output, d.name, 'direction', d);
  return ctx.guarded(folder, 'direction', async () => {
    if (inputs) writeInputs(folder, inputs);
    if (d.method === 'random') return randomDirection(ctx, d, folder);
    const s = await ctx.session(d.model);
    const p = ctx.config.prompts[d.prompts as string] as PromptSetConfig;
    const layers = layersOf(d.layers, s.model.config.nLayers);
    const offsets = [...d.positions];
    const contrast = contrastPairs(readRows(p), p.pairing);
    if (contrast.unmatched > 0) {
      ctx.emit(
        {
          type: 'log',
          level: 'warn',
          message: `prompts ${p.name}: ${p.pairing} pairing matches true with false statements one to one; ${contrast.unmatched} statement(s) without a partner are left out`,
        },
        folder,
      );
    }
    let pairs = contrast.pairs;
    const metrics: Record<string, number> = {};
    let kept = '';
    if (p.correctOnly) {
      const before = pairs.length;
      const flags = await correctOnly(s, p, pairs, ctx.cancel);
      pairs = pairs.filter((_, i) => flags[i]);
      metrics['pairsKept'] = pairs.length;
      metrics['pairsDropped'] = before - pairs.length;
      kept = `; correct_only kept ${pairs.length} of ${before}`;
      ctx.emit(
        {
          type: 'log',
          level: 'info',
          message: `prompts ${p.name}: correct_only kept ${pairs.length} of ${before} pairs (dropped ${before - pairs.length}: a side did not give its own label the larger logit)`,
        },
        folder,
      );
      if (pairs.length === 0) {
        throw new Error(
          `prompts ${p.name}: correct_only kept none of the ${before} pairs: the model answers none of them as the personas should. Check the personas and true_label/false_label, or set correct_only false`,
        );
      }
    }
    // The held-out pairs: chosen by a salted hash of their statements, so they do not follow the prompt set's split.
    const held = pairs.map((pair) => d.holdout > 0 && saltedUnit(pairKey(pair), DIRECTION_HOLDOUT_SALT) < d.holdout);
    const trainIdx = held.flatMap((h, i) => (h ? [] : [i]));
    const heldIdx = held.flatMap((h, i) => (h ? [i] : []));
    if (trainIdx.length === 0)
      throw new Error(`direction ${d.name}: holdout ${d.holdout} leaves none of the ${pairs.length} pairs to estimate the direction from; lower holdout`);
    if (d.holdout > 0 && heldIdx.length === 0)
      ctx.emit(
        {
          type: 'log',
          level: 'warn',
          message: `direction ${d.name}: holdout ${d.holdout} held out none of the ${pairs.length} pairs; the separation diagnostics are in-sample`,
        },
        folder,
      );
    const req = (positive: boolean) =>
      pairs.map((pair) => {
        const a = anchored(s, p, renderSide(p, positive ? pair.positive : pair.negative));
        return { ids: a.ids, positions: offsets.map((o) => a.position + o) };
      });
    const progress = (done: number, total: number) => ctx.emit({ type: 'progress', job: 'direction', done, total, unit: 'prompts' }, folder);
    const pos = await captureActivations(s.model, req(true), layers, { batch: d.batch, ...ctx.cancel, onProgress: progress });
    const neg = await captureActivations(s.model, req(false), layers, { batch: d.batch, ...ctx.cancel });
    const set = buildDirectionSet(subsetActivations(pos, trainIdx), subsetActivations(neg, trainIdx), layers, offsets, {
      method: d.method,
      component: d.component,
      normalise: d.normalise,
      nuisance: nuisanceOf(ctx, d),
    });
    const heldOut = heldIdx.length > 0 ? separationTables(set, subsetActivations(pos, heldIdx), subsetActivations(neg, heldIdx)) : undefined;
    const metadata = directionMetadata(ctx, d, p, s.tokenizer.hash, layers, trainIdx.length);
    metadata['pairs_held_out'] = String(heldIdx.length);
    ctx.directions.set(d.name, { layers: set.layers, offsets: set.offsets, vectors: set.vectors, metadata });
    const heat = {
      type: 'heatmap',
      job: 'direction',
      run: folder.id,
      rowLabel: 'layer',
      columnLabel: 'position',
      rows: layers,
      columns: offsets.map(String),
    } as const;
    const dMax = (t: number[][]) => Math.max(1, ...t.flat().filter(Number.isFinite).map(Math.abs));
    // How far apart the projections are: (mean positive - mean negative) / pooled sd, on a symmetric scale.
    const emitPair = (label: string, n: number, t: { separation: number[][]; effectSize: number[][] }) => {
      const m = dMax(t.effectSize);
      ctx.emit({ ...heat, title: `${label} separation (positive projects above negative; ${n} pairs)`, values: t.separation, min: 0, max: 1 }, folder);
      ctx.emit({ ...heat, title: `${label} separation effect size (Cohen's d of the projections)`, values: t.effectSize, min: -m, max: m }, folder);
    };
    if (heldOut) emitPair('held-out', heldIdx.length, heldOut);
    emitPair('in-sample', trainIdx.length, set);
    writeDirectionsSafetensors(folder.path('direction.safetensors'), set.vectors, metadata);
    const bestOf = (table: number[][]) => {
      let best = { layer: layers[0] as number, k: 0, acc: -1 };
      table.forEach((row, i) =>
        row.forEach((acc, k) => {
          if (acc > best.acc) best = { layer: layers[i] as number, k, acc };
        }),
      );
      return best;
    };
    const best = bestOf(heldOut?.separation ?? set.separation);
    const inSample = bestOf(set.separation);
    // The pairs the separation is measured on; the count in parentheses is every pair (estimate + held out).
    const on = heldOut ? `on ${heldIdx.length} held-out pairs` : 'in-sample';
    const headline = `direction ${d.name}: best separation ${(100 * best.acc).toFixed(0)}% ${on} at layer ${best.layer}, position ${offsets[best.k]} (${pairs.length} ${p.pairing} pairs${kept})`;
    return folder.finish('done', headline, {
      metrics: {
        bestSeparation: best.acc,
        bestLayer: best.layer,
        bestSeparationInSample: inSample.acc,
        pairs: pairs.length,
        pairsEstimated: trainIdx.length,
        pairsHeldOut: heldIdx.length,
        ...metrics,
      },
      result: {
        layers,
        offsets,
        // `separation`/`effectSize` are on the held-out pairs when there are any (`separationOn` says which).
        separationOn: heldOut ? 'held-out' : 'in-sample',
        separation: heldOut?.separation ?? set.separation,
        effectSize: heldOut?.effectSize ?? set.effectSize,
        inSample: { separation: set.separation, effectSize: set.effectSize, pairs: trainIdx.length },
        ...(heldOut ? { heldOut: { ...heldOut, pairs: heldIdx.length } } : {}),
        pairing: p.pairing,
        pairs: pairs.length,
        pairsEstimated: trainIdx.length,
        pairsHeldOut: heldIdx.length,
        ...(p.correctOnly ? { correctOnly: { kept: metrics['pairsKept'], dropped: metrics['pairsDropped'] } } : {}),
      },
    });
  });
}

/** Salt of the held-out pairs' hash (common/split.ts `saltedUnit`), so they do not follow the prompt set's split. */
export const DIRECTION_HOLDOUT_SALT = 'rtune-direction-holdout';

/** A pair's statement (both, sorted, when its sides differ: an unpaired pair and its mirror are held out together). */
function pairKey(pair: ContrastPair): string {
  const a = pair.positive.row.statement.trim();
  const b = pair.negative.row.statement.trim();
  return a === b ? a : [a, b].sort().join('\n');
}

/** project_out: another direction's component at a layer and offset, removed from this one (METHOD §4.5). */
function nuisanceOf(ctx: SectionContext, d: DirectionConfig): ((l: number, offset: number) => Float64Array | undefined) | undefined {
  if (d.projectOut === undefined) return undefined;
  const other = ctx.directions.get(d.projectOut);
  if (!other)
    throw new Error(
      `direction ${d.name}: project_out ${d.projectOut} needs direction ${d.projectOut} to run first (put its section earlier in the file and select both)`,
    );
  return (l, offset) => {
    const k = other.offsets.indexOf(offset);
    const u = other.vectors.get(l)?.[k];
    if (k < 0 || !u)
      throw new Error(
        `direction ${d.name}: project_out ${d.projectOut} has no vector at layer ${l}, position ${offset}; extract it at the same layers and positions`,
      );
    return Float64Array.from(u);
  };
}

/** `method random`: a seeded random unit vector per layer and position of the model's hidden size; reads no prompts. */
async function randomDirection(ctx: SectionContext, d: DirectionConfig, folder: RunFolder): Promise<RunSummary> {
  const s = await ctx.session(d.model);
  const layers = layersOf(d.layers, s.model.config.nLayers);
  const rng = new Rng(d.seed);
  const set = randomDirectionSet(layers, d.positions, s.model.config.hiddenSize, () => rng.normal());
  const metadata: Record<string, string> = {
    model: ctx.config.models[d.model]?.source.path ?? d.model,
    tokenizer_hash: s.tokenizer.hash,
    layers: layers.join(','),
    positions: d.positions.join(','),
    method: 'random',
    random: 'true',
    seed: String(d.seed),
    hidden_size: String(s.model.config.hiddenSize),
    note: 'a random control direction: Gaussian draws normalised to unit length, not extracted from any prompts',
  };
  ctx.directions.set(d.name, { layers: set.layers, offsets: set.offsets, vectors: set.vectors, metadata });
  writeDirectionsSafetensors(folder.path('direction.safetensors'), set.vectors, metadata);
  const headline = `direction ${d.name}: random control (seed ${d.seed}), ${layers.length} layers × ${d.positions.length} positions of width ${s.model.config.hiddenSize}`;
  return folder.finish('done', headline, {
    metrics: { seed: d.seed, hiddenSize: s.model.config.hiddenSize },
    result: { layers, offsets: [...d.positions], method: 'random', random: true, seed: d.seed },
  });
}

/** The metadata `direction.safetensors` carries (the run folder's copy and every export of it). */
function directionMetadata(
  ctx: SectionContext,
  d: DirectionConfig,
  p: PromptSetConfig,
  tokenizerHash: string,
  layers: readonly number[],
  pairs: number,
): Record<string, string> {
  return {
    model: ctx.config.models[d.model]?.source.path ?? d.model,
    tokenizer_hash: tokenizerHash,
    template: p.template,
    layers: layers.join(','),
    positions: d.positions.join(','),
    method: d.method,
    data: p.data,
    data_sha256: fileSha256(p.data),
    n: String(pairs),
    pairing: p.pairing,
    correct_only: String(p.correctOnly),
    anchor: p.anchor ?? '(last token)',
  };
}
