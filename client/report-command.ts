/**
 * "RTune: Open Report" (`rtune.openReport`): writes the report of the active .rtune file (report/, the same code
 * as `rtune report`) and shows it in a webview panel, with "Open in Browser" and "Reveal File". It runs here in
 * the extension host, not in a worker: a report reads run folders and writes a few text files (no engine, no
 * model), which takes milliseconds, and the worker protocol is for jobs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { reportForFile } from '../report/for-file';

export interface ReportCommandDeps {
  extensionPath: string;
  /** The .rtune document the command is for (the active one, or a pick), or undefined after telling the user why. */
  document(uri: string | undefined): Promise<vscode.TextDocument | undefined>;
  /** Its file path, or undefined (unsaved) after telling the user. */
  fileOf(doc: vscode.TextDocument): string | undefined;
  runsFolderFor(file: string): string | undefined;
  log: vscode.LogOutputChannel;
}

/** Writes and shows the report; returns the report.html path, or undefined when there is none. */
export async function openReport(deps: ReportCommandDeps, args?: { uri?: string }): Promise<string | undefined> {
  const doc = await deps.document(args?.uri);
  const file = doc ? deps.fileOf(doc) : undefined;
  if (!doc || file === undefined) return undefined;
  const runs = deps.runsFolderFor(file);
  let r: ReturnType<typeof reportForFile>;
  try {
    r = reportForFile(file, doc.getText(), { builtinRoot: deps.extensionPath, ...(runs !== undefined ? { defaultRunsDir: runs } : {}) });
  } catch (e) {
    r = { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  if (!r.ok) {
    deps.log.error(`report of ${file}: ${r.message}`);
    void vscode.window.showErrorMessage(`RTune: no report of ${path.basename(file)}: ${r.message.split('\n')[0] ?? r.message}`);
    return undefined;
  }
  const { html } = r.written;
  deps.log.info(`report of ${file}: ${html}`);
  const panel = vscode.window.createWebviewPanel('rtune.report', `RTune Report: ${path.basename(file)}`, vscode.ViewColumn.Beside, {
    enableScripts: false,
    localResourceRoots: [],
  });
  // The report is self-contained (inline CSS and SVG, its own CSP that allows nothing else).
  panel.webview.html = fs.readFileSync(html, 'utf8');
  const missing = r.model.sections.filter((s) => s.run === undefined).map((s) => `${s.kind} ${s.section}`);
  void vscode.window
    .showInformationMessage(
      `RTune: report written to ${html}${missing.length > 0 ? ` (no finished run: ${missing.join(', ')})` : ''}`,
      'Open in Browser',
      'Reveal File',
    )
    .then((pick) => {
      if (pick === 'Open in Browser') void vscode.env.openExternal(vscode.Uri.file(html));
      else if (pick === 'Reveal File') void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(html));
    });
  return html;
}
