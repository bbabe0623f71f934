/**
 * `tune` sections: build the training and held-out examples from the prompt set, resolve the direction's vectors
 * at the tuned layers and positions, run the dual-loss loop (engine/method/tune.ts) on the shared model, report
 * the held-out cosine with the direction before and after, and keep the trained tensors for the sections after it
 * (the shared model itself goes back to its base weights) and, when it finishes, in its run folder
 * (`tuned.safetensors` + `checkpoint.json`, job/checkpoint.ts). A tune whose inputs (job/inputs.ts) are those of its
 * newest finished run is not trained again: that run's checkpoint is loaded. `prepareTune` is shared with block
 * searches.
 */
import { holdoutByStatement } from '../../common/split';
import { meanCosineTable } from '../../engine/method/direction-set';
import { captureActivations } from '../../engine/method/extract';
import type { StatementRow } from '../../engine/method/prompts';
import { tune, type TuneExample, type TuneOptions } from '../../engine/method/tune';
import { readWeights, WeightSnapshot } from '../../engine/model/weights';
import type { Session } from '../../engine/session';
import { Rng } from '../../engine/util/random';
import { expandBlocks } from '../../model/blocks';
import type { PromptSetConfig, TuneConfig } from '../../protocol/contract';
import type { RunSummary } from '../../protocol/lsp';
import { loadTuned, reusableRun, reusedSummary, writeInputs, writeTuneCheckpoint } from '../checkpoint';
import { layersOf, type ExtractedDirection, type SectionContext, type TunedResult } from '../context';
import { knownInputs, tuneInputs } from '../inputs';
import { anchored, answerId, labelIds, letterFor, readRows, renderTarget } from '../prompting';

export interface PreparedTune {
  s: Session;
  p: PromptSetConfig;
  train: TuneExample[];
  held: TuneExample[];
  heldRows: StatementRow[];
  options: TuneOptions;
}

/** Examples, held-out split and TuneOptions of a tune section (shared by tuning and block search). */
export async function prepareTune(ctx: SectionContext, t: TuneConfig, run: string): Promise<PreparedTune> {
  const s = await ctx.session(t.model);
  const p = ctx.config.prompts[t.prompts] as PromptSetConfig;
  // Held out by statement: a statement that occurs in several rows (e.g. in both option orders) is never on both sides.
  const rows = new Rng(t.seed).shuffle(readRows(p));
  const { held: heldRows, rest: trainRows } = holdoutByStatement(rows, (r) => r.statement, t.holdout);
  const layers = layersOf(t.layers, s.model.config.nLayers);
  const dir = t.direction !== undefined ? ctx.directions.get(t.direction) : undefined;
  if (t.direction !== undefined && !dir)
    throw new Error(`tune ${t.name}: run direction ${t.direction} first (rtune run extracts it when both sections are selected)`);
  const ks = t.positions.map((o) => (dir ? dir.offsets.indexOf(o) : 0));
  const absent = t.positions.filter((_, i) => ks[i] === -1);
  if (dir && absent.length > 0)
    throw new Error(`tune ${t.name}: position ${absent.join(', ')} is not one of direction ${t.direction}'s positions [${dir.offsets.join(', ')}]`);
  // One direction per layer and position: the vector extracted at that offset.
  const directions = new Map<number, Float32Array[]>();
  for (const l of layers) {
    const vs = ks.map((k) => dir?.vectors.get(l)?.[k]);
    if (dir && vs.some((v) => !v)) throw new Error(`tune ${t.name}: direction ${t.direction} has no vector for layer ${l}`);
    if (dir) directions.set(l, vs as Float32Array[]);
  }
  // Training prompts use the set's negative persona when it has one (teach the dishonest persona the target
  // answers), else no persona.
  const example = (r: StatementRow): TuneExample => {
    const text = renderTarget(p, r);
    const a = anchored(s, p, text);
    const saysTrue = t.labels === 'honest' ? r.truth : !r.truth;
    // The language-modelling loss predicts the prompt's own tokens: no answer token.
    const answer = t.tokenLoss.target === 'lm' ? -1 : answerId(s, text, letterFor(p, r, saysTrue));
    return { ids: a.ids, answer, positions: t.positions.map((o) => a.position + o) };
  };
  const train = trainRows.map(example);
  const held = heldRows.map(example);
  // `epochs` passes over the training statements, capped by `max_steps`.
  const steps = Math.min(t.maxSteps ?? Infinity, t.epochs * Math.ceil(train.length / t.batch));
  const { idTrue, idFalse } = t.tokenLoss.target === 'soft' ? labelIds(s, p) : { idTrue: 0, idFalse: 0 };
  const options: TuneOptions = {
    run,
    layers,
    directions,
    mode: t.mode,
    flip: t.flip,
    ...(t.projectionLoss?.margin !== undefined ? { margin: t.projectionLoss.margin } : {}),
    tokenTarget: t.tokenLoss.target === 'soft' ? { soft: [idTrue, idFalse] } : t.tokenLoss.target,
    tokenWeight: t.tokenLoss.weight,
    projectionWeight: dir && t.projectionLoss ? t.projectionLoss.weight : 0,
    tokenBlocks: expandBlocks(t.tokenLoss.blocks, s.model.config.arch),
    projectionBlocks: dir && t.projectionLoss ? expandBlocks(t.projectionLoss.blocks, s.model.config.arch) : [],
    tokenSkipBelow: t.tokenLoss.skipBelow,
    // The contract's settings as they are: the engine reads lr_token / lr_projection, decay, min_lr_ratio and early
    // stopping (every, window, patience, metric) itself.
    optimizer: t.optimizer,
    schedule: t.schedule,
    earlyStopping: t.earlyStopping,
    steps,
    batch: t.batch,
    seed: t.seed,
    ...ctx.cancel,
  };
  return { s, p, train, held, heldRows, options };
}

