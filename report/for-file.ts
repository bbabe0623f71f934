/**
 * The report of one `.rtune` file, for the CLI and the extension alike: lowers the text (language/analysis.ts,
 * the runs folder and each section's `output` as a run would use them), collects each section's newest finished
 * run and writes the report. Bad input is an error naming the file, line and fix; unknown section names are
 * named with the ones the file has.
 */
import * as path from 'node:path';
import { runnableOutputs, type RunListConfig } from '../common/run-list';
import { loadRunConfig } from '../language/analysis';
import { createNodeEnv } from '../language/node-env';
import { formatDiagnostics } from '../language/report';
import { collectReport, type ReportModel } from './model';
import { writeReport, type WrittenReport } from './write';

export interface ReportOptions {
  /** Sections to report (all runnable ones when empty). */
  sections?: readonly string[];
  /** Folder that holds examples/demo-model (`builtin:demo`). */
  builtinRoot: string;
  /** Runs folder for a file without a top-level `runs` key (the extension's rtune.runsFolder setting). */
  defaultRunsDir?: string;
  /** Write into this folder instead of `<runs>/reports/<stem>-<time>/`. */
  out?: string;
  now?: Date;
}

export type ReportOutcome = { ok: true; model: ReportModel; written: WrittenReport } | { ok: false; message: string };

export function reportForFile(file: string, text: string, opts: ReportOptions): ReportOutcome {
  const loaded = loadRunConfig(text, {
    baseDir: path.dirname(file),
    builtinRoot: opts.builtinRoot,
    env: createNodeEnv(),
    ...(opts.defaultRunsDir !== undefined ? { defaultRunsDir: opts.defaultRunsDir } : {}),
  });
  if ('errors' in loaded) return { ok: false, message: formatDiagnostics(file, text, loaded.errors) };
  const config = loaded.config as unknown as RunListConfig;
  const names = opts.sections ?? [];
  const have = runnableOutputs(config).map((s) => s.section);
  const unknown = names.filter((n) => !have.includes(n));
  if (unknown.length > 0) return { ok: false, message: `${file}: no runnable section named ${unknown.join(', ')} (have: ${have.join(', ') || 'none'})\n` };
  const model = collectReport(config, file, names, opts.now);
  const written = writeReport(model, { runsDir: loaded.config.runsDir, ...(opts.out !== undefined ? { out: opts.out } : {}) });
  return { ok: true, model, written };
}
