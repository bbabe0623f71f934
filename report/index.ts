/**
 * `rtune report` and the extension's "RTune: Open Report": a file's newest finished runs as one self-contained
 * report.html and its Markdown twin. File system and strings only (no engine), so the extension host runs it
 * directly. docs/architecture.md, "Reports", has the layout.
 */
export { collectReport, readRun, type ReportModel, type ReportRun, type ReportSection } from './model';
export { reportHtml, REPORT_CSP } from './html';
export { reportMarkdown } from './markdown';
export { writeReport, ReportWriteError, type WrittenReport } from './write';
export { reportForFile, type ReportOptions, type ReportOutcome } from './for-file';