/** Mean cosine with the direction over `rows` (rendered as training prompts), per direction layer × position. */
async function cosineTable(ctx: SectionContext, s: Session, p: PromptSetConfig, rows: StatementRow[], dir: ExtractedDirection): Promise<number[][]> {
  const req = rows.map((r) => {
    const a = anchored(s, p, renderTarget(p, r));
    return { ids: a.ids, positions: dir.offsets.map((o) => a.position + o) };
  });
  return meanCosineTable(await captureActivations(s.model, req, dir.layers, ctx.cancel), dir);
}

/** The newest finished run of this tune with the same inputs, loaded into `ctx.tuned`; undefined when there is none (or it cannot be read). */
async function reuseTune(ctx: SectionContext, t: TuneConfig, inputs: ReturnType<typeof tuneInputs>): Promise<RunSummary | undefined> {
  const r = reusableRun(ctx, 'tune', t.name, t.output, inputs);
  if (!r) return undefined;
  try {
    const s = await ctx.session(t.model);
    ctx.tuned.set(t.name, loadTuned(r.dir, t.model, s.model.config));
    return reusedSummary(ctx, r, 'tune', t.name);
  } catch (e) {
    ctx.emit({
      type: 'log',
      level: 'warn',
      message: `tune ${t.name}: cannot load the checkpoint of ${r.id} (${e instanceof Error ? e.message : String(e)}); training again`,
    });
    return undefined;
  }
}

export async function runTune(ctx: SectionContext, t: TuneConfig): Promise<RunSummary> {
  const inputs = knownInputs(() => tuneInputs(ctx.config, t, ctx.directions, ctx.opts.backend));
  const reused = await reuseTune(ctx, t, inputs);
  if (reused) return reused;
  const folder = ctx.openFolder(t.output, t.name, 'tune', t);
  return ctx.guarded(folder, 'tune', async () => {
    if (inputs) writeInputs(folder, inputs);
    const { s, p, train, held, heldRows, options } = await prepareTune(ctx, t, folder.id);
    // Tuning changes the shared model in place: keep the base values, and put them back after copying the tuned
    // values out, so later sections see the base model unless they ask for the tuned one.
    const base = WeightSnapshot.take(s.model);
    try {
      // Cosine with the direction at every extracted layer and position, on the held-out prompts (the training
      // prompts when nothing is held out), before and after: the heatmap panel's "before vs after" pair.
      const dir = t.direction !== undefined ? ctx.directions.get(t.direction) : undefined;
      const cosRows = heldRows.length > 0 ? heldRows : readRows(p).slice(0, 64);
      const cosineHeatmap = async (when: 'before' | 'after'): Promise<number[][] | undefined> => {
        if (!dir) return undefined;
        const values = await cosineTable(ctx, s, p, cosRows, dir);
        ctx.emit(
          {
            type: 'heatmap',
            job: 'tune',
            run: folder.id,
            title: `cosine with the direction ${when} tuning (held-out mean)`,
            rowLabel: 'layer',
            columnLabel: 'position',
            rows: [...dir.layers],
            columns: dir.offsets.map(String),
            values,
            min: -1,
            max: 1,
          },
          folder,
        );
        return values;
      };
      const cosineBefore = await cosineHeatmap('before');
      const outcome = await tune(s.model, train, held, { ...options, onEvent: (e) => ctx.emit(e, folder) });
      const cosineAfter = outcome.status === 'cancelled' ? undefined : await cosineHeatmap('after');
      const weights = await readWeights(s.model, outcome.trained);
      const tuned: TunedResult = { model: t.model, weights, heldout: heldRows, prompts: t.prompts, positions: t.positions, layers: options.layers };
      ctx.tuned.set(t.name, tuned);
      const first = outcome.history[0];
      const last = outcome.history[outcome.history.length - 1];
      const status = outcome.status === 'cancelled' ? 'cancelled' : outcome.status === 'diverged' ? 'failed' : 'done';
      // The checkpoint goes in before the final status: a folder that says done has it (a later run reuses it).
      if (status === 'done' && inputs) writeTuneCheckpoint(folder, s.model.config, tuned, t.name, inputs);
      // Early stopping may end the run on the weights of an earlier step than its last: say which.
      const kept = outcome.kept.step !== outcome.steps - 1 ? `; kept step ${outcome.kept.step}` : '';
      const headline =
        first && last
          ? `${outcome.status} after ${outcome.steps} steps: token ${first.tokenLoss.toFixed(3)} → ${last.tokenLoss.toFixed(3)}, projection ${first.projectionLoss.toFixed(3)} → ${last.projectionLoss.toFixed(3)}${kept}`
          : outcome.message;
      return folder.finish(status, headline, {
        detail: outcome.message,
        metrics: { steps: outcome.steps, keptStep: outcome.kept.step, tokenLoss: last?.tokenLoss ?? NaN, projectionLoss: last?.projectionLoss ?? NaN },
        result: {
          ...outcome,
          history: undefined,
          trained: outcome.trained,
          ...(dir ? { cosine: { layers: dir.layers, positions: dir.offsets, before: cosineBefore, after: cosineAfter } } : {}),
        },
      });
    } finally {
      base.restore();
      base.dispose();
    }
  });
}
