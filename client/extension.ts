/**
 * The rtune VS Code extension (bundled to dist/extension.js). Starts the language server (dist/server.js over
 * IPC), registers the commands the server's CodeLenses call and the palette commands, and wires the job manager
 * (worker processes, queue, progress, status bar, output channel) to the webview panels.
 *
 * Jobs never run in this process or in the language server: each one is a separate worker process.
 * Untrusted workspaces get the language features but no jobs (package.json `capabilities.untrustedWorkspaces`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { analyze } from '../language/analysis';
import { RtuneCommands, type OpenRunArgs, type RtuneInitializationOptions, type RunSectionArgs } from '../protocol/lsp';
import { JobController, type JobSpec } from './jobs';
import { PanelHost } from './panels';
import { openReport } from './report-command';
import { RunState, loadRunFolder } from './run-state';
import { exportsOfTune, exportTune, finishedTuneRuns, isFinishedTuneRun, runFoldersUnder } from './run-folders';
import { COMMAND_SECTIONS, runnableSections, sectionsFor, type RunnableSection } from './sections';
import { readSettings, SERVER_SETTINGS, type RtuneSettings } from './settings';

/** Every command the extension contributes (package.json `contributes.commands` must list exactly these). */
export const EXTENSION_COMMANDS = [
  RtuneCommands.runTuning,
  RtuneCommands.runBlockSearch,
  RtuneCommands.computePerplexity,
  RtuneCommands.extractDirection,
  RtuneCommands.runEvaluation,
  RtuneCommands.compareSteering,
  RtuneCommands.runExport,
  RtuneCommands.openRun,
  'rtune.runAll',
  'rtune.runFresh',
  'rtune.cancelJob',
  'rtune.showLossCurves',
  'rtune.showHeatmap',
  'rtune.showLeaderboard',
  'rtune.showLog',
  'rtune.openReport',
] as const;

/** What activate() returns: used by the end-to-end test inside the real extension host. */
export interface RtuneApi {
  state: RunState;
  jobs: JobController;
  panels: PanelHost;
  client: LanguageClient;
  settings(): RtuneSettings;
  /** Milliseconds activate() took, language server start included. */
  activationMs: number;
}

let client: LanguageClient | undefined;

function settingsNow(log: vscode.LogOutputChannel, warn: boolean): RtuneSettings {
  const cfg = vscode.workspace.getConfiguration('rtune');
  const { settings, problems } = readSettings((k) => {
    const i = cfg.inspect(k);
    return i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
  });
  for (const p of problems) {
    log.warn(p);
    if (warn) void vscode.window.showWarningMessage(`RTune settings: ${p}`);
  }
  return settings;
}

function workspaceFolderOf(file: string): string | undefined {
  return vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file))?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function resolveRunsFolder(s: RtuneSettings, file: string | undefined): string | undefined {
  if (s.runsFolder === '') return undefined;
  if (path.isAbsolute(s.runsFolder)) return s.runsFolder;
  const base =
    (file !== undefined ? workspaceFolderOf(file) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath) ??
    (file !== undefined ? path.dirname(file) : undefined);
  return base !== undefined ? path.join(base, s.runsFolder) : undefined;
}

