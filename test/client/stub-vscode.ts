/**
 * A small stand-in for the `vscode` module and for `vscode-languageclient/node`, enough to activate the extension
 * in plain Node and drive its commands (../../shared/docs/TESTING.md §2: "client against a stub vscode").
 * `installVscodeStub()` routes `require('vscode')` and `require('vscode-languageclient/node')` here. Everything the
 * extension does through the API is recorded in `stub` for the tests to read; dialogs answer from `stub.answers`.
 */
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

type Listener<T> = (e: T) => unknown;

class EventEmitter<T> {
  private readonly listeners = new Set<Listener<T>>();
  event = (l: Listener<T>): { dispose(): void } => {
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  };
  fire(e: T): void {
    for (const l of this.listeners) l(e);
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static parse(s: string): Uri {
    if (s.startsWith('file:')) return new Uri('file', fileURLToPath(s));
    const m = /^([a-z]+):(.*)$/.exec(s);
    return new Uri(m?.[1] ?? 'file', m?.[2] ?? s);
  }
  static joinPath(u: Uri, ...parts: string[]): Uri {
    return new Uri(u.scheme, path.join(u.fsPath, ...parts));
  }
  get path(): string {
    return this.fsPath;
  }
  toString(): string {
    return this.scheme === 'file' ? pathToFileURL(this.fsPath).toString() : `${this.scheme}:${this.fsPath}`;
  }
}

export interface StubDocument {
  uri: Uri;
  languageId: string;
  getText(): string;
}

export function document(file: string, text = fs.readFileSync(file, 'utf8'), scheme = 'file'): StubDocument {
  return { uri: scheme === 'file' ? Uri.file(file) : Uri.parse(`${scheme}:${file}`), languageId: 'rtune', getText: () => text };
}

export const stub = {
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  messages: [] as { level: 'info' | 'warn' | 'error'; text: string }[],
  quickPicks: [] as { items: { label: string; description?: string }[]; title?: string }[],
  /** What the next quick pick returns: an index into its items, or undefined (dismissed). */
  answers: { quickPick: undefined as number | undefined, message: undefined as string | undefined },
  /** URIs given to env.openExternal, and commands run with executeCommand that no one registered. */
  external: [] as string[],
  executed: [] as { id: string; args: unknown[] }[],
  progress: [] as { title?: string; cancellable?: boolean }[],
  statusBar: { text: '', visible: false },
  panels: [] as { viewType: string; title: string; html: string; posted: unknown[]; receive: EventEmitter<unknown> }[],
  log: [] as string[],
  serializers: [] as string[],
  config: {} as Record<string, unknown>,
  trusted: true,
  activeDocument: undefined as StubDocument | undefined,
  openDocuments: [] as StubDocument[],
  client: { started: false, serverModule: '', initializationOptions: undefined as unknown, notifications: [] as { method: string; params: unknown }[] },
  reset(): void {
    this.commands.clear();
    this.messages.length = 0;
    this.quickPicks.length = 0;
    this.progress.length = 0;
    this.panels.length = 0;
    this.log.length = 0;
    this.serializers.length = 0;
    this.answers.quickPick = undefined;
    this.answers.message = undefined;
    this.external.length = 0;
    this.executed.length = 0;
    this.config = {};
    this.trusted = true;
    this.activeDocument = undefined;
    this.openDocuments = [];
    this.client = { started: false, serverModule: '', initializationOptions: undefined, notifications: [] };
  },
};

const disposable = { dispose(): void {} };
const logChannel = {
  info: (m: string) => stub.log.push(`info ${m}`),
  warn: (m: string) => stub.log.push(`warn ${m}`),
  error: (m: string) => stub.log.push(`error ${m}`),
  appendLine: (m: string) => stub.log.push(m),
  show: () => {},
  dispose: () => {},
};

const message =
  (level: 'info' | 'warn' | 'error') =>
  (text: string, ...items: string[]): Promise<string | undefined> => {
    stub.messages.push({ level, text });
    const a = stub.answers.message;
    return Promise.resolve(a !== undefined && items.includes(a) ? a : undefined);
  };

export const vscodeStub = {
  Uri,
  EventEmitter,
  ViewColumn: { Active: -1, Beside: -2, One: 1 },
  ProgressLocation: { Notification: 15, Window: 10 },
  StatusBarAlignment: { Left: 1, Right: 2 },
  commands: {
    registerCommand(id: string, fn: (...args: unknown[]) => unknown) {
      if (stub.commands.has(id)) throw new Error(`command ${id} registered twice`);
      stub.commands.set(id, fn);
      return { dispose: () => stub.commands.delete(id) };
    },
    executeCommand: (id: string, ...args: unknown[]) => {
      const fn = stub.commands.get(id);
      if (!fn) stub.executed.push({ id, args });
      return Promise.resolve(fn?.(...args));
    },
  },
  env: {
    openExternal: (u: Uri) => {
      stub.external.push(u.toString());
      return Promise.resolve(true);
    },
  },
  window: {
    createOutputChannel: () => logChannel,
    createStatusBarItem: () => ({
      set text(t: string) {
        stub.statusBar.text = t;
      },
      get text() {
        return stub.statusBar.text;
      },
      tooltip: '',
      name: '',
      command: '',
      show: () => (stub.statusBar.visible = true),
      hide: () => (stub.statusBar.visible = false),
      dispose: () => {},
    }),
    showInformationMessage: message('info'),
    showWarningMessage: message('warn'),
    showErrorMessage: message('error'),
    setStatusBarMessage: () => disposable,
    showQuickPick: (items: { label: string; description?: string }[], opts?: { title?: string }) => {
      stub.quickPicks.push({ items, ...(opts?.title !== undefined ? { title: opts.title } : {}) });
      const i = stub.answers.quickPick;
      return Promise.resolve(i === undefined ? undefined : items[i]);
    },
    showSaveDialog: () => Promise.resolve(undefined),
    showOpenDialog: () => Promise.resolve(undefined),
    withProgress: (opts: { title?: string; cancellable?: boolean }, task: (p: unknown, t: unknown) => Promise<unknown>) => {
      stub.progress.push(opts);
      return task({ report: () => {} }, { onCancellationRequested: () => disposable, isCancellationRequested: false });
    },
    onDidChangeActiveColorTheme: () => disposable,
    registerWebviewPanelSerializer: (viewType: string) => {
      stub.serializers.push(viewType);
      return disposable;
    },
    get activeTextEditor() {
      return stub.activeDocument ? { document: stub.activeDocument } : undefined;
    },
    createWebviewPanel(viewType: string, title: string) {
      const receive = new EventEmitter<unknown>();
      const dispose = new EventEmitter<void>();
      const rec = { viewType, title, html: '', posted: [] as unknown[], receive };
      stub.panels.push(rec);
      return {
        visible: true,
        reveal: () => {},
        dispose: () => dispose.fire(),
        onDidDispose: dispose.event,
        onDidChangeViewState: () => disposable,
        webview: {
          cspSource: 'https://*.vscode-cdn.net',
          asWebviewUri: (u: Uri) => `https://file+.vscode-resource.vscode-cdn.net${u.fsPath}`,
          set html(h: string) {
            rec.html = h;
          },
          get html() {
            return rec.html;
          },
          postMessage: (m: unknown) => {
            rec.posted.push(m);
            return Promise.resolve(true);
          },
          onDidReceiveMessage: receive.event,
        },
      };
    },
    showTextDocument: () => Promise.resolve(undefined),
  },
  workspace: {
    get isTrusted() {
      return stub.trusted;
    },
    get workspaceFolders() {
      return undefined;
    },
    get textDocuments() {
      return stub.openDocuments;
    },
    getWorkspaceFolder: () => undefined,
    asRelativePath: (u: Uri) => u.fsPath,
    getConfiguration: () => ({
      inspect: (k: string) => (k in stub.config ? { globalValue: stub.config[k] } : {}),
      get: (k: string) => stub.config[k],
    }),
    onDidChangeConfiguration: () => disposable,
    openTextDocument: (u: Uri | { content: string }) => {
      if (u instanceof Uri) {
        const have = stub.openDocuments.find((d) => d.uri.toString() === u.toString());
        return Promise.resolve(have ?? document(u.fsPath));
      }
      return Promise.resolve(document('untitled', u.content, 'untitled'));
    },
    fs: { writeFile: () => Promise.resolve() },
  },
};

class LanguageClient {
  constructor(_id: string, _name: string, server: { run: { module: string } }, client: { initializationOptions?: unknown }) {
    stub.client.serverModule = server.run.module;
    const init = client.initializationOptions;
    stub.client.initializationOptions = typeof init === 'function' ? (init as () => unknown)() : init;
  }
  start(): Promise<void> {
    stub.client.started = true;
    return Promise.resolve();
  }
  isRunning(): boolean {
    return stub.client.started;
  }
  sendNotification(method: string, params: unknown): Promise<void> {
    stub.client.notifications.push({ method, params });
    return Promise.resolve();
  }
  restart(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    stub.client.started = false;
    return Promise.resolve();
  }
}

export const languageClientStub = { LanguageClient, TransportKind: { stdio: 0, ipc: 1, pipe: 2, socket: 3 } };

let installed = false;
/** Routes `vscode` and `vscode-languageclient/node` to the stubs for every later `require`. */
export function installVscodeStub(): void {
  if (installed) return;
  installed = true;
  const M = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = M._load;
  M._load = function load(request: string, parent: unknown, isMain: boolean): unknown {
    if (request === 'vscode') return vscodeStub;
    if (request === 'vscode-languageclient/node') return languageClientStub;
    return original.call(this, request, parent, isMain);
  };
}

/** A fake ExtensionContext rooted at the repository (so dist/server.js and dist/worker.js are the real ones). */
export function extensionContext(root: string): unknown {
  return {
    subscriptions: [] as { dispose(): void }[],
    extensionPath: root,
    extensionUri: Uri.file(root),
    asAbsolutePath: (p: string) => path.join(root, p),
    extension: { packageJSON: JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as unknown },
  };
}
