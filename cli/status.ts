/**
 * `rtune status FILE.rtune [SECTION ...] [--all] [--json]`: the run folders of a file's sections, newest first, and
 * the state of each as every reader reads it (readRunState: summary.json when there is one, `interrupted` for a
 * folder left `running` by a process that is gone). A folder belongs to a section by the `run` event its
 * events.jsonl opens with. Runs nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readRunState } from '../common/run-status';
import { loadRunConfig } from '../language/analysis';
import { createNodeEnv } from '../language/node-env';
import { formatDiagnostics } from '../language/report';
import type { RunConfig, RunKind } from '../protocol/contract';
import { packageRoot } from './paths';

export interface RunRow {
  kind: RunKind;
  section: string;
  dir: string;
  status: string;
  message?: string;
  started?: string;
  updated?: string;
}

function opening(dir: string): { section?: unknown; kind?: unknown } | undefined {
  try {
    const fd = fs.openSync(path.join(dir, 'events.jsonl'), 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const text = buf.subarray(0, n).toString('utf8');
      const nl = text.indexOf('\n');
      const e = JSON.parse(nl >= 0 ? text.slice(0, nl) : text) as { type?: unknown; section?: unknown; kind?: unknown };
      return e.type === 'run' ? e : undefined;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** Every run folder of the named sections (all runnable ones when none are named), newest first per section. */
export function listRuns(config: RunConfig, names: readonly string[] = []): RunRow[] {
  const tables = {
    direction: config.directions,
    tune: config.tunes,
    search: config.searches,
    eval: config.evals,
    export: config.exports,
    compare: config.compares,
  };
  const out: RunRow[] = [];
  for (const ref of config.order) {
    if (ref.kind === 'model' || ref.kind === 'prompts' || (names.length > 0 && !names.includes(ref.name))) continue;
    const kind = ref.kind as RunKind;
    const output = tables[kind][ref.name]?.output;
    if (output === undefined) continue;
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(output).filter((n) => !n.startsWith('.'));
    } catch {
      // never run
    }
    const rows: RunRow[] = [];
    for (const n of entries) {
      const dir = path.join(output, n);
      const e = opening(dir);
      if (e?.section !== ref.name || e.kind !== kind) continue;
      const st = readRunState(dir);
      rows.push({
        kind,
        section: ref.name,
        dir,
        status: st.status,
        ...(st.message !== undefined ? { message: st.message } : {}),
        ...(st.started !== undefined ? { started: st.started } : {}),
        ...(st.updated !== undefined ? { updated: st.updated } : {}),
      });
    }
    rows.sort((a, b) => (b.started ?? '').localeCompare(a.started ?? '') || b.dir.localeCompare(a.dir));
    out.push(...rows);
  }
  return out;
}

export function cmdStatus(argv: string[], usage: (code: number) => number): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { all: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
  });
  if (values.help) return usage(0);
  const [file, ...names] = positionals;
  if (!file) return usage(2);
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch {
    process.stderr.write(`rtune status: ${abs}: file not found or unreadable\n`);
    return 2;
  }
  const loaded = loadRunConfig(text, { baseDir: path.dirname(abs), builtinRoot: packageRoot(), env: createNodeEnv() });
  if ('errors' in loaded) {
    process.stderr.write(formatDiagnostics(abs, text, loaded.errors));
    return 1;
  }
  let rows = listRuns(loaded.config, names);
  if (!values.all) rows = rows.filter((r, i) => rows.findIndex((x) => x.kind === r.kind && x.section === r.section) === i);
  if (values.json) process.stdout.write(`${JSON.stringify({ type: 'runs', runs: rows })}\n`);
  else {
    process.stdout.write('| section | status | run folder | message |\n| --- | --- | --- | --- |\n');
    for (const r of rows) process.stdout.write(`| ${r.kind} ${r.section} | ${r.status} | ${r.dir} | ${(r.message ?? '').replace(/\|/g, '\\|')} |\n`);
  }
  return 0;
}
