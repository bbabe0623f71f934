/**
 * What an HF export carries over from its source model, beside the weights:
 *  - `config.json`: an HF source's own file, carried as it is (every field, nulls and unknown fields kept, the
 *    original bytes when nothing changes). Tuning changes weights, never the architecture, so the only field that
 *    can change is the dtype: `torch_dtype` (and `dtype`, transformers' newer name, when the file has it) is set to
 *    the export's dtype when it differs; a file without either gets `torch_dtype` only for an F16/BF16 export. A
 *    llama2.c source has no config.json: it is built from the checkpoint header with Llama names (toHfConfig).
 *  - the tokenizer and the other files that travel with a model: from an HF folder every one of TOKENIZER_FILES
 *    that exists, byte for byte; from a llama2.c tokenizer.bin the file itself (as `tokenizer.bin`) and, when the
 *    pieces allow it, an equivalent HF `tokenizer.json` + `tokenizer_config.json` (llama2c-tokenizer.ts);
 *  - licence files (LICENSE*, NOTICE*, USE_POLICY*, COPYING*) beside the model.
 *
 * Non-goals: remote code (`modeling_*.py`), model cards, adapter configs.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizeHfConfig, toHfConfig } from '../../model/config';
import type { WritableDtype } from '../io/safetensors';
import type { Model } from '../model/forward';
import { ExportError } from './atomic';
import { convertLlama2cTokenizer } from './llama2c-tokenizer';

/** Files copied from an HF source folder when present: tokenizer, generation settings, chat template, licences. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'generation_config.json',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
  'vocab.txt',
  'spiece.model',
  'added_tokens.json',
  'chat_template.jinja',
  'chat_template.json',
] as const;
/** Licence and use-policy files travel with the weights (several model licences require it). */
const LICENCE_FILE = /^(LICEN[CS]E|NOTICE|USE_POLICY|COPYING)([-_.][\w.-]*)?$/i;

export const TORCH_DTYPES: Record<WritableDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

export interface ExportedConfig {
  /** config.json's text as written. */
  text: string;
  /** The source config.json it was carried from, or null when built from the model (llama2.c, random models). */
  from: string | null;
  /** Top-level fields that differ from the source file (only dtype fields), with their new values. */
  changed: Record<string, string>;
}

/** config.json for an export of `model` in `dtype` (see the file header). */
export function exportedConfig(model: Model, dtype: WritableDtype): ExportedConfig {
  const torchDtype = TORCH_DTYPES[dtype];
  const file = model.format === 'hf' ? path.join(model.path, 'config.json') : undefined;
  if (file === undefined || !fs.existsSync(file)) {
    return { text: `${JSON.stringify({ ...toHfConfig(model.config), torch_dtype: torchDtype }, null, 2)}\n`, from: null, changed: {} };
  }
  let text: string;
  let json: Record<string, unknown>;
  try {
    text = fs.readFileSync(file, 'utf8');
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ExportError(file, `${file}: cannot read the source config.json (${err instanceof Error ? err.message : String(err)}).`, err);
  }
  // The file must still describe the weights being exported (it is re-read here, after the model was loaded).
  if (JSON.stringify(normalizeHfConfig(json, file)) !== JSON.stringify(model.config)) {
    throw new ExportError(file, `${file}: no longer describes the loaded model (it changed since the model was loaded); run the export again.`);
  }
  const changed: Record<string, string> = {};
  const keys = ['torch_dtype', 'dtype'].filter((k) => Object.hasOwn(json, k));
  if (keys.length === 0 && dtype !== 'F32') keys.push('torch_dtype');
  for (const k of keys) if (json[k] !== torchDtype) changed[k] = torchDtype;
  if (Object.keys(changed).length === 0) return { text, from: file, changed };
  return { text: `${JSON.stringify({ ...json, ...changed }, null, 2)}\n`, from: file, changed };
}

export interface ExportedTokenizer {
  /** Where the tokenizer came from: an HF folder or a llama2.c tokenizer.bin. */
  from: string;
  kind: 'hf' | 'llama2c';
  /** Files written into the export (names inside it) and their contents. */
  files: Array<{ name: string; data: Buffer }>;
  /** llama2.c: whether tokenizer.json was converted from tokenizer.bin, and why not when it was not. */
  converted?: { merges: number } | { reason: string };
}

/**
 * The tokenizer files of an export: `source` is an HF folder (its TOKENIZER_FILES and licence files are copied)
 * or a llama2.c tokenizer.bin (copied, and converted to tokenizer.json when possible).
 */
export function exportedTokenizer(source: string, model: Model): ExportedTokenizer {
  const stat = fs.statSync(source, { throwIfNoEntry: false });
  if (stat === undefined) throw new ExportError(source, `${source}: tokenizer not found (a tokenizer folder or a llama2.c tokenizer.bin).`);
  const read = (dir: string, names: readonly string[]) =>
    names
      .filter((n) => fs.statSync(path.join(dir, n), { throwIfNoEntry: false })?.isFile())
      .map((name) => ({ name, data: fs.readFileSync(path.join(dir, name)) }));
  if (stat.isDirectory()) {
    const names = fs.readdirSync(source);
    return {
      from: path.resolve(source),
      kind: 'hf',
      files: read(
        source,
        TOKENIZER_FILES.filter((n) => names.includes(n)),
      ),
    };
  }
  const bytes = fs.readFileSync(source);
  const files = [{ name: 'tokenizer.bin', data: bytes }];
  const conv = convertLlama2cTokenizer(bytes, source, model.config.vocabSize, model.config.maxPositions);
  if (typeof conv === 'string') return { from: path.resolve(source), kind: 'llama2c', files, converted: { reason: conv } };
  files.push(
    { name: 'tokenizer.json', data: Buffer.from(`${JSON.stringify(conv.tokenizer, null, 2)}\n`, 'utf8') },
    { name: 'tokenizer_config.json', data: Buffer.from(`${JSON.stringify(conv.config, null, 2)}\n`, 'utf8') },
  );
  return { from: path.resolve(source), kind: 'llama2c', files, converted: { merges: conv.merges } };
}

/** Licence files beside the model (in its folder, or beside a llama2.c .bin), copied into the export. */
export function licenceFiles(model: Model): Array<{ name: string; data: Buffer }> {
  const dir = model.format === 'hf' ? model.path : path.dirname(model.path);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => LICENCE_FILE.test(n) && fs.statSync(path.join(dir, n)).isFile())
    .sort()
    .map((name) => ({ name, data: fs.readFileSync(path.join(dir, name)) }));
}
