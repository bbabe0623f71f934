/**
 * The `rtune` command line. Each command is a small function over the engine; progress goes to stderr,
 * results to stdout (a JSON object with --json). Exit codes: 0 success, 1 failure (message on stderr; for
 * `run`, any section that did not end done), 2 usage error, 130 cancelled (Ctrl-C; cli/run-report.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, BACKEND_NAMES, type BackendOptions, type BackendPreference } from '../engine/backend';
import { perplexity } from '../engine/eval/perplexity';
import { generate } from '../engine/generate';
import { encodeText, openModel } from '../engine/session';
import { CancelledError } from '../engine/util/cancel';
import { NEWLINE_MODES, newlineNote, readText, type NewlineMode, type TextData } from '../engine/util/text';
import type { PerplexityResult } from '../protocol/job';
import { ProgressBar } from './progress';
import { loadRunConfig } from '../language/analysis';
import { formatDiagnostics } from '../language/report';
import { backendOptionsFromEnv } from '../job/backend-env';
import { runConfig } from '../job/runner';
import { createNodeEnv } from '../language/node-env';
import { hubCacheLookup } from '../hub/cache';
import { packageRoot } from './paths';
import { EXIT_INTERRUPTED, handleRunSignals, reportRun, runEmitter } from './run-report';
import { cmdReport } from './report';
import { cmdStatus } from './status';

export { packageRoot };

const USAGE = `rtune — representation tuning from the command line

Usage:
  rtune generate   --model PATH --prompt TEXT [--max-tokens N] [--temperature T] [--top-p P] [--seed S] [--json]
  rtune perplexity --model PATH --data FILE [--max-length N] [--stride N] [--batch N] [--newlines lf|raw] [--json]
  rtune run FILE.rtune [SECTION ...] [--fresh] [--from RUN_FOLDER] [--backend NAME] [--threads N] [--json]
                                                  run the file's sections (all, or the named ones, with the
                                                  direction and tune they use) in order
  rtune status FILE.rtune [SECTION ...] [--all] [--json]
                                                  each section's newest run folder (every one with --all)
                                                  and its status: running, done, failed, cancelled, skipped,
                                                  or interrupted (its process is gone)
  rtune report FILE.rtune [SECTION ...] [--out DIR] [--json]
                                                  each section's newest finished run as one self-contained
                                                  report.html and report.md (default folder
                                                  <runs>/reports/<file>-<time>/, <runs>/reports/latest names it)
  rtune extract|tune|search|eval|export FILE.rtune [NAME ...] [same options]
                                                  run only the direction/tune/search/eval/export sections
  A direction or tune whose inputs (keys, data, model files) equal those of its newest finished run folder is
  loaded from it, not computed again. --fresh computes every one again; --from RUN_FOLDER gives the named eval
  or export sections the tune of that finished tune run folder (of the same model).

Common options:
  --model PATH       a Hugging Face model folder, a llama2.c .bin checkpoint, or "demo" (the built-in demo model)
  --tokenizer PATH   tokenizer for a llama2.c model (default: tokenizer.bin or tok<vocab>.bin next to it)
  --backend NAME     auto (default), ${BACKEND_NAMES.join(', ')}   (or RTUNE_BACKEND); for run, the backend of
                     model sections that say \`backend auto\`. auto takes webgpu only on a hardware GPU adapter
                     (RTUNE_WEBGPU=0: never); every command reports the backend and device it used
  --threads N        wasm threads (default: one per core, at most 8; or RTUNE_WASM_THREADS)
  --json             print the result as one JSON object on stdout
  -h, --help         this help
`;

class UsageError extends Error {}

export function resolveModelPath(p: string): string {
  if (p === 'demo' || p === 'builtin:demo') return path.join(packageRoot(), 'examples', 'demo-model');
  return path.resolve(p);
}

function intOpt(v: string | undefined, name: string, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, found "${v}"`);
  return n;
}

function numOpt(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, found "${v}"`);
  return n;
}

const BACKEND_OPTIONS = {
  backend: { type: 'string' },
  threads: { type: 'string' },
} as const;

const REUSE_OPTIONS = { fresh: { type: 'boolean', default: false }, from: { type: 'string' } } as const;

const COMMON = {
  model: { type: 'string' },
  tokenizer: { type: 'string' },
  ...BACKEND_OPTIONS,
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The backend a command asked for, from its flags, then the environment (the engine reads no environment). */
function backendChoice(values: { backend?: string | undefined; threads?: string | undefined }): { pref: BackendPreference; options: BackendOptions } {
  const fromEnv = values.backend === undefined && process.env['RTUNE_BACKEND'] !== undefined;
  const pref = (values.backend ?? process.env['RTUNE_BACKEND'] ?? 'auto') as BackendPreference;
  if (pref !== 'auto' && !BACKEND_NAMES.includes(pref)) {
    throw new UsageError(`${fromEnv ? 'RTUNE_BACKEND' : '--backend'} must be auto or one of ${BACKEND_NAMES.join(', ')}, found "${pref}"`);
  }
  // wasm threads: one per core (at most 8) unless --threads or RTUNE_WASM_THREADS says otherwise; the backend falls
  // back to one thread, with a note, if the threaded build does not start.
  const threads =
    values.threads !== undefined
      ? intOpt(values.threads, 'threads', 1)
      : process.env['RTUNE_WASM_THREADS'] !== undefined
        ? intOpt(process.env['RTUNE_WASM_THREADS'], 'threads', 1)
        : Math.min(os.cpus().length, 8);
  return { pref, options: { ...backendOptionsFromEnv(process.env), threads } };
}

