/**
 * Inline results, the pure half: which folder each runnable section's runs land in, how to read a
 * `summary.json` safely (unknown JSON → RunSummary or nothing), and which summary to show per section (the
 * newest finished one that belongs to this file). The server does the reading (server/results-reader.ts) and
 * shows the outcome as CodeLens text and inlay hints; protocol/lsp.ts defines the shapes.
 * Non-goals: no I/O, no formatting of metrics (the run writes its own headline).
 */

import { RTUNE_LSP_PROTOCOL_VERSION, RtuneSectionKind, RunSummary } from '../../protocol/lsp';
import { joinPath, normalizePath } from '../env';
import type { Analysis, SectionInfo } from '../lower';

const RUNNABLE: ReadonlySet<RtuneSectionKind> = new Set(['direction', 'tune', 'search', 'eval', 'export', 'compare']);

export interface ResultFolder {
  readonly section: SectionInfo;
  /** Absolute folder holding `<run id>/summary.json` for this section. */
  readonly dir: string;
}

/** The output folder of every runnable section whose folder can be resolved. */
export function resultFolders(a: Analysis): ResultFolder[] {
  const out: ResultFolder[] = [];
  for (const s of a.sections) {
    if (!RUNNABLE.has(s.kind)) continue;
    const written = s.values.has('output') ? s.values.str('output') : undefined;
    const dir = written !== undefined ? a.resolvePath(written) : a.runsDir !== undefined ? joinPath(a.runsDir, s.name) : undefined;
    if (dir !== undefined) out.push({ section: s, dir });
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const KINDS: readonly RtuneSectionKind[] = ['model', 'prompts', 'direction', 'tune', 'search', 'eval', 'export', 'compare'];
const STATUSES: readonly RunSummary['status'][] = ['done', 'failed', 'cancelled', 'skipped', 'interrupted'];

/** Parses summary.json text; undefined when it is not a valid RunSummary. */
export function parseRunSummary(text: string): RunSummary | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(json)) return undefined;
  const { section, kind, status, finished, headline, file, detail, started, metrics } = json;
  const k = KINDS.find((x) => x === kind);
  const st = STATUSES.find((x) => x === status);
  if (typeof section !== 'string' || k === undefined || st === undefined || typeof finished !== 'string' || typeof headline !== 'string') return undefined;
  const numbers: Record<string, number> = {};
  if (isRecord(metrics)) for (const [m, n] of Object.entries(metrics)) if (typeof n === 'number' && Number.isFinite(n)) numbers[m] = n;
  return {
    protocolVersion: typeof json['protocolVersion'] === 'number' ? json['protocolVersion'] : RTUNE_LSP_PROTOCOL_VERSION,
    section,
    kind: k,
    status: st,
    finished,
    headline,
    file: typeof file === 'string' ? file : undefined,
    detail: typeof detail === 'string' ? detail : undefined,
    started: typeof started === 'string' ? started : undefined,
    metrics: Object.keys(numbers).length > 0 ? numbers : undefined,
  };
}

export interface FoundSummary {
  readonly runDir: string;
  readonly summary: RunSummary;
}

/** The newest summary that belongs to `section` of the file at `filePath` (if known). */
export function latestFor(section: SectionInfo, found: readonly FoundSummary[], filePath: string | undefined): FoundSummary | undefined {
  let best: FoundSummary | undefined;
  for (const f of found) {
    const s = f.summary;
    if (s.section !== section.name || s.kind !== section.kind) continue;
    if (s.file !== undefined && filePath !== undefined && normalizePath(s.file) !== normalizePath(filePath)) continue;
    if (best === undefined || Date.parse(s.finished) > Date.parse(best.summary.finished)) best = f;
  }
  return best;
}

const MARKS: Record<RunSummary['status'], string> = {
  done: '✓',
  failed: '✗ failed:',
  cancelled: '◌ cancelled:',
  skipped: '◌ skipped:',
  interrupted: '✗ interrupted:',
};

/** The text shown next to a section: "✓ headline", "✗ failed: headline", "◌ cancelled: headline", …. */
export function resultTitle(s: RunSummary): string {
  const mark = MARKS[s.status];
  // Skipped and interrupted headlines already start with their status word.
  return `${mark} ${s.headline.startsWith(`${s.status}: `) ? s.headline.slice(s.status.length + 2) : s.headline}`;
}
