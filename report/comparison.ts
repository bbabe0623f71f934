/**
 * A compare section's `comparison.json`, rendered from the JSON alone so fields added later show up: the rows
 * (`rows`, or the document itself when it is a list) are conditions; every scalar is a column, nested objects
 * become `parent.child` columns, and an interval (`{lo, hi}` or a two-number list under a key ending in `ci`/
 * `Ci`) is one "[lo, hi]" cell. Rates in [0, 1] are shown as they are (the JSON does not say which are rates).
 */
import { cell, isRecord, type Block, type Cell, type Num } from './blocks';
import { formatNumber } from '../webview/common/format';

function flatten(x: Record<string, unknown>, prefix: string, src: string, out: Map<string, Cell>): void {
  for (const [k, v] of Object.entries(x)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    const at = `${src}.${k}`;
    if (typeof v === 'number') out.set(key, cell(formatNumber(v), { src: at, value: v }));
    else if (typeof v === 'string' || typeof v === 'boolean' || v === null) out.set(key, cell(String(v)));
    else if (isRecord(v) && typeof v['lo'] === 'number' && typeof v['hi'] === 'number') {
      const nums: Num[] = [
        { src: `${at}.lo`, value: v['lo'] },
        { src: `${at}.hi`, value: v['hi'] },
      ];
      out.set(key, cell(`[${formatNumber(v['lo'])}, ${formatNumber(v['hi'])}]`, ...nums));
    } else if (Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number')) {
      out.set(
        key,
        cell(
          `[${formatNumber(v[0] as number)}, ${formatNumber(v[1] as number)}]`,
          { src: `${at}.0`, value: v[0] as number },
          { src: `${at}.1`, value: v[1] as number },
        ),
      );
    } else if (isRecord(v)) flatten(v, key, at, out);
    else if (Array.isArray(v))
      out.set(key, cell(v.map((e) => (typeof e === 'number' ? formatNumber(e) : typeof e === 'string' ? e : JSON.stringify(e))).join(', ')));
  }
}

export function comparisonBlocks(doc: unknown): Block[] {
  const rows = Array.isArray(doc) ? doc : isRecord(doc) && Array.isArray(doc['rows']) ? doc['rows'] : undefined;
  const base = Array.isArray(doc) ? 'comparison.json#' : 'comparison.json#rows.';
  if (!rows)
    return [
      { type: 'note', text: 'comparison.json has no `rows` list; shown as it is below.' },
      { type: 'generations', title: 'comparison.json', items: [{ prompt: '', outputs: [{ condition: 'json', text: JSON.stringify(doc, null, 2) }] }] },
    ];
  const flat = rows.map((r, i) => {
    const m = new Map<string, Cell>();
    if (isRecord(r)) flatten(r, '', `${base}${i}`.replace('#.', '#'), m);
    return m;
  });
  const head: string[] = [];
  for (const m of flat) for (const k of m.keys()) if (!head.includes(k)) head.push(k);
  const title = isRecord(doc) && typeof doc['title'] === 'string' ? doc['title'] : 'Comparison';
  const notes = isRecord(doc) ? Object.entries(doc).filter(([k, v]) => k !== 'rows' && k !== 'title' && (typeof v === 'string' || typeof v === 'number')) : [];
  return [
    {
      type: 'table',
      title: `${title} (comparison.json)`,
      head,
      rows: flat.map((m) => head.map((k) => m.get(k) ?? cell('—'))),
      ...(notes.length > 0 ? { note: notes.map(([k, v]) => `${k}: ${String(v)}`).join('; ') } : {}),
    },
  ];
}