async function startBackend(values: { backend?: string | undefined; threads?: string | undefined }) {
  const { pref, options } = backendChoice(values);
  return initBackend(pref, options);
}

function requireModel(v: string | undefined): string {
  if (!v) throw new UsageError('--model PATH is required (a model folder, a llama2.c .bin, or "demo")');
  return resolveModelPath(v);
}

async function cmdGenerate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMMON,
      prompt: { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
    },
    allowPositionals: false,
  });
  if (values.help) return usage(0);
  const modelPath = requireModel(values.model);
  if (values.prompt === undefined) throw new UsageError('--prompt TEXT is required');
  const backend = await startBackend(values);
  const s = openModel(modelPath, values.tokenizer ? { tokenizerPath: path.resolve(values.tokenizer) } : {});
  try {
    const prompt = encodeText(s.tokenizer, values.prompt);
    if (prompt.length === 0) throw new UsageError('the prompt encodes to no tokens and the model has no BOS; give a non-empty --prompt');
    const maxTokens = intOpt(values['max-tokens'], 'max-tokens', 64);
    const temperature = numOpt(values.temperature, 'temperature', 0);
    const topP = numOpt(values['top-p'], 'top-p', 1);
    const seed = intOpt(values.seed, 'seed', 0, 0);
    const stopIds = [s.tokenizer.eosId, s.model.format === 'llama2c' ? s.tokenizer.bosId : null].filter((x): x is number => x !== null);
    const t0 = Date.now();
    let printed = '';
    const generated: number[] = [];
    if (!values.json) process.stdout.write(values.prompt);
    const res = await generate(s.model, [prompt], {
      maxNewTokens: maxTokens,
      temperature,
      topP,
      seed,
      stopIds,
      onStep: (_step, toks) => {
        const id = toks[0];
        if (id === undefined || values.json) return;
        generated.push(id);
        // Decode the whole continuation and print the new suffix, so multi-byte characters come out whole.
        const text = s.tokenizer.decode([...prompt, ...generated]);
        const full = text.slice(Math.min(text.length, s.tokenizer.decode(prompt).length));
        if (full.startsWith(printed) && !full.endsWith('\ufffd')) {
          process.stdout.write(full.slice(printed.length));
          printed = full;
        }
      },
    });
    const tokens = res.tokens[0] as number[];
    const seconds = (Date.now() - t0) / 1000;
    if (values.json) {
      const text = s.tokenizer.decode([...prompt, ...tokens]);
      process.stdout.write(
        `${JSON.stringify({
          prompt: values.prompt,
          completion: text.slice(s.tokenizer.decode(prompt).length),
          text,
          prompt_tokens: prompt,
          tokens,
          finish: res.finish[0],
          temperature,
          top_p: topP,
          seed,
          backend: backend.backend,
          device: backend.device,
          seconds,
          tokens_per_second: tokens.length / seconds,
        })}\n`,
      );
    } else {
      process.stdout.write('\n');
      process.stderr.write(`[${tokens.length} tokens, ${(tokens.length / seconds).toFixed(1)} tok/s, ${backend.device}]\n`);
    }
    return 0;
  } finally {
    s.dispose();
  }
}

