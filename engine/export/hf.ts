/**
 * Export of a (tuned) model as a Hugging Face folder that `transformers` and this engine load:
 *  - `model.safetensors`: HF parameter names and HF layouts (modelToTensors undoes the engine's in-memory
 *    transposes), metadata `format: pt` (transformers refuses safetensors metadata without it);
 *  - `config.json`: an HF source's own file, carried as it is but for the dtype field (hf-source.ts). A llama2.c
 *    model exports as a plain Llama model, config.json built from its header: its loader already permuted the q/k
 *    rows into HF's rotate_half RoPE layout (as convert_llama_weights_to_hf.py does), so no conversion remains;
 *  - the tokenizer: the files of an HF tokenizer folder (tokenizer.json, tokenizer_config.json,
 *    special_tokens_map.json, generation_config.json, the slow-tokenizer files ... when present), or a llama2.c
 *    tokenizer.bin, copied and converted to tokenizer.json (llama2c-tokenizer.ts); licence files beside the model;
 *  - for a llama2.c source in mode 'full', `model.bin`: the same weights as a llama2.c checkpoint (llama2c.ts);
 *  - `rtune-export.json` (what was written, from what) and `README.md` (hf-readme.ts), true for the source format.
 * Mode 'changed' writes only the tensors whose values differ bit for bit from `base`, and names the base in the
 * safetensors metadata (`base_model`) and in rtune-export.json; README.md says how to merge. The whole folder is
 * built in a temporary sibling and renamed into place (engine/export/atomic.ts).
 *
 * Non-goals: sharding large models, LoRA/adapter formats, pushing to the Hub.
 */

import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors, writeSafetensors, type TensorToWrite, type WritableDtype } from '../io/safetensors';
import type { Model } from '../model/forward';
import { loadModel, modelToTensors, type HostTensor } from '../model/load';
import { paramSpecs } from '../../model/params';
import { throwIfCancelled } from '../util/cancel';
import { transpose2d } from '../util/random';
import { buildFolderAtomic, checkReplaceable, ExportError, writeFileAtomic } from './atomic';
import { hfExportReadme } from './hf-readme';
import { writeLlama2cCheckpoint } from './llama2c';
import { exportedConfig, exportedTokenizer, licenceFiles, type ExportedTokenizer } from './hf-source';

export { TOKENIZER_FILES } from './hf-source';

export const EXPORT_MANIFEST = 'rtune-export.json';
export const HF_EXPORT_FORMAT = 'rtune-hf-export/1';
/** The llama2.c checkpoint a llama2.c source's full export holds beside the HF files. */
export const LLAMA2C_MODEL = 'model.bin';

export interface HfExportOptions {
  mode: 'full' | 'changed';
  /** Required for 'changed': the untuned model and the path (folder, .bin or hub id) users load it from. */
  base?: { model: Model; path: string };
  /** On-disk dtype; default F32 (exact). F16/BF16 round the weights. */
  dtype?: WritableDtype;
  /** Extra string metadata for model.safetensors and rtune-export.json. */
  metadata?: Record<string, string>;
  /** Cancels between the tensor reads and before anything is written (a CancelledError; nothing is left behind). */
  signal?: AbortSignal;
}

export interface HfExportManifest {
  format: typeof HF_EXPORT_FORMAT;
  mode: 'full' | 'changed';
  dtype: WritableDtype;
  created: string;
  source: { path: string; format: 'hf' | 'llama2c'; modelType: string };
  architecture: string;
  /** config.json: the source file it was carried from (null: built from the model) and the fields changed in it. */
  config: { from: string | null; changed: Record<string, string> };
  /** Present in mode 'changed'. */
  base_model?: string;
  /** Tensors in model.safetensors (HF names and shapes). */
  tensors: Array<{ name: string; shape: number[] }>;
  /** Tensors of the model left out because they equal the base's (mode 'changed'). */
  unchanged: number;
  /** The tokenizer files written (an HF folder's copies, or a llama2.c tokenizer.bin and its conversion). */
  tokenizer: { from: string; kind: 'hf' | 'llama2c'; files: string[]; converted?: ExportedTokenizer['converted'] } | null;
  /** Licence files copied from beside the source model. */
  licences: string[];
  metadata: Record<string, string>;
  notes: string[];
}

export interface HfExportResult {
  dir: string;
  manifest: HfExportManifest;
  /** Files in the folder, relative to it. */
  files: string[];
}

/**
 * Writes `model` as an HF folder at `outDir` (see the file header). `tokenizer` is the model's tokenizer: an HF
 * folder (its files are copied) or a llama2.c tokenizer.bin (copied and converted); undefined writes none.
 */
