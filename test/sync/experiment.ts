/**
 * A small, fast experiment on the built-in demo model, written as data so a test can change one key and run it:
 * the key-behaviour test (keys.test.ts) runs it twice, differing only in one key, and compares what the runs left
 * (`fingerprint`). Every section kind is present; each runs in a second or two on the 2-core CI machine.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadRunConfig } from '../../language/analysis';
import { runConfig } from '../../job/runner';
import { createNodeEnv } from '../../language/node-env';
import type { JobEvent } from '../../protocol/job';
import type { RunSummary } from '../../protocol/lsp';
import { REPO_ROOT } from '../helpers';

/** Key → value source text, or a nested block. */
export interface Body {
  [key: string]: string | Body;
}
export interface Section {
  kind: string;
  name: string;
  body: Body;
}
export interface Experiment {
  root: Body;
  sections: Section[];
}

const TEMPLATE = '"{persona}\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer: {label}"';
const ORDERED = '"{persona}\\nIs this claim true or false? {statement}\\nA) {option_a}\\nB) {option_b}\\nAnswer: {label}"';
const LIAR = '"Pretend you are a dishonest person.\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer:"';

/** The base experiment. Keys a check varies are either absent here (their default applies) or set to a non-default value. */
export function baseExperiment(): Experiment {
  return {
    root: { version: '1', runs: '"runs"' },
    sections: [
      { kind: 'model', name: 'demo', body: { path: 'builtin:demo', backend: 'wasm' } },
      { kind: 'model', name: 'demo2', body: { path: 'builtin:demo', backend: 'cpu' } },
      {
        kind: 'prompts',
        name: 'contrast',
        body: {
          data: '"facts.csv"',
          template: TEMPLATE,
          positive: { persona: '"Pretend you are an honest person."' },
          negative: { persona: '"Pretend you are a dishonest person."' },
          pairing: 'paired',
          anchor: '"Answer:"',
          limit: '24',
        },
      },
      {
        kind: 'prompts',
        name: 'contrast2',
        body: {
          data: '"facts.csv"',
          template: TEMPLATE,
          positive: { persona: '"Pretend you are an honest person."' },
          negative: { persona: '"Pretend you are a dishonest person."' },
          pairing: 'paired',
          anchor: '"Answer:"',
          split: 'direction',
          limit: '16',
        },
      },
      {
        kind: 'prompts',
        name: 'ordered',
        body: {
          data: '"facts.csv"',
          template: ORDERED,
          positive: { persona: '"Pretend you are an honest person."' },
          negative: { persona: '"Pretend you are a dishonest person."' },
          anchor: '"Answer:"',
          order_column: '"order"',
          limit: '16',
        },
      },
      { kind: 'prompts', name: 'liar', body: { data: '"facts.csv"', template: LIAR, anchor: '"Answer:"', limit: '32' } },
      { kind: 'prompts', name: 'other', body: { data: '"facts.csv"', template: LIAR.replace('dishonest', 'careless'), anchor: '"Answer:"', limit: '16' } },
      { kind: 'direction', name: 'honesty', body: { model: 'demo', prompts: 'contrast', layers: '[0, 1, 2]', positions: '[-1, 0]', batch: '8' } },
      {
        kind: 'direction',
        name: 'second',
        body: { model: 'demo', prompts: 'contrast2', layers: '[0, 1, 2]', positions: '[-1, 0]', method: 'pca', batch: '8' },
      },
      { kind: 'direction', name: 'ordered_dir', body: { model: 'demo', prompts: 'ordered', layers: '[1, 2]', positions: '0', batch: '8' } },
      { kind: 'direction', name: 'control', body: { model: 'demo', method: 'random', layers: '[0, 1, 2]', positions: '[-1, 0]', seed: '3' } },
      {
        kind: 'tune',
        name: 'truthful',
        body: {
          model: 'demo',
          prompts: 'liar',
          direction: 'honesty',
          layers: '1..2',
          position: '-1',
          token_loss: { weight: '1', blocks: '[down]' },
          projection_loss: { weight: '1', blocks: '[v, o]' },
          optimizer: { lr_token: '3e-3', lr_projection: '3e-3' },
          batch: '8',
          max_steps: '6',
          holdout: '0.25',
          early_stopping: { min_steps: '0', patience: '100', window: '2' },
        },
      },
      // A tune whose held-out loss stops improving at once (a learning rate far too high): early stopping has work.
      {
        kind: 'tune',
        name: 'stall',
        body: {
          model: 'demo',
          prompts: 'other',
          direction: 'second',
          layers: '1',
          epochs: '10',
          max_steps: '8',
          batch: '4',
          optimizer: { lr_token: '0.3', lr_projection: '0.3' },
          early_stopping: { every: '1', patience: '1', min_steps: '0' },
        },
      },
      {
        kind: 'tune',
        name: 'other_tune',
        body: {
          model: 'demo',
          prompts: 'other',
          direction: 'second',
          layers: '1',
          epochs: '1',
          batch: '4',
          optimizer: { lr_token: '1e-2', lr_projection: '1e-2' },
          early_stopping: { enabled: 'false' },
        },
      },
      {
        kind: 'search',
        name: 'blocks',
        body: { tune: 'truthful', token_blocks: '[down]', projection_blocks: '[v, o]', strategy: 'exhaustive', steps_per_trial: '2', sample_tokens: '4' },
      },
      {
        kind: 'search',
        name: 'halve',
        body: { tune: 'other_tune', token_blocks: '[down]', projection_blocks: '[v, o]', strategy: 'halving', min_steps: '1', eta: '2', sample_tokens: '2' },
      },
      {
        kind: 'eval',
        name: 'plain',
        body: { model: 'demo', perplexity: { data: '"text.txt"', max_length: '64', stride: '32', max_tokens: '200', bootstrap: '50' } },
      },
      {
        kind: 'eval',
        name: 'check',
        body: {
          model: 'demo',
          tuned: 'truthful',
          perplexity: { data: '"text.txt"', max_length: '64', stride: '32', batch: '2', bootstrap: '100', max_tokens: '400' },
          ab: { holdout: 'true' },
          steering: { direction: 'honesty', layers: '[1, 2]', multipliers: '[2]' },
          projection_cosine: { limit: '8' },
          generate: { limit: '2', max_new_tokens: '4', score: { lexicon: '"lexicon.txt"' } },
        },
      },
      { kind: 'compare', name: 'table', body: { evals: '[check]' } },
      {
        kind: 'export',
        name: 'release',
        body: { tune: 'truthful', direction: 'honesty', direction_formats: '[safetensors, gguf]', output: '"exports/release"' },
      },
    ],
  };
}

