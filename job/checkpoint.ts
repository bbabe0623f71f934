/**
 * Checkpoints in run folders and their reuse. A finished tune keeps what it trained in its run folder:
 * `tuned.safetensors` (the trained tensors only, HF names and HF layout, F32: bit for bit the values in memory)
 * and `checkpoint.json` (what the sections after it need: model section, prompt set, positions, layers, held-out
 * statements). Direction and tune folders record their inputs (`inputs.json`, job/inputs.ts). A later run that
 * needs the section loads the newest finished (status done) folder of that section under its `output` whose
 * inputs hash the same, instead of computing it again, and says so; `fresh` turns that off. `--from RUN_FOLDER`
 * (fromRunFolder) loads a chosen tune folder for the eval or export sections of a run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDirectionsSafetensors } from '../engine/export';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../engine/io/safetensors';
import type { StatementRow } from '../engine/method/prompts';
import { transpose2d } from '../engine/util/random';
import type { ModelConfig as ArchConfig } from '../model/config';
import { paramSpecs } from '../model/params';
import type { RunConfig } from '../protocol/contract';
import type { RunSummary } from '../protocol/lsp';
import type { ExtractedDirection, SectionContext, TunedResult } from './context';
import { changedInputs, INPUTS_FILE, modelHashOf, readInputs, type InputsRecord } from './inputs';
import { writeJsonAtomic, type RunFolder } from './run-folder';

export const CHECKPOINT_FILE = 'checkpoint.json';
export const CHECKPOINT_TENSORS = 'tuned.safetensors';
export const CHECKPOINT_FORMAT = 'rtune-tune-checkpoint/1';
export const DIRECTION_FILE = 'direction.safetensors';

/** The content of `checkpoint.json`. */
export interface CheckpointRecord {
  format: typeof CHECKPOINT_FORMAT;
  /** The tune section that wrote it. */
  section: string;
  /** Its model section and that section's model hash (InputsRecord.modelHash). */
  model: string;
  modelHash: string;
  inputsHash: string;
  prompts: string;
  positions: number[];
  layers: number[];
  heldout: StatementRow[];
  /** The tensors of tuned.safetensors (HF names, HF shapes). */
  tensors: { name: string; shape: number[] }[];
}

