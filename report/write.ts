/**
 * Writes a report: `report.html`, `report.md` and the figures report.md links (`*.svg`), into `--out DIR` or by
 * default `<runs>/reports/<file stem>-<time>/` with `<runs>/reports/latest` naming the newest (as exports keep
 * `<output>/latest`). A default folder is built as a temp sibling and renamed, so it appears whole; every file
 * is written atomically (common/fs.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeError, writeFileAtomicWith } from '../common/fs';
import { reportHtml } from './html';
import { reportMarkdown } from './markdown';
import type { ReportModel } from './model';

export interface WrittenReport {
  dir: string;
  html: string;
  markdown: string;
  figures: string[];
}

export class ReportWriteError extends Error {}

function write(file: string, text: string): void {
  writeFileAtomicWith(
    file,
    [Buffer.from(text, 'utf8')],
    (_m, err) => new ReportWriteError(`${file}: cannot write the report (${describeError(err)}); check that the folder is writable`),
  );
}

/** 2026-12-02T12-31-44Z: the start time as exports name their folders (job/run-folder.ts timeStamp). */
function stamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

function writeInto(dir: string, m: ReportModel): Omit<WrittenReport, 'dir'> {
  const md = reportMarkdown(m);
  const figures: string[] = [];
  for (const [name, svg] of md.figures) {
    write(path.join(dir, name), `${svg}\n`);
    figures.push(name);
  }
  write(path.join(dir, 'report.md'), md.text);
  write(path.join(dir, 'report.html'), reportHtml(m));
  return { html: path.join(dir, 'report.html'), markdown: path.join(dir, 'report.md'), figures };
}

export function writeReport(m: ReportModel, opts: { out?: string; runsDir: string }): WrittenReport {
  if (opts.out !== undefined) {
    try {
      fs.mkdirSync(opts.out, { recursive: true });
    } catch (err) {
      throw new ReportWriteError(`${opts.out}: cannot create the report folder (${describeError(err)}); give --out a writable folder`);
    }
    return { dir: opts.out, ...writeInto(opts.out, m) };
  }
  const reports = path.join(opts.runsDir, 'reports');
  const base = `${path.basename(m.file).replace(/\.rtune$/, '')}-${stamp(m.generated)}`;
  let dir = path.join(reports, base);
  for (let i = 2; fs.existsSync(dir); i++) dir = path.join(reports, `${base}-${i}`);
  const tmp = path.join(reports, `.${path.basename(dir)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    fs.mkdirSync(tmp, { recursive: true });
  } catch (err) {
    throw new ReportWriteError(`${reports}: cannot create the report folder (${describeError(err)}); check that the runs folder is writable, or give --out`);
  }
  try {
    writeInto(tmp, m);
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err instanceof ReportWriteError ? err : new ReportWriteError(`${dir}: cannot create the report folder (${describeError(err)})`);
  }
  write(path.join(reports, 'latest'), `${path.basename(dir)}\n`);
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.svg'));
  return { dir, html: path.join(dir, 'report.html'), markdown: path.join(dir, 'report.md'), figures: names };
}