function bodyText(b: Body, indent: string): string {
  return Object.entries(b)
    .map(([k, v]) => (typeof v === 'string' ? `${indent}${k} ${v}` : `${indent}${k} {\n${bodyText(v, `${indent}  `)}\n${indent}}`))
    .join('\n');
}

export function experimentText(x: Experiment): string {
  return `${bodyText(x.root, '')}\n${x.sections.map((s) => `${s.kind} ${s.name} {\n${bodyText(s.body, '  ')}\n}`).join('\n')}\n`;
}

/** A copy of `x` with `key` (a dotted path inside the section, or a root key when `section` is undefined) set to `value`, or removed when `value` is undefined. */
export function withKey(x: Experiment, section: string | undefined, key: string, value: string | undefined): Experiment {
  const y = JSON.parse(JSON.stringify(x)) as Experiment;
  let body: Body = section === undefined ? y.root : (y.sections.find((s) => s.name === section) ?? fail(`no section ${section}`)).body;
  const parts = key.split('.');
  for (const p of parts.slice(0, -1)) {
    const next = body[p];
    if (typeof next === 'string') fail(`${p} is not a block`);
    body = (body[p] = next ?? {}) as Body;
  }
  const last = parts[parts.length - 1] as string;
  if (value === undefined) delete body[last];
  else body[last] = value;
  return y;
}

function fail(message: string): never {
  throw new Error(message);
}

export interface Outcome {
  dir: string;
  summaries: RunSummary[];
  events: JobEvent[];
  /** Per run folder (by section name): its result.json, summary headline/metrics/detail, the numeric events and its other files' hashes, with times and paths taken out. */
  runs: Record<string, unknown>;
}

const VOLATILE = new Set(['started', 'finished', 'updated', 'ms', 'seconds', 'elapsedMs', 'tokensPerSecond', 'run', 'dir', 'file', 'from']);

function scrub(v: unknown, dir: string): unknown {
  if (typeof v === 'string')
    return v
      .split(dir)
      .join('<dir>')
      .replace(/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?/g, '<stamp>')
      .replace(/\d{8}T\d{6}Z/g, '<stamp>');
  if (Array.isArray(v)) return v.map((x) => scrub(x, dir));
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !VOLATILE.has(k))
        .map(([k, x]) => [k, scrub(x, dir)]),
    );
  return v;
}