export async function exportHfModel(model: Model, tokenizer: string | undefined, outDir: string, opts: HfExportOptions): Promise<HfExportResult> {
  const dtype = opts.dtype ?? 'F32';
  if (opts.mode !== 'full' && opts.mode !== 'changed') throw new ExportError(outDir, `unknown export mode "${String(opts.mode)}" (full, changed)`);
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new ExportError(outDir, `unknown dtype "${String(dtype)}" (F32, F16, BF16)`);
  const userMeta = { ...(opts.metadata ?? {}) };
  for (const [k, v] of Object.entries(userMeta)) {
    if (typeof v !== 'string') throw new ExportError(outDir, `metadata "${k}" must be a string (found ${typeof v}).`);
  }
  const base = opts.base;
  if (opts.mode === 'changed' && base === undefined) {
    throw new ExportError(outDir, "mode 'changed' needs `base` (the untuned model and the path it is loaded from).");
  }
  if (tokenizer !== undefined && fs.statSync(tokenizer, { throwIfNoEntry: false }) === undefined) {
    throw new ExportError(tokenizer, `${tokenizer}: tokenizer not found (expected a tokenizer folder or a llama2.c tokenizer.bin).`);
  }

  checkReplaceable(path.resolve(outDir), EXPORT_MANIFEST); // fail before the (slow) tensor download

  throwIfCancelled(opts.signal);
  const all = await modelToTensors(model);
  throwIfCancelled(opts.signal);
  let selected: Array<[string, HostTensor]> = [...all];
  if (opts.mode === 'changed' && base !== undefined) {
    const baseTensors = await modelToTensors(base.model);
    throwIfCancelled(opts.signal);
    checkSameArchitecture(all, baseTensors, outDir);
    selected = selected.filter(([name, t]) => !sameBits(t.data, (baseTensors.get(name) as HostTensor).data));
  }

  const config = exportedConfig(model, dtype);
  const architecture = String((JSON.parse(config.text) as { architectures?: string[] }).architectures?.[0] ?? 'unknown');
  const tok = tokenizer !== undefined ? exportedTokenizer(tokenizer, model) : undefined;
  const licences = licenceFiles(model).filter((f) => !tok?.files.some((t) => t.name === f.name));
  const notes: string[] = [];
  if (model.config.modelType === 'llama2c') {
    notes.push(
      'Converted from a llama2.c checkpoint: exported as LlamaForCausalLM; q_proj/k_proj rows are already in ' +
        "HF's rotate_half RoPE layout (permuted at load, as transformers' convert_llama_weights_to_hf.py does).",
    );
  }
  if (tok === undefined) notes.push('No tokenizer files were written (no tokenizer was given).');
  else if (tok.kind === 'hf' && !tok.files.some((f) => ['tokenizer.json', 'tokenizer.model', 'vocab.json'].includes(f.name))) {
    notes.push(`The tokenizer folder ${tokenizer} held no tokenizer.json, tokenizer.model or vocab.json.`);
  } else if (tok.converted !== undefined && 'reason' in tok.converted) {
    notes.push(
      `tokenizer.bin could not be converted to tokenizer.json (${tok.converted.reason}); transformers' AutoTokenizer needs one, so supply an HF tokenizer of the same vocabulary.`,
    );
  } else if (tok.converted !== undefined) {
    notes.push(
      `tokenizer.json was converted from tokenizer.bin (${tok.converted.merges} merges, every pair of pieces whose concatenation is a piece, ranked by its score): ` +
        "it encodes as llama2.c's run.c does except where two different candidate merges tie on score (run.c takes the leftmost).",
    );
  }
  const safetensorsMeta: Record<string, string> = { ...userMeta, format: 'pt', rtune_export: HF_EXPORT_FORMAT, mode: opts.mode };
  if (opts.mode === 'changed' && base !== undefined) safetensorsMeta['base_model'] = base.path;

  const target = path.resolve(outDir);
  return buildFolderAtomic(target, EXPORT_MANIFEST, (tmp) => {
    const tensors: TensorToWrite[] = selected.map(([name, t]) => ({ name, shape: t.shape, data: t.data, dtype }));
    writeSafetensors(path.join(tmp, 'model.safetensors'), tensors, safetensorsMeta);
    writeFileAtomic(path.join(tmp, 'config.json'), config.text);
    // A llama2.c source's full export also runs where it came from: the same weights as a llama2.c .bin (f32).
    if (model.format === 'llama2c' && opts.mode === 'full') writeLlama2cCheckpoint(path.join(tmp, LLAMA2C_MODEL), model.config, all);
    for (const f of [...(tok?.files ?? []), ...licences]) writeFileAtomic(path.join(tmp, f.name), f.data);
    const manifest: HfExportManifest = {
      format: HF_EXPORT_FORMAT,
      mode: opts.mode,
      dtype,
      created: new Date().toISOString(),
      source: { path: model.path, format: model.format, modelType: model.config.modelType },
      architecture,
      config: { from: config.from, changed: config.changed },
      ...(opts.mode === 'changed' && base !== undefined ? { base_model: base.path } : {}),
      tensors: selected.map(([name, t]) => ({ name, shape: t.shape })),
      unchanged: all.size - selected.length,
      tokenizer:
        tok === undefined
          ? null
          : { from: tok.from, kind: tok.kind, files: tok.files.map((f) => f.name), ...(tok.converted !== undefined ? { converted: tok.converted } : {}) },
      licences: licences.map((f) => f.name),
      metadata: userMeta,
      notes,
    };
    writeFileAtomic(path.join(tmp, 'README.md'), hfExportReadme(manifest));
    writeFileAtomic(path.join(tmp, EXPORT_MANIFEST), `${compactJson(manifest)}\n`);
    return { dir: target, manifest, files: fs.readdirSync(tmp).sort() };
  });
}

