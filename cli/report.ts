/**
 * `rtune report FILE.rtune [SECTION ...] [--out DIR] [--json]`: each section's newest finished run folder as one
 * self-contained report.html and its Markdown twin (report/). Prints the report's path (with --json, one object:
 * the files written and, per section, the run folder used and its status). Runs nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { reportForFile } from '../report/for-file';
import { packageRoot } from './paths';

export function cmdReport(argv: string[], usage: (code: number) => number): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
  });
  if (values.help) return usage(0);
  const [file, ...sections] = positionals;
  if (!file) {
    process.stderr.write('rtune report: give the .rtune file: rtune report FILE.rtune [SECTION ...] [--out DIR]\n');
    return 2;
  }
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch {
    process.stderr.write(`rtune report: ${abs}: file not found or unreadable\n`);
    return 2;
  }
  const r = reportForFile(abs, text, { sections, builtinRoot: packageRoot(), ...(values.out !== undefined ? { out: path.resolve(values.out) } : {}) });
  if (!r.ok) {
    process.stderr.write(r.message);
    return 1;
  }
  const rows = r.model.sections.map((s) => ({
    kind: s.kind,
    section: s.section,
    status: s.run?.status ?? (s.newest ? `no finished run (newest ${s.newest.status})` : 'never run'),
    ...(s.run ? { dir: s.run.dir } : s.newest ? { newest: s.newest.dir } : {}),
  }));
  if (values.json) process.stdout.write(`${JSON.stringify({ type: 'report', ...r.written, sections: rows })}\n`);
  else {
    for (const s of rows) process.stderr.write(`  ${s.kind} ${s.section}: ${s.status}${'dir' in s ? ` (${s.dir})` : ''}\n`);
    process.stdout.write(`${r.written.html}\n`);
  }
  return 0;
}
