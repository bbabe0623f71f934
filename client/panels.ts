/**
 * Hosts the three webview panels (loss curves, projection heatmap, block-search leaderboard): one panel of each
 * kind, created on demand, fed from the extension's RunState. A panel posts `ready` on every load (including when
 * it is shown again after being hidden, since we do not retain hidden webviews) and gets a full snapshot; while
 * it is ready it receives deltas. Messages are validated both ways (protocol/webview.ts).
 */
import * as vscode from 'vscode';
import { PANEL_KINDS, type ExtensionMessage, type PanelKind } from '../protocol/webview';
import { checkPanelMessage } from '../protocol/webview-check';
import { createNonce, panelHtml } from '../webview/html';
import type { RunState } from './run-state';

const VIEW_TYPES: Record<PanelKind, string> = {
  'loss-curves': 'rtune.lossCurves',
  heatmap: 'rtune.heatmap',
  leaderboard: 'rtune.leaderboard',
};

const TITLES: Record<PanelKind, string> = {
  'loss-curves': 'RTune: Loss Curves',
  heatmap: 'RTune: Projection Heatmap',
  leaderboard: 'RTune: Block Search',
};

/** Which deltas a panel kind cares about (all of them get snapshots, runStatus, progress and theme). */
function wants(kind: PanelKind, m: ExtensionMessage): boolean {
  switch (m.type) {
    case 'append':
      return kind === 'loss-curves';
    case 'heatmap':
      return kind === 'heatmap';
    case 'trials':
      return kind === 'leaderboard';
    default:
      return true;
  }
}

export class PanelHost implements vscode.Disposable {
  private readonly panels = new Map<PanelKind, { panel: vscode.WebviewPanel; ready: boolean }>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly state: RunState,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(vscode.window.onDidChangeActiveColorTheme(() => this.post([{ type: 'theme', protocolVersion: 1 } as ExtensionMessage])));
  }

  isOpen(kind: PanelKind): boolean {
    return this.panels.has(kind);
  }

  /** Shows (creating if needed) a panel. `preserveFocus` keeps the cursor in the editor while a job starts. */
  show(kind: PanelKind, preserveFocus = false): vscode.WebviewPanel {
    const have = this.panels.get(kind);
    if (have) {
      if (!have.panel.visible) have.panel.reveal(undefined, preserveFocus);
      return have.panel;
    }
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPES[kind],
      TITLES[kind],
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      { enableScripts: true, localResourceRoots: [dist], retainContextWhenHidden: false },
    );
    this.adopt(kind, panel);
    this.onShow?.(kind);
    return panel;
  }

  /** Called when a panel is created or restored (the extension loads recent runs when its state is empty). */
  onShow: ((kind: PanelKind) => void) | undefined;

  /**
   * Restores panels VS Code kept across a window reload (their webviews come back empty): registers a serializer
   * per panel kind that re-renders the page; the page then posts `ready` and gets a snapshot.
   */
  registerSerializers(): vscode.Disposable[] {
    return PANEL_KINDS.map((kind) =>
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPES[kind], {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => {
          if (this.panels.has(kind)) {
            panel.dispose();
            return;
          }
          panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')] };
          this.adopt(kind, panel);
          this.onShow?.(kind);
        },
      }),
    );
  }

  /** Renders our page into `panel` and wires its messages. */
  private adopt(kind: PanelKind, panel: vscode.WebviewPanel): void {
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    const entry = { panel, ready: false };
    this.panels.set(kind, entry);
    panel.webview.html = panelHtml({
      panel: kind,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, `${kind}.js`)).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, `${kind}.css`)).toString(),
      cspSource: panel.webview.cspSource,
      nonce: createNonce(),
      title: TITLES[kind],
    });
    panel.onDidChangeViewState(() => {
      // A hidden webview loses its document; it posts `ready` again when shown.
      if (!panel.visible) entry.ready = false;
    });
    panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(kind, entry, raw));
    panel.onDidDispose(() => {
      if (this.panels.get(kind)?.panel === panel) this.panels.delete(kind);
    });
  }

  /** Posts deltas to every ready panel that shows them. */
  post(messages: readonly ExtensionMessage[]): void {
    for (const [kind, entry] of this.panels) {
      if (!entry.ready) continue;
      for (const m of messages) if (wants(kind, m)) void entry.panel.webview.postMessage(m);
    }
  }

  /** Re-sends the full state to every ready panel (after a run folder was loaded). */
  refresh(): void {
    for (const entry of this.panels.values()) if (entry.ready) void entry.panel.webview.postMessage(this.state.snapshot());
  }

  private async receive(kind: PanelKind, entry: { panel: vscode.WebviewPanel; ready: boolean }, raw: unknown): Promise<void> {
    const checked = checkPanelMessage(raw);
    if (!checked.ok) {
      this.log.warn(`panel ${kind}: ignored an invalid message: ${checked.error}`);
      return;
    }
    const m = checked.value;
    switch (m.type) {
      case 'ready':
        entry.ready = true;
        await entry.panel.webview.postMessage(this.state.snapshot());
        return;
      case 'error':
        this.log.warn(`panel ${kind}: ${m.message}`);
        return;
      case 'exportCsv':
      case 'exportPng': {
        const isPng = m.type === 'exportPng';
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const target = await vscode.window.showSaveDialog({
          ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, m.suggestedName) } : {}),
          filters: isPng ? { 'PNG image': ['png'] } : { CSV: ['csv'] },
          title: isPng ? 'Save chart as PNG' : 'Save data as CSV',
        });
        if (!target) return;
        let bytes: Uint8Array;
        if (m.type === 'exportPng') {
          const comma = m.dataUrl.indexOf(',');
          if (!m.dataUrl.startsWith('data:image/png;base64,') || comma < 0) {
            void vscode.window.showErrorMessage('RTune: the panel sent an image that is not a PNG data URL; nothing was saved.');
            return;
          }
          bytes = Buffer.from(m.dataUrl.slice(comma + 1), 'base64');
        } else {
          bytes = Buffer.from(m.csv, 'utf8');
        }
        await vscode.workspace.fs.writeFile(target, bytes);
        this.log.info(`saved ${target.fsPath}`);
        return;
      }
    }
  }

  dispose(): void {
    for (const e of this.panels.values()) e.panel.dispose();
    this.panels.clear();
    for (const d of this.disposables) d.dispose();
  }
}

export { PANEL_KINDS };