export async function activate(context: vscode.ExtensionContext): Promise<RtuneApi> {
  const t0 = Date.now();
  const log = vscode.window.createOutputChannel('RTune', { log: true });
  context.subscriptions.push(log);
  let settings = settingsNow(log, true);

  // Language server.
  const serverModule = context.asAbsolutePath(path.join('dist', 'server.js'));
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'rtune' },
      { scheme: 'untitled', language: 'rtune' },
    ],
    initializationOptions: (): RtuneInitializationOptions => {
      const runsFolder = resolveRunsFolder(settings, undefined);
      return { extensionRoot: context.extensionPath, inlineResults: settings.inlineResults, ...(runsFolder !== undefined ? { runsFolder } : {}) };
    },
    outputChannel: log,
  };
  client = new LanguageClient('rtune', 'RTune Language Server', serverOptions, clientOptions);
  const lc = client;

  const state = new RunState();
  const panels = new PanelHost(context.extensionUri, state, log);
  const jobs = new JobController(
    {
      extensionPath: context.extensionPath,
      settings: () => settings,
      runsFolderFor: (file) => resolveRunsFolder(settings, file),
      notifyServer: (method, params) => {
        if (lc.isRunning()) void lc.sendNotification(method, params);
      },
    },
    state,
    panels,
    log,
  );
  context.subscriptions.push(panels, jobs, ...panels.registerSerializers());
  // A panel opened (or restored after a reload) with nothing to show: load the newest run of each section of the
  // active .rtune file from disk, so curves, heatmaps and trials survive reloads without "Open Run…".
  panels.onShow = () => {
    const c = state.counts;
    if (c.runs + c.heatmaps + c.trials > 0 || jobs.queue.running) return;
    const loaded = loadLatestRuns();
    if (loaded > 0) panels.refresh();
  };

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('rtune')) return;
      const before = settings;
      settings = settingsNow(log, true);
      if (SERVER_SETTINGS.some((k) => before[k] !== settings[k]) && lc.isRunning()) {
        log.info('restarting the language server for the new settings');
        await lc.restart();
      }
    }),
  );

  const register = (id: string, fn: (...args: never[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn as (...args: unknown[]) => unknown));
  };

  // Run commands (CodeLens with RunSectionArgs, or the palette with nothing).
  for (const id of Object.keys(COMMAND_SECTIONS)) {
    register(id, (args?: RunSectionArgs) => runSectionCommand(id, args));
  }
  register('rtune.runAll', (args?: RunSectionArgs) => runAll(args));
  register('rtune.cancelJob', () => cancelJob());
  register('rtune.showLossCurves', () => void panels.show('loss-curves'));
  register('rtune.showHeatmap', () => void panels.show('heatmap'));
  register('rtune.showLeaderboard', () => void panels.show('leaderboard'));
  register('rtune.showLog', () => log.show(true));
  register(RtuneCommands.openRun, (args?: OpenRunArgs) => openRun(args));
  const reportDeps = { extensionPath: context.extensionPath, document: documentFor, fileOf, runsFolderFor: (f: string) => resolveRunsFolder(settings, f), log };
  register('rtune.openReport', (args?: { uri?: string }) => openReport(reportDeps, args));

  async function documentFor(uri: string | undefined): Promise<vscode.TextDocument | undefined> {
    if (uri !== undefined) return vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    const ed = vscode.window.activeTextEditor;
    if (ed && ed.document.languageId === 'rtune') return ed.document;
    // A panel or another editor has focus: use the open .rtune file, or ask which one.
    const open = vscode.workspace.textDocuments.filter((d) => d.languageId === 'rtune' && d.uri.scheme === 'file');
    if (open.length === 1) return open[0];
    if (open.length > 1) {
      const pick = await vscode.window.showQuickPick(
        open.map((d) => ({ label: path.basename(d.uri.fsPath), description: vscode.workspace.asRelativePath(d.uri), doc: d })),
        { title: 'RTune', placeHolder: 'Which .rtune file?' },
      );
      return pick?.doc;
    }
    void vscode.window.showErrorMessage('RTune: open a .rtune file first (the command runs sections of the active .rtune file).');
    return undefined;
  }

  function trusted(): boolean {
    if (vscode.workspace.isTrusted) return true;
    void vscode.window
      .showWarningMessage(
        'RTune does not run jobs in an untrusted workspace: a job loads model files and runs code on your machine. Editing, diagnostics, hover and completion still work. Trust the workspace to run jobs.',
        'Manage Workspace Trust',
      )
      .then((pick) => {
        if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
      });
    return false;
  }

  function fileOf(doc: vscode.TextDocument): string | undefined {
    if (doc.uri.scheme === 'file') return doc.uri.fsPath;
    void vscode.window.showErrorMessage('RTune: save the file first: relative paths in a .rtune file resolve against its folder.');
    return undefined;
  }

  async function pickSection(command: string, doc: vscode.TextDocument): Promise<RunnableSection | undefined> {
    const candidates = sectionsFor(command, runnableSections(doc.getText()));
    const spec = COMMAND_SECTIONS[command];
    if (candidates.length === 0) {
      void vscode.window.showErrorMessage(
        `RTune: ${path.basename(doc.uri.fsPath)} has no section to ${spec?.title.toLowerCase() ?? command} (${spec?.kinds.join('/') ?? ''}${spec?.part ? ` with ${spec.part}` : ''}).`,
      );
      return undefined;
    }
    if (candidates.length === 1) return candidates[0];
    const pick = await vscode.window.showQuickPick(
      candidates.map((s) => ({
        label: `${s.kind} ${s.name}`,
        description: `line ${s.line + 1}${s.parts.length ? ` · ${s.parts.join(', ')}` : ''}`,
        section: s,
      })),
      { title: `RTune: ${spec?.title ?? command}`, placeHolder: 'Which section?' },
    );
    return pick?.section;
  }

  async function runSectionCommand(command: string, args?: RunSectionArgs): Promise<number | undefined> {
    const doc = await documentFor(args?.uri);
    if (!doc || !trusted()) return undefined;
    const file = fileOf(doc);
    if (file === undefined) return undefined;
    let section = args?.section;
    if (section === undefined) section = (await pickSection(command, doc))?.name;
    if (section === undefined) return undefined;
    // Export… from the palette: which finished run of its tune to export (by default the one the run would reuse).
    const from = command === RtuneCommands.runExport && args?.section === undefined ? await pickTuneRun(doc, file, section) : undefined;
    if (from === null) return undefined;
    const title = `${COMMAND_SECTIONS[command]?.title ?? command}: ${section}${from !== undefined ? ` from ${path.basename(from)}` : ''}`;
    const fresh = COMMAND_SECTIONS[command]?.fresh === true ? { fresh: true } : {};
    const spec: JobSpec = {
      uri: doc.uri.toString(),
      file,
      text: doc.getText(),
      sections: [section],
      reveal: true,
      ...(from !== undefined ? { from } : {}),
      ...fresh,
    };
    return jobs.enqueue(title, spec).id;
  }

  /** A finished run folder of the export's tune (`--from`), undefined for the default (reuse or train), null when dismissed. */
  async function pickTuneRun(doc: vscode.TextDocument, file: string, section: string): Promise<string | undefined | null> {
    const t = exportTune(doc.getText(), file, section, resolveRunsFolder(settings, file));
    const runs = t ? finishedTuneRuns(t.outputDir, t.tune) : [];
    if (!t || runs.length === 0) return undefined;
    const current = { label: `Tune ${t.tune} as the file says`, description: 'its newest finished run with these inputs, else train it', dir: '' };
    const items = [current, ...runs.map((r) => ({ label: r.id, description: r.headline, dir: r.dir }))];
    const pick = await vscode.window.showQuickPick(items, { title: `RTune: Export ${section}`, placeHolder: `Which run of tune ${t.tune}?` });
    return pick === undefined ? null : pick === current ? undefined : pick.dir;
  }

  async function runAll(args?: RunSectionArgs): Promise<number | undefined> {
    const doc = await documentFor(args?.uri);
    if (!doc || !trusted()) return undefined;
    const file = fileOf(doc);
    if (file === undefined) return undefined;
    return jobs.enqueue(`Run All: ${path.basename(file)}`, { uri: doc.uri.toString(), file, text: doc.getText(), sections: [], reveal: true }).id;
  }

  async function cancelJob(): Promise<void> {
    const all = [...(jobs.queue.running ? [jobs.queue.running] : []), ...jobs.queue.queued];
    if (all.length === 0) {
      void vscode.window.showInformationMessage('RTune: no job is running.');
      return;
    }
    if (all.length === 1) {
      jobs.queue.cancel(all[0]?.id);
      return;
    }
    const pick = await vscode.window.showQuickPick(
      all.map((j) => ({ label: j.title, description: j.state, id: j.id })),
      { title: 'RTune: Cancel Job', placeHolder: 'Which job?' },
    );
    if (pick) jobs.queue.cancel(pick.id);
  }

  /** Run folders under the runs folder of the active .rtune file, newest first. */
  function listRunFolders(): { label: string; description: string; dir: string }[] {
    const doc = vscode.window.activeTextEditor?.document;
    const roots = new Set<string>();
    if (doc && doc.languageId === 'rtune' && doc.uri.scheme === 'file') {
      const runsFolder = resolveRunsFolder(settings, doc.uri.fsPath);
      const a = analyze(doc.getText(), { baseDir: path.dirname(doc.uri.fsPath), ...(runsFolder !== undefined ? { defaultRunsDir: runsFolder } : {}) });
      if (a.runsDir !== undefined) roots.add(a.runsDir);
    }
    for (const f of vscode.workspace.workspaceFolders ?? []) roots.add(path.join(f.uri.fsPath, 'runs'));
    return runFoldersUnder(roots);
  }

  /**
   * Loads, for each section (of the active .rtune file's runs folder), its newest finished run — the one a run
   * reuses — or, when none finished, its newest run; returns how many.
   */
  function loadLatestRuns(): number {
    const seen = new Set<string>();
    let n = 0;
    const runs = listRunFolders();
    for (const r of [...runs.filter((x) => x.description === 'done'), ...runs.filter((x) => x.description !== 'done')]) {
      const section = path.basename(path.dirname(r.dir));
      if (seen.has(section)) continue;
      seen.add(section);
      try {
        loadRunFolder(state, r.dir);
        n++;
      } catch (e) {
        log.warn(`could not load ${r.dir}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return n;
  }

  async function openRun(args?: OpenRunArgs): Promise<string | undefined> {
    let dir = args?.runDir;
    if (dir === undefined) {
      const browse = { label: '$(folder-opened) Browse…', description: '', dir: '' };
      const pick = await vscode.window.showQuickPick([...listRunFolders(), browse], {
        title: 'RTune: Open Run…',
        placeHolder: 'A run folder to show in the panels',
      });
      if (!pick) return undefined;
      if (pick === browse) {
        const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Open Run' });
        dir = chosen?.[0]?.fsPath;
      } else dir = pick.dir;
    }
    if (dir === undefined) return undefined;
    const running = jobs.queue.running !== undefined && state.runs.get(path.basename(dir))?.status === 'running';
    let run: string;
    try {
      run = running ? path.basename(dir) : loadRunFolder(state, dir);
    } catch (e) {
      void vscode.window.showErrorMessage(`RTune: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    panels.refresh();
    const kind = state.runs.get(run)?.kind;
    if (kind === 'search') panels.show('leaderboard');
    else if (kind === 'direction') panels.show('heatmap');
    else if (kind === 'tune' || kind === 'unknown') {
      panels.show('loss-curves');
      if (kind === 'tune' && isFinishedTuneRun(dir)) void offerExport(dir, state.runs.get(run)?.section ?? '');
    } else {
      // eval / export: the summary (A/B table, perplexity comparison) as a markdown document.
      let body = '';
      try {
        const s = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { headline?: string; detail?: string; status?: string };
        body = `# ${kind ?? 'run'} ${state.runs.get(run)?.section ?? ''}\n\n**${s.status ?? ''}**: ${s.headline ?? ''}\n\n${s.detail ?? ''}\n\nRun folder: \`${dir}\`\n`;
      } catch {
        body = `# ${run}\n\nNo summary.json in \`${dir}\` (the run did not finish).\n`;
      }
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: body });
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    }
    return run;
  }

  /** A finished tune run opened with "Open Run…": offer to export it (the export sections of the active file that write that tune). */
  async function offerExport(dir: string, tune: string): Promise<void> {
    const doc = vscode.window.activeTextEditor?.document;
    const names = doc && doc.languageId === 'rtune' ? exportsOfTune(doc.getText(), tune) : [];
    if (!doc || names.length === 0) return;
    const pick = await vscode.window.showInformationMessage(`RTune: tune ${tune} run ${path.basename(dir)} has its tuned weights.`, 'Export from This Run…');
    const file = pick !== undefined && trusted() ? fileOf(doc) : undefined;
    if (file === undefined) return;
    const section = names.length === 1 ? names[0] : await vscode.window.showQuickPick(names, { title: 'RTune: Export', placeHolder: 'Which export section?' });
    if (section === undefined) return;
    jobs.enqueue(`Export: ${section} from ${path.basename(dir)}`, {
      uri: doc.uri.toString(),
      file,
      text: doc.getText(),
      sections: [section],
      reveal: true,
      from: dir,
    });
  }

  try {
    await lc.start();
  } catch (e) {
    log.error(`the language server did not start: ${e instanceof Error ? e.message : String(e)}`);
    void vscode.window.showErrorMessage('RTune: the language server did not start; see the RTune output channel.');
  }
  const activationMs = Date.now() - t0;
  log.info(`activated in ${activationMs} ms (extension ${context.extension.packageJSON.version as string}, ${context.extensionPath})`);
  return { state, jobs, panels, client: lc, settings: () => settings, activationMs };
}

export async function deactivate(): Promise<void> {
  if (client) await client.stop();
}