/** Raised when a run folder cannot be used as asked (`--from`, a damaged checkpoint): says which folder and why. */
export class CheckpointError extends Error {
  constructor(
    readonly dir: string,
    message: string,
  ) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export function writeInputs(folder: RunFolder, inputs: InputsRecord): void {
  writeJsonAtomic(folder.path(INPUTS_FILE), inputs);
}

/** Writes the tune checkpoint (before the folder's final status, so a folder that says done always has it). */
export function writeTuneCheckpoint(folder: RunFolder, arch: ArchConfig, tuned: TunedResult, section: string, inputs: InputsRecord): void {
  const specs = new Map(paramSpecs(arch).map((s) => [s.name, s]));
  const tensors: TensorToWrite[] = [...tuned.weights].map(([name, data]) => {
    const s = specs.get(name);
    if (!s) throw new Error(`tune ${section}: trained tensor ${name} is not a parameter of the model`);
    return { name, shape: s.diskShape, data: s.transposed ? transpose2d(data, s.shape[0] as number, s.shape[1] as number) : data };
  });
  writeSafetensors(folder.path(CHECKPOINT_TENSORS), tensors, { format: 'pt', rtune_checkpoint: CHECKPOINT_FORMAT, section, inputs_sha256: inputs.hash });
  const record: CheckpointRecord = {
    format: CHECKPOINT_FORMAT,
    section,
    model: tuned.model,
    modelHash: inputs.modelHash,
    inputsHash: inputs.hash,
    prompts: tuned.prompts,
    positions: [...tuned.positions],
    layers: [...tuned.layers],
    heldout: tuned.heldout,
    tensors: tensors.map((t) => ({ name: t.name, shape: t.shape })),
  };
  writeJsonAtomic(folder.path(CHECKPOINT_FILE), record);
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A run folder's final state: done only when both status.json and summary.json say so. */
function finishedDone(dir: string): RunSummary | undefined {
  const st = readJson(path.join(dir, 'status.json')) as { status?: unknown } | undefined;
  const summary = readJson(path.join(dir, 'summary.json')) as RunSummary | undefined;
  return st?.status === 'done' && summary?.status === 'done' ? summary : undefined;
}

export function readCheckpointRecord(dir: string): CheckpointRecord | undefined {
  const r = readJson(path.join(dir, CHECKPOINT_FILE)) as Partial<CheckpointRecord> | undefined;
  return r?.format === CHECKPOINT_FORMAT ? (r as CheckpointRecord) : undefined;
}

/** The trained tensors of a checkpoint in memory layout, checked against the model's parameters. */
export function readTunedWeights(dir: string, arch: ArchConfig): Map<string, Float32Array> {
  const file = path.join(dir, CHECKPOINT_TENSORS);
  const specs = new Map(paramSpecs(arch).map((s) => [s.name, s]));
  const out = new Map<string, Float32Array>();
  for (const [name, t] of readSafetensors(file).tensors) {
    const s = specs.get(name);
    if (!s) throw new CheckpointError(dir, `${file}: tensor ${name} is not a parameter of this model: the checkpoint is of another model`);
    if (t.shape.length !== s.diskShape.length || t.shape.some((d, i) => d !== s.diskShape[i]))
      throw new CheckpointError(
        dir,
        `${file}: tensor ${name} is [${t.shape.join(', ')}], this model's is [${s.diskShape.join(', ')}]: the checkpoint is of another model`,
      );
    out.set(name, s.transposed ? transpose2d(t.data, s.diskShape[0] as number, s.diskShape[1] as number) : t.data);
  }
  return out;
}

/** A direction run folder's vectors and metadata, as the run that extracted them kept them in memory. */
export function readDirection(dir: string): ExtractedDirection {
  const file = path.join(dir, DIRECTION_FILE);
  const f = readDirectionsSafetensors(file);
  const res = readJson(path.join(dir, 'result.json')) as { layers?: number[]; offsets?: number[] } | undefined;
  const layers = res?.layers ?? [];
  const offsets = res?.offsets ?? [];
  const ok = layers.length === f.directions.size && layers.every((l) => f.directions.get(l)?.length === offsets.length);
  if (!ok) throw new CheckpointError(dir, `${file}: its layers and positions do not match the run's result.json; run the direction again (--fresh)`);
  // The writer adds these two; the rest is the metadata the run kept.
  const { hidden_size: _h, rtune_format: _f, ...metadata } = f.metadata;
  return { layers, offsets, vectors: f.directions, metadata };
}

export interface FinishedRun {
  dir: string;
  id: string;
  summary: RunSummary;
  inputs: InputsRecord;
}

/** Finished (done) run folders of a section under `output` that recorded their inputs, newest first. */
export function finishedRuns(output: string, kind: 'direction' | 'tune', section: string): FinishedRun[] {
  let names: string[];
  try {
    names = fs.readdirSync(output);
  } catch {
    return [];
  }
  const needs = kind === 'tune' ? [CHECKPOINT_FILE, CHECKPOINT_TENSORS] : [DIRECTION_FILE, 'result.json'];
  const out: FinishedRun[] = [];
  for (const id of names) {
    const dir = path.join(output, id);
    const summary = finishedDone(dir);
    const inputs = summary && summary.kind === kind && summary.section === section ? readInputs(dir) : undefined;
    if (!summary || !inputs || inputs.kind !== kind || !needs.every((n) => fs.existsSync(path.join(dir, n)))) continue;
    out.push({ dir: path.resolve(dir), id, summary, inputs });
  }
  return out.sort((a, b) => (a.summary.finished < b.summary.finished ? 1 : a.summary.finished > b.summary.finished ? -1 : a.id < b.id ? 1 : -1));
}

/**
 * The finished run to reuse for a section, if any: the newest done folder whose inputs hash is `inputs.hash`. When
 * there is none but an older finished run, logs what changed since it. With `fresh` there is nothing to decide.
 */
export function reusableRun(
  ctx: SectionContext,
  kind: 'direction' | 'tune',
  section: string,
  output: string,
  inputs: InputsRecord | undefined,
): FinishedRun | undefined {
  if (!inputs || ctx.opts.fresh === true) return undefined;
  const runs = finishedRuns(output, kind, section);
  const log = (message: string): void => ctx.emit({ type: 'log', level: 'info', message });
  const same = runs.find((r) => r.inputs.hash === inputs.hash);
  if (same) return same;
  const newest = runs[0];
  if (newest) log(`${kind} ${section}: inputs changed since ${newest.id} (${changedInputs(newest.inputs, inputs).join(', ')}); computing it again`);
  return undefined;
}

/**
 * Announces a loaded run (a log line and a `reused` event) and returns the summary the section reports: the
 * reused run's, saying where it came from. Call it once the result is loaded.
 */
export function reusedSummary(
  ctx: SectionContext,
  r: FinishedRun,
  kind: 'direction' | 'tune',
  section: string,
  message = `reusing ${kind} ${section} from ${r.id} (inputs unchanged; --fresh computes it again)`,
): RunSummary {
  ctx.emit({ type: 'log', level: 'info', message });
  ctx.emit({ type: 'reused', run: r.id, section, kind, dir: r.dir });
  return {
    ...r.summary,
    ...(ctx.opts.file !== undefined ? { file: ctx.opts.file } : {}),
    headline: `reusing ${kind} ${section} from ${r.id}: ${r.summary.headline}`,
    reusedFrom: r.dir,
  };
}

/** Loads a tune's result from a finished run folder's checkpoint, for the model section `model` of this run. */
export function loadTuned(dir: string, model: string, arch: ArchConfig): TunedResult {
  const rec = readCheckpointRecord(dir);
  if (!rec) throw new CheckpointError(dir, `${dir}: no ${CHECKPOINT_FILE} (not the run folder of a finished tune)`);
  return { model, weights: readTunedWeights(dir, arch), heldout: rec.heldout, prompts: rec.prompts, positions: rec.positions, layers: rec.layers };
}

/**
 * `--from RUN_FOLDER`: the tune the run's named eval and export sections use, to be taken from that folder's
 * checkpoint instead of being run. Throws (a CheckpointError naming the folder) when the sections use no tune or
 * different ones, or the folder is not a finished tune of this tune's model.
 */
export function fromRunFolder(config: RunConfig, sections: readonly string[], dir: string): { tune: string; record: CheckpointRecord } {
  const tunes = new Set<string>();
  for (const n of sections) {
    const t = config.evals[n]?.tuned ?? config.exports[n]?.tune;
    if (t !== undefined) tunes.add(t);
    else if (config.tunes[n] !== undefined || config.directions[n] !== undefined || config.searches[n] !== undefined)
      throw new CheckpointError(dir, `--from gives the tune of eval and export sections; ${n} is not one: name only eval/export sections`);
  }
  if (tunes.size !== 1) {
    throw new CheckpointError(
      dir,
      tunes.size === 0
        ? `--from ${dir}: name the eval or export sections that should use its tune (none of ${sections.join(', ') || 'the run'} uses a tune)`
        : `--from ${dir}: the named sections use different tunes (${[...tunes].join(', ')}); run them one tune at a time`,
    );
  }
  const tune = [...tunes][0] as string;
  const t = config.tunes[tune];
  const m = t ? config.models[t.model] : undefined;
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new CheckpointError(dir, `--from ${dir}: no such run folder`);
  const record = readCheckpointRecord(dir);
  if (!record) throw new CheckpointError(dir, `--from ${dir}: no ${CHECKPOINT_FILE} there; give the run folder of a finished tune (<runs>/<tune>/<run id>)`);
  const summary = readJson(path.join(dir, 'summary.json')) as RunSummary | undefined;
  if (!finishedDone(dir))
    throw new CheckpointError(dir, `--from ${dir}: that tune did not finish (status ${summary?.status ?? 'unknown'}); give a finished run`);
  if (!t || !m) throw new CheckpointError(dir, `--from ${dir}: tune ${tune} is not a section of this file`);
  if (record.modelHash !== modelHashOf(m)) {
    throw new CheckpointError(
      dir,
      `--from ${dir}: that run tuned another model (model section ${record.model}) than tune ${tune}'s model ${t.model} (${m.source.path}); give a run folder of a tune of ${m.source.path}`,
    );
  }
  return { tune, record };
}

/** Loads the tune `tune` from the run folder `dir` (checked by fromRunFolder) into the run; its summary says so. */
export async function useTuneFrom(ctx: SectionContext, tune: string, dir: string): Promise<RunSummary> {
  const t = ctx.config.tunes[tune];
  const summary = readJson(path.join(dir, 'summary.json')) as RunSummary | undefined;
  const inputs = readInputs(dir);
  if (!t || !summary || !inputs)
    throw new CheckpointError(dir, `--from ${dir}: not the run folder of a finished tune (summary.json and inputs.json are needed)`);
  const s = await ctx.session(t.model);
  ctx.tuned.set(tune, loadTuned(dir, t.model, s.model.config));
  const id = path.basename(path.resolve(dir));
  return reusedSummary(
    ctx,
    { dir: path.resolve(dir), id, summary: { ...summary, section: tune }, inputs },
    'tune',
    tune,
    `using tune ${tune} from ${id} (--from ${dir})`,
  );
}
