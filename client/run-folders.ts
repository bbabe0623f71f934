/**
 * Run folders on disk as the extension's pickers list them: every run folder under a runs folder ("Open Run…"),
 * and the finished tune runs with a checkpoint that an export can use ("Export…", job/checkpoint.ts writes them).
 * File system only: the extension host never loads the engine or job/checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runStatusOf } from '../job/run-folder';
import { analyze } from '../language/analysis';

/** The tune checkpoint's files (job/checkpoint.ts CHECKPOINT_FILE and CHECKPOINT_TENSORS; a test checks they agree). */
export const TUNE_CHECKPOINT_FILES = ['checkpoint.json', 'tuned.safetensors'] as const;

export interface RunFolderEntry {
  label: string;
  description: string;
  dir: string;
  mtime: number;
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Run folders (`<root>/<section>/<run>` with an events.jsonl) under the roots, newest first; the description is the status. */
export function runFoldersUnder(roots: Iterable<string>): RunFolderEntry[] {
  const out: RunFolderEntry[] = [];
  for (const root of roots) {
    let sections: string[] = [];
    try {
      sections = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const sec of sections) {
      let runs: string[] = [];
      try {
        runs = fs.readdirSync(path.join(root, sec));
      } catch {
        continue;
      }
      for (const r of runs) {
        const dir = path.join(root, sec, r);
        try {
          const st = fs.statSync(path.join(dir, 'events.jsonl'));
          out.push({ label: `${sec} / ${r}`, description: runStatusOf(dir).status, dir, mtime: st.mtimeMs });
        } catch {
          // not a run folder
        }
      }
    }
  }
  return out.sort((a, b) => b.mtime - a.mtime);
}

export interface TuneRun {
  dir: string;
  id: string;
  headline: string;
  finished: string;
}

/** True when `dir` is a finished (done) tune run folder with its checkpoint. */
export function isFinishedTuneRun(dir: string): boolean {
  const st = readJson(path.join(dir, 'status.json'));
  const sum = readJson(path.join(dir, 'summary.json'));
  return (
    st?.['status'] === 'done' && sum?.['status'] === 'done' && sum['kind'] === 'tune' && TUNE_CHECKPOINT_FILES.every((f) => fs.existsSync(path.join(dir, f)))
  );
}

/** Finished tune runs with a checkpoint of the section `tune` under `outputDir`, newest first. */
export function finishedTuneRuns(outputDir: string, tune: string): TuneRun[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(outputDir);
  } catch {
    return [];
  }
  const out: TuneRun[] = [];
  for (const id of names) {
    const dir = path.join(outputDir, id);
    const sum = readJson(path.join(dir, 'summary.json'));
    if (!isFinishedTuneRun(dir) || sum?.['section'] !== tune) continue;
    out.push({ dir, id, headline: String(sum['headline'] ?? ''), finished: String(sum['finished'] ?? '') });
  }
  return out.sort((a, b) => (a.finished < b.finished ? 1 : a.finished > b.finished ? -1 : 0));
}

/**
 * The tune an export section writes and the folder its runs go to (its `output`, or `<runs>/<tune>`), from the
 * document text; undefined when the export has no tune.
 */
export function exportTune(text: string, file: string, section: string, runsFolder?: string): { tune: string; outputDir: string } | undefined {
  const a = analyze(text, { baseDir: path.dirname(file), ...(runsFolder !== undefined ? { defaultRunsDir: runsFolder } : {}) });
  const tune = a.config?.exports[section]?.tune ?? a.section('export', section)?.values.str('tune');
  if (tune === undefined) return undefined;
  const outputDir = a.config?.tunes[tune]?.output ?? (a.runsDir !== undefined ? path.join(a.runsDir, tune) : undefined);
  return outputDir !== undefined ? { tune, outputDir } : undefined;
}

/** The export sections of a document that write the tune `tune`. */
export function exportsOfTune(text: string, tune: string): string[] {
  const a = analyze(text);
  return a.sectionsOf('export').flatMap((s) => (s.values.str('tune') === tune ? [s.name] : []));
}
