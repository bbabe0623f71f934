/**
 * `direction` sections: capture the contrastive pairs' activations at the chosen layers and anchored positions,
 * aggregate them into a direction set (engine/method/direction-set.ts), stream the separation heatmaps and write
 * `direction.safetensors` with its metadata into the run folder, beside `inputs.json` (job/inputs.ts). A direction
 * whose inputs are those of its newest finished run is loaded from that folder instead (job/checkpoint.ts).
 */
import { writeDirectionsSafetensors } from '../../engine/export';
import { buildDirectionSet } from '../../engine/method/direction-set';
import { captureActivations } from '../../engine/method/extract';
import { contrastPairs } from '../../engine/method/prompts';
import type { DirectionConfig, PromptSetConfig } from '../../protocol/contract';
import type { RunSummary } from '../../protocol/lsp';
import { readDirection, reusableRun, reusedSummary, writeInputs } from '../checkpoint';
import { layersOf, type SectionContext } from '../context';
import { directionInputs, fileSha256, knownInputs } from '../inputs';
import { anchored, correctOnly, readRows, renderSide } from '../prompting';

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
    const s = await ctx.session(d.model);
    const p = ctx.config.prompts[d.prompts] as PromptSetConfig;
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
    const req = (positive: boolean) =>
      pairs.map((pair) => {
        const a = anchored(s, p, renderSide(p, positive ? pair.positive : pair.negative));
        return { ids: a.ids, positions: offsets.map((o) => a.position + o) };
      });
    const progress = (done: number, total: number) => ctx.emit({ type: 'progress', job: 'direction', done, total, unit: 'prompts' }, folder);
    const pos = await captureActivations(s.model, req(true), layers, { batch: d.batch, ...ctx.cancel, onProgress: progress });
    const neg = await captureActivations(s.model, req(false), layers, { batch: d.batch, ...ctx.cancel });
    // project_out: remove another direction's component, layer by layer and position by position (METHOD §4.5).
    const other = d.projectOut !== undefined ? ctx.directions.get(d.projectOut) : undefined;
    if (d.projectOut !== undefined && !other)
      throw new Error(
        `direction ${d.name}: project_out ${d.projectOut} needs direction ${d.projectOut} to run first (put its section earlier in the file and select both)`,
      );
    const nuisance = (l: number, offset: number): Float64Array | undefined => {
      if (!other) return undefined;
      const k = other.offsets.indexOf(offset);
      const u = other.vectors.get(l)?.[k];
      if (k < 0 || !u)
        throw new Error(
          `direction ${d.name}: project_out ${d.projectOut} has no vector at layer ${l}, position ${offset}; extract it at the same layers and positions`,
        );
      return Float64Array.from(u);
    };
    const set = buildDirectionSet(pos, neg, layers, offsets, { method: d.method, component: d.component, normalise: d.normalise, nuisance });
    const metadata = directionMetadata(ctx, d, p, s.tokenizer.hash, layers, pairs.length);
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
    ctx.emit({ ...heat, title: 'separation (positive projects above negative)', values: set.separation, min: 0, max: 1 }, folder);
    // How far apart the projections are: (mean positive - mean negative) / pooled sd, on a symmetric scale.
    const dMax = Math.max(1, ...set.effectSize.flat().filter(Number.isFinite).map(Math.abs));
    ctx.emit({ ...heat, title: "separation effect size (Cohen's d of the projections)", values: set.effectSize, min: -dMax, max: dMax }, folder);
    writeDirectionsSafetensors(folder.path('direction.safetensors'), set.vectors, metadata);
    let best = { layer: layers[0] as number, k: 0, acc: -1 };
    set.separation.forEach((row, i) =>
      row.forEach((acc, k) => {
        if (acc > best.acc) best = { layer: layers[i] as number, k, acc };
      }),
    );
    const headline = `direction ${d.name}: best separation ${(100 * best.acc).toFixed(0)}% at layer ${best.layer}, position ${offsets[best.k]} (${pairs.length} ${p.pairing} pairs${kept})`;
    return folder.finish('done', headline, {
      metrics: { bestSeparation: best.acc, bestLayer: best.layer, pairs: pairs.length, ...metrics },
      result: {
        layers,
        offsets,
        separation: set.separation,
        effectSize: set.effectSize,
        pairing: p.pairing,
        pairs: pairs.length,
        ...(p.correctOnly ? { correctOnly: { kept: metrics['pairsKept'], dropped: metrics['pairsDropped'] } } : {}),
      },
    });
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
