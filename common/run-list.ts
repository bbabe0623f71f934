/**
 * The run folders of a file's sections, newest first, as `rtune status` and `rtune report` list them. A folder
 * belongs to a section by the `run` event its events.jsonl opens with; its state is readRunState's. The config is
 * typed structurally (the RunConfig of protocol/contract.ts fits), so this stays free of the contract. Runs nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRunState } from './run-status';

export interface RunRow {
  kind: string;
  section: string;
  dir: string;
  status: string;
  message?: string;
  started?: string;
  updated?: string;
}

/** What listing needs of a RunConfig: the section order and each runnable section's `output` folder. */
export interface RunListConfig {
  order: ReadonlyArray<{ kind: string; name: string }>;
  directions: Readonly<Record<string, { output: string } | undefined>>;
  tunes: Readonly<Record<string, { output: string } | undefined>>;
  searches: Readonly<Record<string, { output: string } | undefined>>;
  evals: Readonly<Record<string, { output: string } | undefined>>;
  exports: Readonly<Record<string, { output: string } | undefined>>;
  [table: string]: unknown;
}

/** The section kinds that write run folders, and the config table of each (a later kind may add its table). */
const TABLES: Record<string, string> = { direction: 'directions', tune: 'tunes', search: 'searches', eval: 'evals', export: 'exports', compare: 'compares' };

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

/** The runnable sections of `config` (the named ones, or all when none are), in file order, with their output folders. */
export function runnableOutputs(config: RunListConfig, names: readonly string[] = []): Array<{ kind: string; section: string; output: string }> {
  const out: Array<{ kind: string; section: string; output: string }> = [];
  for (const ref of config.order) {
    const table = TABLES[ref.kind];
    if (table === undefined || (names.length > 0 && !names.includes(ref.name))) continue;
    const sec = (config[table] as Record<string, { output?: unknown } | undefined> | undefined)?.[ref.name];
    if (typeof sec?.output !== 'string') continue;
    out.push({ kind: ref.kind, section: ref.name, output: sec.output });
  }
  return out;
}

/** Every run folder of the named sections (all runnable ones when none are named), newest first per section. */
export function listRuns(config: RunListConfig, names: readonly string[] = []): RunRow[] {
  const out: RunRow[] = [];
  for (const { kind, section, output } of runnableOutputs(config, names)) {
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
      if (e?.section !== section || e.kind !== kind) continue;
      const st = readRunState(dir);
      rows.push({
        kind,
        section,
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
