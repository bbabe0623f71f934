/**
 * An eval's `projection_cosine` block: the mean cosine between the block outputs at the anchored position and the
 * direction, per layer, on held-out (or given) prompts, for the base model and the tuned one, with a paired
 * bootstrap CI of the per-prompt change (cosine averaged over the layers).
 */
import { cosineMatrix, vectorsAt } from '../../engine/method/direction-set';
import { captureActivations } from '../../engine/method/extract';
import { withWeights } from '../../engine/model/weights';
import type { Session } from '../../engine/session';
import { pairedBootstrap } from '../../engine/stats';
import type { EvalConfig, PromptSetConfig } from '../../protocol/contract';
import { layersOf, type SectionContext, type TunedResult } from '../context';
import { anchored, readRows, renderTarget } from '../prompting';
import type { RunFolder } from '../run-folder';

export async function projectionEval(ctx: SectionContext, e: EvalConfig, s: Session, tuned: TunedResult | undefined, folder: RunFolder) {
  const pc = e.projection as NonNullable<EvalConfig['projection']>;
  const tc = e.tuned !== undefined ? ctx.config.tunes[e.tuned] : undefined;
  const dname = pc.direction ?? tc?.direction;
  if (dname === undefined)
    throw new Error(`eval ${e.name}: projection_cosine needs a direction (projection_cosine { direction NAME }) or a tuned run with one`);
  const d = ctx.directions.get(dname);
  if (!d) throw new Error(`eval ${e.name}: run direction ${dname} first (select both sections)`);
  const position = pc.position ?? tc?.positions[0] ?? 0;
  const nLayers = s.model.config.nLayers;
  const layers = pc.layers !== undefined ? layersOf(pc.layers, nLayers) : tc ? layersOf(tc.layers, nLayers) : [...d.layers];
  const vecs = vectorsAt(d, position, layers, `eval ${e.name}: projection_cosine: direction ${dname}`);
  const pname = pc.prompts ?? tuned?.prompts;
  if (pname === undefined) throw new Error(`eval ${e.name}: projection_cosine needs prompts (projection_cosine { prompts NAME }) or a tuned run`);
  const p = ctx.config.prompts[pname] as PromptSetConfig;
  let rows = pc.prompts === undefined && tuned ? tuned.heldout : readRows(p);
  if (pc.limit !== undefined) rows = rows.slice(0, pc.limit);
  if (rows.length === 0) throw new Error(`eval ${e.name}: projection_cosine has no prompts to read (the held-out split is empty; raise the tune's holdout)`);
  const req = rows.map((r) => {
    const a = anchored(s, p, renderTarget(p, r));
    return { ids: a.ids, positions: [a.position + position] };
  });
  /** cos[i][j] = cosine of prompt i's block output at layer j with the direction. */
  const measure = async (): Promise<number[][]> =>
    cosineMatrix(await captureActivations(s.model, req, layers, { batch: 16, ...ctx.cancel }), layers, vecs, req.length);
  const summarise = (cos: number[][]) => ({
    perLayer: layers.map((_, j) => cos.reduce((a, row) => a + (row[j] as number), 0) / cos.length),
    mean: cos.reduce((a, row) => a + row.reduce((x, y) => x + y, 0) / row.length, 0) / cos.length,
  });
  const base = await measure();
  const after = tuned ? await withWeights(s.model, tuned.weights, measure) : undefined;
  const perPrompt = (cos: number[][]) => cos.map((row) => row.reduce((x, y) => x + y, 0) / row.length);
  const delta = after ? pairedBootstrap(perPrompt(base), perPrompt(after), { unit: 'token', resamples: 1000, seed: 42 }) : undefined;
  ctx.emit(
    {
      type: 'log',
      level: 'info',
      message: `projection onto ${dname}: base ${summarise(base).mean.toFixed(3)}${after ? `, tuned ${summarise(after).mean.toFixed(3)}` : ''}`,
    },
    folder,
  );
  return {
    direction: dname,
    position,
    layers,
    n: rows.length,
    base: summarise(base),
    ...(after ? { tuned: summarise(after) } : {}),
    ...(delta ? { delta } : {}),
  };
}
