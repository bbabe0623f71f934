/**
 * A report section as blocks (tables, figures, generations, notes), built once from the run folder's files and
 * rendered by html.ts and markdown.ts alike. Every number in a table cell names where it comes from (`nums`:
 * the file and JSON path in the run folder, and the value), so a test can check each shown number against the
 * folder itself.
 */
import type { ReportRun, ReportSection } from './model';
import { heatmapSvg, lineChartSvg, PALETTE } from './svg';
import { formatNumber } from '../webview/common/format';
import { COLUMNS } from '../webview/leaderboard/columns';
import type { TrialData } from '../protocol/webview';
import { evalBlocks } from './eval-blocks';
import { comparisonBlocks } from './comparison';

export interface Num {
  /** `FILE#json.path` inside the run folder. */
  src: string;
  value: number;
  /** Shown as a percentage (value × 100). */
  pct?: boolean;
}
export interface Cell {
  text: string;
  nums?: Num[];
}
export type Block =
  | { type: 'table'; title?: string; head: string[]; rows: Cell[][]; note?: string }
  | { type: 'figure'; id: string; title: string; svg: string }
  | { type: 'generations'; title: string; items: Array<{ prompt: string; outputs: Array<{ condition: string; text: string }> }> }
  | { type: 'note'; text: string };

export const cell = (text: string, ...nums: Num[]): Cell => (nums.length > 0 ? { text, nums } : { text });
export const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
export const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
export const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);

/** A number cell in the panels' format, with its source. */
export function numCell(src: string, v: unknown, digits = 4): Cell {
  return typeof v === 'number' ? cell(formatNumber(v, digits), { src, value: v }) : cell('—');
}

