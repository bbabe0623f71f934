/**
 * report.html: one self-contained document (inline CSS and SVG, no script, no external resource; a CSP that
 * allows nothing else), from the report's blocks. Every text is escaped: statements and generations are user data.
 * Each numeric cell carries `data-nums` (its source file, JSON path and value) so the numbers can be checked.
 */
import * as path from 'node:path';
import { sectionBlocks, type Block, type Cell } from './blocks';
import type { ReportModel } from './model';
import { escapeXml as esc } from './svg';

export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 14px; color: #1f1f1f; background: #fafafa; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
.muted { color: #666; } .status { font-weight: 600; padding: 1px 6px; border-radius: 3px; background: #eee; }
.status.done { background: #dff0d8; color: #2d5e2d; } .status.failed, .status.interrupted { background: #f8d7da; color: #842029; }
.status.cancelled, .status.skipped, .status.missing, .status.running { background: #fff3cd; color: #664d03; }
table { border-collapse: collapse; margin: 6px 0; background: #fff; } th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.meta td:first-child { color: #555; white-space: nowrap; } table.meta td { font-family: ui-monospace, Menlo, monospace; font-size: 12px; word-break: break-all; }
figure { margin: 8px 0 14px; } figure svg { max-width: 100%; height: auto; border: 1px solid #e3e3e3; } figcaption { color: #555; font-size: 12px; }
pre { background: #fff; border: 1px solid #e3e3e3; padding: 6px 8px; white-space: pre-wrap; margin: 2px 0 8px; font-size: 12px; }
table.gen { margin: 4px 0 12px; min-width: 60%; } table.gen caption { text-align: left; caption-side: top; }
table.gen caption pre { display: inline-block; vertical-align: top; margin: 0 0 4px; } table.gen th { white-space: nowrap; width: 1%; }
table.gen td pre { border: 0; margin: 0; padding: 0; background: none; }
nav ul { columns: 2; } .note { background: #fff3cd; padding: 6px 10px; border-left: 3px solid #cca700; }
`;

function cellHtml(c: Cell, tag: 'td' | 'th' = 'td'): string {
  const attrs = c.nums ? ` class="num" data-nums="${esc(JSON.stringify(c.nums))}"` : '';
  return `<${tag}${attrs}>${esc(c.text)}</${tag}>`;
}

function blockHtml(b: Block, meta: boolean): string {
  switch (b.type) {
    case 'table': {
      const head = b.head.some((h) => h !== '') ? `<thead><tr>${b.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` : '';
      const rows = b.rows.map((r) => `<tr>${r.map((c) => cellHtml(c)).join('')}</tr>`).join('\n');
      return `${b.title ? `<h3>${esc(b.title)}</h3>` : ''}<table${meta ? ' class="meta"' : ''}>${head}<tbody>${rows}</tbody></table>${b.note ? `<p class="muted">${esc(b.note)}</p>` : ''}`;
    }
    case 'figure':
      return `<figure id="${esc(b.id)}">${b.svg}<figcaption>${esc(b.title)}</figcaption></figure>`;
    case 'generations':
      return `<h3>${esc(b.title)}</h3>${b.items
        .map(
          (it, i) =>
            `<table class="gen">${it.prompt !== '' ? `<caption>${i + 1}. <pre>${esc(it.prompt)}</pre></caption>` : ''}<tbody>${it.outputs
              .map((o) => `<tr><th>${esc(o.condition)}</th><td><pre>${esc(o.text)}</pre></td></tr>`)
              .join('')}</tbody></table>`,
        )
        .join('')}`;
    case 'note':
      return `<p class="note">${esc(b.text)}</p>`;
  }
}

export function anchorOf(kind: string, section: string): string {
  return `${kind}-${section}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function reportHtml(m: ReportModel): string {
  const title = `RTune report: ${path.basename(m.file)}`;
  const toc = m.sections
    .map(
      (s) =>
        `<li><a href="#${anchorOf(s.kind, s.section)}">${esc(`${s.kind} ${s.section}`)}</a> <span class="status ${esc(s.run?.status ?? 'missing')}">${esc(s.run ? s.run.status : s.newest ? `no finished run (${s.newest.status})` : 'never run')}</span></li>`,
    )
    .join('');
  const body = m.sections
    .map((s) => {
      const blocks = sectionBlocks(s);
      const dir = s.run ? ` data-dir="${esc(s.run.dir)}"` : '';
      return `<section id="${anchorOf(s.kind, s.section)}" data-kind="${esc(s.kind)}" data-section="${esc(s.section)}"${dir}>
<h2>${esc(`${s.kind} ${s.section}`)}</h2>
${blocks.map((b, i) => blockHtml(b, i === 0 && s.run !== undefined)).join('\n')}
</section>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${esc(REPORT_CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${esc(title)}</h1>
<p class="muted">${esc(m.file)} · generated ${esc(m.generated)} · each section's newest finished run folder</p>
<nav><ul>${toc}</ul></nav>
${body}
</main>
</body>
</html>
`;
}
