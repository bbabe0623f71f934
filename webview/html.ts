/**
 * The HTML document of every panel. Pure: the extension calls it with URIs from `webview.asWebviewUri` and
 * `webview.cspSource`; tests call it with loopback URLs. It must not import `vscode`.
 *
 * The Content-Security-Policy allows scripts only with this load's nonce, styles only from the extension's
 * resources (`cspSource`) or with the nonce, images only from `cspSource` or `data:` (PNG export), and nothing
 * else: no remote resources, no inline event handlers, no `eval`.
 */

import type { PanelKind } from '../protocol/webview';

export interface PanelHtmlOptions {
  panel: PanelKind;
  /** URI of `dist/webview/<panel>.js` as the webview sees it (`webview.asWebviewUri(...)`). */
  scriptUri: string;
  /** URI of `dist/webview/<panel>.css`; every panel build emits one, so pass it. */
  styleUri?: string;
  /** `webview.cspSource`, e.g. `https://*.vscode-cdn.net`. */
  cspSource: string;
  /** A fresh random nonce per load (`createNonce()`), base64 or base64url, at least 16 characters. */
  nonce: string;
  /** Document title; defaults to the panel's name. */
  title?: string;
}

const TITLES: Record<PanelKind, string> = {
  'loss-curves': 'RTune: Loss Curves',
  heatmap: 'RTune: Projection Heatmap',
  leaderboard: 'RTune: Block Search',
};

/** 128 random bits as base64url, from Web Crypto (present in browsers and in Node >= 19 as `globalThis.crypto`). */
export function createNonce(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The CSP for one load. Exported so tests and the extension's own checks can compare against it. */
export function panelCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/**
 * Theme fallbacks. Inside VS Code the `--vscode-*` variables are set on <html> and win; in a plain browser (tests,
 * screenshots) the panel falls back to a dark or light palette from `prefers-color-scheme`. Panel CSS and canvas
 * code read only the `--rt-*` names defined here, so this is the one place that maps VS Code's theme.
 */
const BASE_STYLE = `
:root { color-scheme: light dark;
  --rt-fb-bg: #1f1f1f; --rt-fb-fg: #cccccc; --rt-fb-muted: #9d9d9d; --rt-fb-border: #3c3c3c; --rt-fb-hover: #2a2d2e;
  --rt-fb-lines: rgba(128,128,128,0.35); --rt-fb-red: #f14c4c; --rt-fb-blue: #3794ff; --rt-fb-yellow: #cca700;
  --rt-fb-orange: #d18616; --rt-fb-green: #89d185; --rt-fb-purple: #b180d7; --rt-fb-focus: #0078d4; }
@media (prefers-color-scheme: light) { :root {
  --rt-fb-bg: #ffffff; --rt-fb-fg: #3b3b3b; --rt-fb-muted: #6f6f6f; --rt-fb-border: #d4d4d4; --rt-fb-hover: #f2f2f2;
  --rt-fb-lines: rgba(128,128,128,0.35); --rt-fb-red: #e51400; --rt-fb-blue: #1a85ff; --rt-fb-yellow: #bf8803;
  --rt-fb-orange: #d18616; --rt-fb-green: #388a34; --rt-fb-purple: #652d90; --rt-fb-focus: #005fb8; } }
body {
  --rt-bg: var(--vscode-editor-background, var(--rt-fb-bg));
  --rt-fg: var(--vscode-foreground, var(--rt-fb-fg));
  --rt-muted: var(--vscode-descriptionForeground, var(--rt-fb-muted));
  --rt-border: var(--vscode-panel-border, var(--vscode-widget-border, var(--rt-fb-border)));
  --rt-hover: var(--vscode-list-hoverBackground, var(--rt-fb-hover));
  --rt-focus: var(--vscode-focusBorder, var(--rt-fb-focus));
  --rt-lines: var(--vscode-charts-lines, var(--rt-fb-lines));
  --rt-red: var(--vscode-charts-red, var(--rt-fb-red));
  --rt-blue: var(--vscode-charts-blue, var(--rt-fb-blue));
  --rt-yellow: var(--vscode-charts-yellow, var(--rt-fb-yellow));
  --rt-orange: var(--vscode-charts-orange, var(--rt-fb-orange));
  --rt-green: var(--vscode-charts-green, var(--rt-fb-green));
  --rt-purple: var(--vscode-charts-purple, var(--rt-fb-purple));
  --rt-error: var(--vscode-errorForeground, var(--rt-fb-red));
  --rt-font: var(--vscode-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
  --rt-font-size: var(--vscode-font-size, 13px);
  --rt-mono: var(--vscode-editor-font-family, ui-monospace, "Cascadia Mono", Menlo, monospace);
  margin: 0; padding: 0; background: var(--rt-bg); color: var(--rt-fg);
  font-family: var(--rt-font); font-size: var(--rt-font-size);
}`;

export function panelHtml(options: PanelHtmlOptions): string {
  const { panel, scriptUri, styleUri, cspSource, nonce } = options;
  if (!/^[A-Za-z0-9+/_-]{16,}={0,2}$/.test(nonce)) {
    throw new Error('panelHtml: the nonce must be at least 16 base64/base64url characters (use createNonce())');
  }
  if (!(panel in TITLES)) throw new Error(`panelHtml: unknown panel '${String(panel)}'`);
  // One or more source expressions: VS Code desktop gives `https://*.vscode-cdn.net`, code-server
  // `'self' https://*.vscode-cdn.net`. Keywords must be quoted; nothing may end the directive (`;`, `,`).
  const sources = cspSource.trim().split(/\s+/);
  if (cspSource.trim() === '' || /[;,"]/.test(cspSource) || !sources.every((x) => /^'(self|none)'$/.test(x) || !x.includes("'"))) {
    throw new Error(`panelHtml: cspSource '${cspSource}' is not a list of CSP source expressions (pass webview.cspSource)`);
  }
  const title = options.title ?? TITLES[panel];
  const styleLink = styleUri ? `\n<link rel="stylesheet" nonce="${nonce}" href="${escapeAttr(styleUri)}">` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(panelCsp(cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeAttr(title)}</title>
<style nonce="${nonce}">${BASE_STYLE}</style>${styleLink}
</head>
<body data-panel="${panel}">
<main id="app" class="rt-app" aria-label="${escapeAttr(title)}"></main>
<script nonce="${nonce}" src="${escapeAttr(scriptUri)}"></script>
</body>
</html>
`;
}
