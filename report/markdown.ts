/**
 * report.md, the Markdown twin of report.html: the same blocks as tables and lists. Figures are SVG files beside
 * it (`<figure id>.svg`, linked relatively): text, small, diffable, shown by GitHub and VS Code's preview, and
 * made without a browser or a PNG encoder.
 */
import * as path from 'node:path';
import { sectionBlocks, type Block } from './blocks';
import type { ReportModel } from './model';

const cellMd = (s: string): string => escapeMd(s);

/** Text outside code: Markdown and HTML specials escaped. */
export function escapeMd(s: string): string {
  return s.replace(/([\\`*_{}[\]<>#|!])/g, '\\$1').replace(/\r?\n/g, ' ');
}

function fence(s: string): string {
  let f = '```';
  while (s.includes(f)) f += '`';
  return `${f}text\n${s}\n${f}`;
}

function blockMd(b: Block, figures: Map<string, string>): string {
  switch (b.type) {
    case 'table': {
      const head = b.head.some((h) => h !== '') ? b.head : b.head.map((_h, i) => (i === 0 ? 'item' : 'value'));
      const lines = [
        `| ${head.map(cellMd).join(' | ')} |`,
        `| ${head.map(() => '---').join(' | ')} |`,
        ...b.rows.map((r) => `| ${r.map((c) => cellMd(c.text)).join(' | ')} |`),
      ];
      return `${b.title ? `**${escapeMd(b.title)}**\n\n` : ''}${lines.join('\n')}${b.note ? `\n\n${escapeMd(b.note)}` : ''}`;
    }
    case 'figure': {
      const file = `${b.id.replace(/[^A-Za-z0-9_-]/g, '_')}.svg`;
      figures.set(file, b.svg);
      return `![${escapeMd(b.title)}](${file})\n\n*${escapeMd(b.title)}*`;
    }
    case 'generations':
      return `**${escapeMd(b.title)}**\n\n${b.items
        .map((it, i) =>
          [
            ...(it.prompt !== '' ? [`${i + 1}. prompt:\n\n${fence(it.prompt)}`] : []),
            ...it.outputs.map((o) => `   - ${escapeMd(o.condition)}:\n\n${fence(o.text)}`),
          ].join('\n\n'),
        )
        .join('\n\n')}`;
    case 'note':
      return `> ${escapeMd(b.text)}`;
  }
}

/** The Markdown text and the figure files (name → SVG text) it links. */
export function reportMarkdown(m: ReportModel): { text: string; figures: Map<string, string> } {
  const figures = new Map<string, string>();
  const parts = [
    `# RTune report: ${escapeMd(path.basename(m.file))}`,
    '',
    `${escapeMd(m.file)} · generated ${m.generated} · each section's newest finished run folder`,
    '',
  ];
  for (const s of m.sections) {
    parts.push(`## ${escapeMd(`${s.kind} ${s.section}`)}`, '');
    for (const b of sectionBlocks(s)) parts.push(blockMd(b, figures), '');
  }
  return { text: `${parts.join('\n').trimEnd()}\n`, figures };
}
