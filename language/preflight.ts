/**
 * The checks before compute ("preflight"): what can be known cheaply, from file metadata and a few header bytes,
 * without loading a tensor. Every run folder must be creatable (each section's `output` and the `runs` folder:
 * no file in the way, a writable folder to create it in); every prompt set's CSV must exist, hold a data row and
 * name its `text_column` and `label_column` (and `order_column` when set) in the header; perplexity data must not be empty; every model must
 * be readable: its path must exist, a folder's safetensors headers must parse and fit the tensors its config.json
 * implies, and its tokenizer must be there (a folder's tokenizer.json or vocab files, a llama2.c tokenizer.bin).
 * Each problem is a diagnostic on the `.rtune` key it comes from, naming the file and the fix. The language
 * server reports them on every section (lower.ts); `rtune run` and the worker check the sections they are about
 * to run, before the first one starts (job/preflight.ts), with the same function, and refuse the run on any of
 * them. All are errors except a model path where nothing exists yet: a warning in the editor (an example may
 * name a model you have not downloaded), still a refusal at run time.
 * Pure: every answer comes from the host's LanguageEnv (`probe`, `csvHeader`, `weights`); without them the checks
 * are off. Non-goals: data rows (labels are checked when read), tensor values, anything needing compute.
 */

import type { BlockValues } from './block-values';
import { dirnamePath, joinPath, type LanguageEnv } from './env';
import type { AnalysisCore, ResolvedModel, SectionInfo } from './lower';
import { paramSpecs } from '../model/params';
import { Diagnostic, Span, span } from './text';

type Sink = (d: Diagnostic) => void;

/** Where the loader looks for a Hugging Face tokenizer (engine/tokenizer/hf.ts), in its order. */
const HF_TOKENIZER_FILES: readonly (readonly string[])[] = [['tokenizer.json'], ['vocab.json', 'merges.txt'], ['encoder.json', 'vocab.bpe']];

interface Checker {
  readonly a: AnalysisCore;
  readonly env: Required<Pick<LanguageEnv, 'probe' | 'csvHeader' | 'weights'>> & LanguageEnv;
  readonly sink: Sink;
  readonly seen: Set<string>;
}

function valueSpan(values: BlockValues, key: string, fallback: Span): Span {
  const e = values.entryOf(key);
  if (e === undefined) return fallback;
  return e.value !== undefined ? span(e.value.start, e.value.end) : span(e.key.start, e.key.end);
}

function report(c: Checker, where: Span, message: string, severity: 'error' | 'warning' = 'error'): void {
  // One message per place: a prompt set shared by three sections is reported once.
  const id = `${where.start}:${where.end}:${message}`;
  if (c.seen.has(id)) return;
  c.seen.add(id);
  c.sink({ code: 'preflight', severity, span: where, message });
}

/** Why a run folder cannot be created at `abs`, or undefined when it can. */
export function outputProblem(env: Pick<Required<LanguageEnv>, 'probe'>, abs: string): string | undefined {
  const own = env.probe(abs);
  if (own.kind === 'file') return `${abs} is a file, not a folder`;
  if (own.kind === 'dir') return own.writable ? undefined : `the folder ${abs} is not writable`;
  for (let p = dirnamePath(abs); ; p = dirnamePath(p)) {
    const up = env.probe(p);
    if (up.kind === 'file') return `${p} is a file, so the folder ${abs} cannot be created`;
    if (up.kind === 'dir') return up.writable ? undefined : `the folder ${p} is not writable, so ${abs} cannot be created in it`;
    if (dirnamePath(p) === p) return undefined;
  }
}