async function cmdPerplexity(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMMON,
      data: { type: 'string' },
      'max-length': { type: 'string' },
      stride: { type: 'string' },
      batch: { type: 'string' },
      newlines: { type: 'string' },
    },
    allowPositionals: false,
  });
  if (values.help) return usage(0);
  const modelPath = requireModel(values.model);
  if (!values.data) throw new UsageError('--data FILE is required (a UTF-8 text file)');
  const dataPath = path.resolve(values.data);
  const mode = values.newlines ?? 'lf';
  if (!(NEWLINE_MODES as readonly string[]).includes(mode)) throw new UsageError(`--newlines ${mode}: use ${NEWLINE_MODES.join(' or ')}`);
  let data: TextData;
  try {
    data = readText(dataPath, mode as NewlineMode);
  } catch {
    throw new UsageError(`--data ${dataPath}: file not found or unreadable`);
  }
  const note = newlineNote(data.newlines, dataPath);
  if (note !== undefined) process.stderr.write(`${note}\n`);
  const backend = await startBackend(values);
  const s = openModel(modelPath, values.tokenizer ? { tokenizerPath: path.resolve(values.tokenizer) } : {});
  try {
    const maxLength = intOpt(values['max-length'], 'max-length', Math.min(1024, s.model.config.maxPositions), 2);
    const stride = intOpt(values.stride, 'stride', Math.max(1, Math.floor(maxLength / 2)));
    if (stride > maxLength) throw new UsageError(`--stride ${stride} must not exceed --max-length ${maxLength}`);
    const batch = intOpt(values.batch, 'batch', 4);
    const t0 = Date.now();
    const ids = encodeText(s.tokenizer, data.text);
    const bar = new ProgressBar('perplexity');
    const out = await perplexity(s.model, ids, {
      maxLength,
      stride,
      batch,
      onProgress: (done, total, ppl) => bar.update(done, total, 'windows', `ppl ${ppl.toFixed(3)}`),
    });
    bar.finish();
    const seconds = (Date.now() - t0) / 1000;
    const result: PerplexityResult = {
      perplexity: out.perplexity,
      nll: out.nll,
      tokens: out.tokens,
      scored_tokens: out.scoredTokens,
      windows: out.windows.length,
      max_length: maxLength,
      stride,
      batch,
      backend: backend.backend,
      device: backend.device,
      model: modelPath,
      data: dataPath,
      newlines: data.newlines,
      seconds,
      tokens_per_second: out.scoredTokens / seconds,
      window_nll: out.windowNll,
      window_tokens: out.windowTokens,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(
        `perplexity ${out.perplexity.toFixed(4)}  (mean NLL ${out.nll.toFixed(4)} nats over ${out.scoredTokens} scored of ${out.tokens} tokens, ` +
          `${out.windows.length} windows, max_length ${maxLength}, stride ${stride})\n` +
          `${path.basename(modelPath)} on ${path.basename(dataPath)}: ${seconds.toFixed(1)} s, ${(out.scoredTokens / seconds).toFixed(0)} tok/s, ${backend.device}\n`,
      );
    }
    return 0;
  } finally {
    s.dispose();
  }
}

