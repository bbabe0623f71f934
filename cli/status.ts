/**
 * `rtune status FILE.rtune [SECTION ...] [--all] [--json]`: the run folders of a file's sections, newest first, and
 * the state of each as every reader reads it (readRunState: summary.json when there is one, `interrupted` for a
 * folder left `running` by a process that is gone). A folder belongs to a section by the `run` event its
 * events.jsonl opens with. Runs nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { listRuns as listRunFolders, type RunListConfig, type RunRow } from '../common/run-list';
import { loadRunConfig } from '../language/analysis';
import { createNodeEnv } from '../language/node-env';
import { hubCacheLookup } from '../hub/cache';
import { formatDiagnostics } from '../language/report';
import type { RunConfig } from '../protocol/contract';
import { packageRoot } from './paths';

export type { RunRow };

/** Every run folder of the named sections (all runnable ones when none are named), newest first per section (common/run-list.ts). */
export function listRuns(config: RunConfig, names: readonly string[] = []): RunRow[] {
  return listRunFolders(config as unknown as RunListConfig, names);
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
  const loaded = loadRunConfig(text, { baseDir: path.dirname(abs), builtinRoot: packageRoot(), env: createNodeEnv({ hub: hubCacheLookup() }) });
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