function checkOutput(c: Checker, s: SectionInfo): void {
  const a = c.a;
  const written = s.values.has('output') ? s.values.str('output') : undefined;
  if (written !== undefined) {
    const abs = a.resolvePath(written);
    const problem = abs !== undefined ? outputProblem(c.env, abs) : undefined;
    if (problem !== undefined) {
      report(
        c,
        valueSpan(s.values, 'output', s.headerSpan),
        `cannot write the runs of \`${s.kind} ${s.name}\`: ${problem}; set \`output\` to a folder you can write to`,
      );
    }
    return;
  }
  if (a.runsDir === undefined) return;
  const abs = joinPath(a.runsDir, s.name);
  const problem = outputProblem(c.env, abs);
  if (problem === undefined) return;
  const runs = a.root.entryOf('runs');
  const where = runs?.value !== undefined ? span(runs.value.start, runs.value.end) : s.headerSpan;
  const fix =
    runs !== undefined
      ? 'set `runs` to a folder you can write to, or give this section its own `output`'
      : 'add `runs "FOLDER"` at the top of the file, or give this section an `output`';
  report(c, where, `cannot write the runs of \`${s.kind} ${s.name}\` to ${abs}: ${problem}; ${fix}`);
}

function checkPromptSet(c: Checker, p: SectionInfo): void {
  const v = p.values;
  const raw = v.str('data');
  const file = raw !== undefined ? c.a.resolvePath(raw) : undefined;
  if (file === undefined) return;
  const dataSpan = valueSpan(v, 'data', p.headerSpan);
  const probe = c.env.probe(file);
  if (probe.kind !== 'file') return; // reported as missing-file by lower.ts
  if (probe.size === 0) {
    report(c, dataSpan, `${file} is empty; a prompt set needs a header row naming its columns (e.g. statement,label) and one statement per line`);
    return;
  }
  const head = c.env.csvHeader(file);
  if (!head.ok) {
    report(c, dataSpan, `${head.reason}; check the file's permissions`);
    return;
  }
  const found = head.columns.map((h) => h.trim().toLowerCase());
  const listed = head.columns.map((h) => JSON.stringify(h.trim())).join(', ');
  for (const key of ['text_column', 'label_column', 'order_column']) {
    if (key === 'order_column' && !v.has(key)) continue;
    const col = v.text(key);
    if (found.includes(col.trim().toLowerCase())) continue;
    const where = v.has(key) ? valueSpan(v, key, dataSpan) : dataSpan;
    report(
      c,
      where,
      `${file}:1: the header has no column "${col}" (its columns: ${listed || 'none'}); ${v.has(key) ? `set \`${key}\` to one of them` : `set \`${key}\` to the column that holds the ${key === 'text_column' ? 'statements' : 'labels'}`}, or rename the column in the file`,
    );
  }
  if (!head.hasRows) report(c, dataSpan, `${file} has a header but no rows; add statements, one per line after the header (e.g. \`Water is wet.,1\`)`);
}

function checkTextData(c: Checker, s: SectionInfo, values: BlockValues, key: string, what = 'a text file with the text to score'): void {
  const raw = values.str(key);
  const file = raw !== undefined ? c.a.resolvePath(raw) : undefined;
  if (file === undefined) return;
  const probe = c.env.probe(file);
  if (probe.kind === 'file' && probe.size === 0) {
    report(c, valueSpan(values, key, s.headerSpan), `${file} is empty; point \`${key}\` at ${what}`);
  }
}

function checkModel(c: Checker, m: ResolvedModel): void {
  const s = m.section;
  const pathSpan = valueSpan(s.values, 'path', s.headerSpan);
  if (m.path === undefined || m.result === undefined) return;
  if (!m.result.ok) {
    if (m.result.missing) {
      report(
        c,
        pathSpan,
        `model not found: nothing at ${m.path}; a run stops here. Set \`path\` to a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) or a llama2.c .bin, or download the model there`,
        'warning',
      );
    }
    return; // an unreadable config is reported by lower.ts
  }
  const info = m.result.info;
  const probe = c.env.probe(m.path);
  if (probe.kind === 'dir') {
    const w = c.env.weights(m.path);
    if (!w.ok) {
      report(c, pathSpan, `cannot use the weights of model \`${s.name}\`: ${w.reason}; re-download or re-save the model`);
    } else {
      for (const spec of paramSpecs(info.config)) {
        const t = w.tensors.get(spec.name) ?? (spec.name.startsWith('transformer.') ? w.tensors.get(spec.name.slice('transformer.'.length)) : undefined);
        const want = `[${spec.diskShape.join(', ')}]`;
        if (t === undefined) {
          report(
            c,
            pathSpan,
            `${w.files[0] ?? m.path}: tensor "${spec.name}" is missing (config.json implies shape ${want}); is config.json the config of these weights? Re-download the model`,
          );
          break;
        }
        if (t.shape.length !== spec.diskShape.length || t.shape.some((d, i) => d !== spec.diskShape[i])) {
          report(
            c,
            pathSpan,
            `${t.file}: tensor "${spec.name}" has shape [${t.shape.join(', ')}], but config.json implies ${want}; is config.json the config of these weights?`,
          );
          break;
        }
      }
    }
    if (!s.values.has('tokenizer')) {
      const present = HF_TOKENIZER_FILES.some((set) => set.every((f) => c.env.stat(joinPath(m.path as string, f)) === 'file'));
      if (!present) {
        report(
          c,
          pathSpan,
          `model \`${s.name}\` has no tokenizer: ${m.path} holds none of tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe; copy the model's tokenizer files into the folder (save_pretrained writes tokenizer.json)`,
        );
      }
    }
    return;
  }
  if (probe.kind === 'file' && !s.values.has('tokenizer')) {
    const dir = dirnamePath(m.path);
    const candidates = ['tokenizer.bin', `tok${info.vocabSize}.bin`];
    if (!candidates.some((f) => c.env.stat(joinPath(dir, f)) === 'file')) {
      report(
        c,
        pathSpan,
        `no llama2.c tokenizer next to ${m.path}: looked for ${candidates.join(' and ')} in ${dir}; set \`tokenizer\` to the checkpoint's tokenizer.bin, or copy it there`,
      );
    }
  }
}

/** The prompt sets a section reads, by the references it writes (nested blocks included). */
function promptRefs(values: BlockValues, out: Set<string>): void {
  for (const kv of values.allWritten()) {
    if (kv.spec.type.kind === 'ref' && kv.spec.type.section === 'prompts' && kv.lowered?.kind === 'ref') for (const n of kv.lowered.values) out.add(n);
  }
  for (const [, nested] of values.nestedBlocks()) promptRefs(nested, out);
}

/**
 * Reports every problem of the sections `only` accepts (all when undefined) and of the prompt sets and models
 * they use. Off when the host lacks `probe`, `csvHeader` or `weights`.
 */
export function checkPreflight(a: AnalysisCore, sink: Sink, only?: (s: SectionInfo) => boolean): void {
  const env = a.options.env;
  if (env?.probe === undefined || env.csvHeader === undefined || env.weights === undefined) return;
  const c: Checker = { a, env: env as Checker['env'], sink, seen: new Set() };
  const runnable = a.sections.filter((s) => s.kind !== 'model' && s.kind !== 'prompts' && (only === undefined || only(s)));
  const prompts = new Set<string>();
  const models = new Set<ResolvedModel>();
  for (const s of runnable) {
    checkOutput(c, s);
    promptRefs(s.values, prompts);
    const m = a.modelOf(s);
    if (m !== undefined) models.add(m);
    if (s.kind === 'eval' && s.values.has('perplexity')) checkTextData(c, s, s.values.block('perplexity'), 'data');
    if (s.kind === 'eval' && s.values.block('generate').has('score'))
      checkTextData(c, s, s.values.block('generate').block('score'), 'lexicon', 'a lexicon file (one `WORD WEIGHT` entry per line, e.g. `happy 1`)');
  }
  if (only === undefined) {
    for (const p of a.sectionsOf('prompts')) prompts.add(p.name);
    for (const m of a.models.values()) models.add(m);
  }
  for (const name of prompts) {
    const p = a.section('prompts', name);
    if (p !== undefined) checkPromptSet(c, p);
  }
  for (const m of models) checkModel(c, m);
}