/** `rtune extract|tune|search|eval|export FILE [NAME...]`: run only sections of that kind (all of them, or the named ones). */
const SHORTCUT_KIND: Record<string, string> = { extract: 'direction', tune: 'tune', search: 'search', eval: 'eval', export: 'export' };

async function cmdRun(argv: string[], onlyKind?: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...BACKEND_OPTIONS, ...REUSE_OPTIONS, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
  });
  if (values.help) return usage(0);
  const { pref, options } = backendChoice(values);
  const reuse = { ...(values.fresh ? { fresh: true } : {}), ...(values.from !== undefined ? { from: path.resolve(values.from) } : {}) };
  const [file, ...sections] = positionals;
  if (!file) throw new UsageError('give the .rtune file to run: rtune run FILE.rtune [SECTION ...]');
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch {
    throw new UsageError(`${abs}: file not found or unreadable`);
  }
  const loaded = loadRunConfig(text, { baseDir: path.dirname(abs), builtinRoot: packageRoot(), env: createNodeEnv({ hub: hubCacheLookup() }) });
  if ('errors' in loaded) {
    process.stderr.write(formatDiagnostics(abs, text, loaded.errors));
    return 1;
  }
  let selected = sections;
  if (onlyKind !== undefined) {
    const ofKind = loaded.config.order.filter((r) => r.kind === onlyKind).map((r) => r.name);
    const wrong = sections.filter((n) => !ofKind.includes(n));
    if (wrong.length > 0) throw new UsageError(`${wrong.join(', ')}: no ${onlyKind} section of that name (have: ${ofKind.join(', ') || 'none'})`);
    selected = sections.length > 0 ? sections : ofKind;
    if (selected.length === 0) throw new UsageError(`${abs} has no ${onlyKind} section`);
  }
  const emit = runEmitter(values.json);
  const ctl = new AbortController();
  const unhandle = handleRunSignals(ctl);
  try {
    const { threads, ...backendOptions } = options;
    const summaries = await runConfig(loaded.config, selected, {
      file: abs,
      source: { text, analysis: loaded.analysis },
      emit,
      signal: ctl.signal,
      backend: pref,
      threads,
      backendOptions,
      ...reuse,
    });
    const code = reportRun(summaries, values.json);
    if (ctl.signal.aborted) {
      process.stderr.write(`rtune run: cancelled\n`);
      return EXIT_INTERRUPTED;
    }
    return code;
  } finally {
    unhandle();
  }
}

function usage(code: number): number {
  (code === 0 ? process.stdout : process.stderr).write(USAGE);
  return code;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  generate: cmdGenerate,
  perplexity: cmdPerplexity,
  run: (argv) => cmdRun(argv),
  status: (argv) => Promise.resolve(cmdStatus(argv, usage)),
  report: (argv) => Promise.resolve(cmdReport(argv, usage)),
  ...Object.fromEntries(Object.entries(SHORTCUT_KIND).map(([cmd, kind]) => [cmd, (argv: string[]) => cmdRun(argv, kind)])),
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') return usage(cmd ? 0 : 2);
  const run = COMMANDS[cmd];
  if (!run) {
    process.stderr.write(`rtune: unknown command "${cmd}". Commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof CancelledError) {
      process.stderr.write(`rtune ${cmd}: cancelled\n`);
      return 1;
    }
    if (e instanceof UsageError || (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`rtune ${cmd}: ${e.message}\nRun "rtune ${cmd} --help" for usage.\n`);
      return 2;
    }
    process.stderr.write(`rtune ${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env['RTUNE_DEBUG'] && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`);
    return 1;
  }
}