function duration(s: number | undefined): string {
  if (s === undefined) return '—';
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Where and how the run was made: folder, status, times, hashes, backend, machine, versions. */
export function metaBlock(r: ReportRun): Block {
  const rows: Cell[][] = [
    [cell('run folder'), cell(r.dir)],
    [cell('status'), cell(`${r.status}: ${r.headline}`)],
    [cell('started'), cell(r.started ?? '—')],
    [cell('duration'), cell(duration(r.seconds))],
    [cell('config hash'), cell(r.configHash !== undefined ? `sha256:${r.configHash}` : '—')],
  ];
  if (r.inputsHash !== undefined) rows.push([cell('inputs hash'), cell(`sha256:${r.inputsHash}`)]);
  if (r.backends.length === 0)
    rows.push([cell('backend'), cell('not recorded (a run folder written before rtune recorded backends, or a section without a model)')]);
  for (const b of r.backends) {
    rows.push([cell(`backend${b.model !== undefined ? ` (model ${b.model})` : ''}`), cell(`${b.backend.backend}: ${b.backend.device}`)]);
    if (b.machine)
      rows.push([
        cell('machine'),
        cell(
          `${b.machine.host}: ${b.machine.cpu}, ${b.machine.cores} cores, ${(b.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${b.machine.platform} ${b.machine.arch}`,
        ),
      ]);
    if (b.versions)
      rows.push([
        cell('versions'),
        cell(
          Object.entries(b.versions)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ),
      ]);
  }
  return { type: 'table', head: ['', ''], rows };
}

function tuneBlocks(r: ReportRun): Block[] {
  const out: Block[] = [];
  const res = r.result ?? {};
  out.push({
    type: 'table',
    title: 'Outcome',
    head: ['steps', 'best step', 'metric', 'best value', 'trained tensors'],
    rows: [
      [
        numCell('result.json#steps', res['steps']),
        numCell('result.json#bestStep', res['bestStep']),
        cell(String(res['metric'] ?? '—')),
        numCell('result.json#bestMetric', res['bestMetric']),
        cell(Array.isArray(res['trained']) ? String(res['trained'].length) : '—'),
      ],
    ],
  });
  if (r.steps.length > 0) {
    const x = r.steps.map((s) => s.step);
    const series = (['totalLoss', 'tokenLoss', 'projectionLoss'] as const).map((k, i) => ({
      name: k.replace('Loss', ' loss'),
      x,
      y: r.steps.map((s) => s[k]),
      color: PALETTE[i] as string,
    }));
    const held = r.evals.filter((e) => e.split === 'heldout');
    const heldSeries = (['totalLoss', 'tokenLoss', 'projectionLoss'] as const).map((k, i) => ({
      name: `held-out ${k.replace('Loss', '')}`,
      x: held.map((e) => e.step),
      y: held.map((e) => e[k]),
      color: PALETTE[i] as string,
      dashed: true,
      markers: true,
    }));
    out.push({
      type: 'figure',
      id: `${r.section}-loss`,
      title: `Loss curves (${r.steps.length} steps; held-out evaluations dashed)`,
      svg: lineChartSvg({
        title: `tune ${r.section}: losses`,
        xLabel: 'step',
        yLabel: 'loss',
        series: [...series, ...heldSeries.filter((s) => s.x.length > 0)],
      }),
    });
  }
  const cos = res['cosine'];
  if (isRecord(cos) && Array.isArray(cos['layers']) && Array.isArray(cos['positions']) && Array.isArray(cos['before']) && Array.isArray(cos['after'])) {
    const positions = cos['positions'] as unknown[];
    const rows = (cos['layers'] as unknown[]).map((l, i) => [
      cell(String(l)),
      ...positions.flatMap((_p, j) => {
        const b = (cos['before'] as unknown[][])[i]?.[j];
        const a = (cos['after'] as unknown[][])[i]?.[j];
        return [numCell(`result.json#cosine.before.${i}.${j}`, b, 3), numCell(`result.json#cosine.after.${i}.${j}`, a, 3)];
      }),
    ]);
    out.push({
      type: 'table',
      title: 'Cosine with the direction, before → after tuning (held-out mean)',
      head: ['layer', ...positions.flatMap((p) => [`pos ${String(p)} before`, `pos ${String(p)} after`])],
      rows,
    });
  }
  return out;
}

function searchBlocks(r: ReportRun): Block[] {
  const board = Array.isArray(r.result?.['leaderboard']) ? (r.result['leaderboard'] as TrialData[]) : (r.trials as unknown as TrialData[]);
  const src = Array.isArray(r.result?.['leaderboard']) ? 'result.json#leaderboard' : undefined;
  const cols = COLUMNS.filter((c) => c.key !== 'run' && c.key !== 'sample');
  const rows = board.map((t, i) =>
    cols.map((c) => {
      const v = c.value(t);
      const text = c.format(t);
      return typeof v === 'number' && src !== undefined && /\d/.test(text)
        ? cell(text, { src: `${src}.${i}.${c.key}`, value: v, ...(text.endsWith('%') ? { pct: true } : {}) })
        : cell(text);
    }),
  );
  return [
    {
      type: 'table',
      title: `Block-search leaderboard (${board.length} trial${board.length === 1 ? '' : 's'}, best first)`,
      head: cols.map((c) => (c.group ? `${c.group} ${c.label}` : c.label)),
      rows,
    },
  ];
}

function genericBlocks(r: ReportRun): Block[] {
  const res = r.result;
  if (!res) return [];
  const rows = Object.entries(res)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || (Array.isArray(v) && v.every((x) => typeof x === 'string')))
    .map(([k, v]) => [cell(k), typeof v === 'number' ? numCell(`result.json#${k}`, v) : cell(Array.isArray(v) ? v.join(', ') : String(v))]);
  return rows.length > 0 ? [{ type: 'table', title: 'Result', head: ['key', 'value'], rows }] : [];
}

/** The blocks of one section: its run's meta table, then what its kind shows; or why there is nothing. */
export function sectionBlocks(s: ReportSection): Block[] {
  const r = s.run;
  if (!r) {
    const why = s.newest
      ? `No finished run: the newest of its ${s.folders} run folder${s.folders === 1 ? '' : 's'} is ${s.newest.message?.startsWith(s.newest.status) ? s.newest.message : `${s.newest.status}${s.newest.message ? ` (${s.newest.message})` : ''}`}: ${s.newest.dir}`
      : 'No run folder yet: this section has never run.';
    return [{ type: 'note', text: why }];
  }
  const out: Block[] = [metaBlock(r)];
  if (r.kind === 'tune') out.push(...tuneBlocks(r));
  else if (r.kind === 'search') out.push(...searchBlocks(r));
  else if (r.kind === 'eval') out.push(...evalBlocks(r));
  else if (r.kind !== 'direction') out.push(...genericBlocks(r));
  r.heatmaps.forEach((h, i) => out.push({ type: 'figure', id: `${r.section}-heatmap-${i + 1}`, title: h.title, svg: heatmapSvg(h) }));
  if (r.comparison !== undefined) out.push(...comparisonBlocks(r.comparison));
  return out;
}