/** Reads an export's rtune-export.json. */
export function readHfExportManifest(dir: string): HfExportManifest {
  const file = path.join(dir, EXPORT_MANIFEST);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ExportError(file, `${file}: cannot read the export manifest (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { format?: unknown }).format !== HF_EXPORT_FORMAT) {
    throw new ExportError(file, `${file}: not an rtune HF export manifest (format ${HF_EXPORT_FORMAT}).`);
  }
  return parsed as HfExportManifest;
}

/**
 * Overwrites `model`'s parameters with the tensors of an export folder (a 'changed' delta, or a full export):
 * "load the base, then overwrite these tensors". Shapes are checked against the model's architecture.
 */
export function applyHfExport(model: Model, dir: string): void {
  const file = path.join(dir, 'model.safetensors');
  const { tensors } = readSafetensors(file);
  const specs = new Map(paramSpecs(model.config).map((s) => [s.name, s]));
  for (const [name, t] of tensors) {
    const spec = specs.get(name);
    const variable = model.params.get(name);
    if (spec === undefined || variable === undefined) throw new ExportError(file, `${file}: tensor "${name}" is not a parameter of this model.`);
    if (t.shape.length !== spec.diskShape.length || t.shape.some((d, i) => d !== spec.diskShape[i])) {
      throw new ExportError(file, `${file}: tensor "${name}" has shape [${t.shape.join(', ')}], the model expects [${spec.diskShape.join(', ')}].`);
    }
  }
  for (const [name, t] of tensors) {
    const spec = specs.get(name);
    const variable = model.params.get(name);
    if (spec === undefined || variable === undefined) continue;
    const data = spec.transposed ? transpose2d(t.data, spec.diskShape[0] as number, spec.diskShape[1] as number) : t.data;
    tf.tidy(() => variable.assign(tf.tensor(data, spec.shape, 'float32')));
  }
}

/** Loads a 'changed' export: its base (rtune-export.json's base_model, or `basePath`), then the changed tensors. */
export function loadChangedExport(dir: string, basePath?: string): Model {
  const manifest = readHfExportManifest(dir);
  const from = basePath ?? manifest.base_model;
  if (from === undefined) throw new ExportError(dir, `${dir}: the export names no base model; pass basePath.`);
  const model = loadModel(from);
  try {
    applyHfExport(model, dir);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

function checkSameArchitecture(tuned: Map<string, HostTensor>, base: Map<string, HostTensor>, outDir: string): void {
  const problem = (what: string): ExportError =>
    new ExportError(
      outDir,
      `mode 'changed': the base model does not match the tuned model (${what}); a delta is only meaningful against the model that was tuned.`,
    );
  if (tuned.size !== base.size) throw problem(`${base.size} vs ${tuned.size} tensors`);
  for (const [name, t] of tuned) {
    const b = base.get(name);
    if (b === undefined) throw problem(`the base has no "${name}"`);
    if (b.shape.length !== t.shape.length || b.shape.some((d, i) => d !== t.shape[i])) {
      throw problem(`"${name}" is [${b.shape.join(', ')}] in the base and [${t.shape.join(', ')}] in the tuned model`);
    }
  }
}

/** Bit-for-bit equality (so -0 vs 0 and NaN payloads count as changes; a tuned weight is never "close enough"). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Pretty JSON with arrays of numbers (shapes) kept on one line. */
function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g, (_, nums: string) => `[${nums.split(/,\s+/).join(', ')}]`);
}