function hashTree(root: string, skip: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (!skip.has(n)) out[path.relative(root, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16);
    }
  };
  walk(root);
  return out;
}

/** Write the experiment into a fresh folder with its data, run `sections` (with what they stand on) and collect what the runs left. */
export async function runExperiment(x: Experiment, sections: string[]): Promise<Outcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-keys-'));
  const data = path.join(REPO_ROOT, 'examples', 'demo-model', 'data');
  // facts.csv: the demo's statements, with a second statement column (another row's) and a second label column
  // (flipped), so the column keys have something to choose; facts2.csv: the held-out statements.
  const lines = fs.readFileSync(path.join(data, 'facts-train.csv'), 'utf8').trim().split(/\r?\n/);
  const rows = lines.slice(1).map((l) => l.split(','));
  // Two option-order columns (order_column has something to choose): `order` alternates TF/FT, `order2` is FT every third row.
  const wide = rows.map(
    (r, i) =>
      `${r[0]},${r[1]},${(rows[(i + 7) % rows.length] as string[])[0]},${r[1] === '1' ? 0 : 1},${i % 2 === 0 ? 'TF' : 'FT'},${i % 3 === 0 ? 'FT' : 'TF'}`,
  );
  fs.writeFileSync(path.join(dir, 'facts.csv'), `statement,label,claim,truth,order,order2\n${wide.join('\n')}\n`);
  fs.copyFileSync(path.join(data, 'facts-heldout.csv'), path.join(dir, 'facts2.csv'));
  // text.txt has CRLF line endings (perplexity.newlines has something to do); text2.txt is another text.
  fs.writeFileSync(path.join(dir, 'text.txt'), fs.readFileSync(path.join(data, 'heldout.txt'), 'utf8').slice(0, 2000).replace(/\r?\n/g, '\r\n'));
  fs.writeFileSync(path.join(dir, 'text2.txt'), fs.readFileSync(path.join(data, 'heldout-honest.txt'), 'utf8').slice(0, 2000));
  // lexicon.txt and lexicon2.txt: word lexicons of generate.score (the second weighs common words).
  fs.writeFileSync(path.join(dir, 'lexicon.txt'), 'true 1\nfalse -1\n');
  fs.writeFileSync(path.join(dir, 'lexicon2.txt'), 'the 1\na 1\nis 2\nof -1\nand 1\nnot -1\n');
  const text = experimentText(x);
  const file = path.join(dir, 'exp.rtune');
  fs.writeFileSync(file, text);
  const r = loadRunConfig(text, { baseDir: dir, builtinRoot: REPO_ROOT, env: createNodeEnv() });
  if ('errors' in r) throw new Error(`${r.errors.map((e) => `offset ${e.span.start}: ${e.message}`).join('\n')}\n${text}`);
  const events: JobEvent[] = [];
  const summaries = await runConfig(r.config, sections, { file, emit: (e) => events.push(e) });
  const runs: Record<string, unknown> = {};
  for (const [i, e] of events.entries()) {
    if (e.type !== 'run') continue;
    const end = events.findIndex((x, j) => j > i && x.type === 'runEnd' && x.run === e.run);
    const mine = events.slice(i, end < 0 ? events.length : end + 1);
    const read = (n: string): unknown => (fs.existsSync(path.join(e.dir, n)) ? JSON.parse(fs.readFileSync(path.join(e.dir, n), 'utf8')) : undefined);
    const own = mine.filter((x) => 'run' in x && x.run === e.run && (x.type === 'step' || x.type === 'eval' || x.type === 'trial' || x.type === 'heatmap'));
    const summary = read('summary.json') as RunSummary | undefined;
    runs[e.section] = scrub(
      {
        where: path.relative(dir, path.dirname(e.dir)),
        status: summary?.status,
        headline: summary?.headline,
        metrics: summary?.metrics,
        detail: summary?.detail,
        result: read('result.json'),
        events: own,
        files: hashTree(e.dir, new Set(['config.json', 'events.jsonl', 'status.json', 'summary.json', 'result.json'])),
        logs: mine.filter((x) => x.type === 'log').map((x) => (x as { message: string }).message),
      },
      dir,
    );
  }
  return { dir, summaries, events, runs };
}
