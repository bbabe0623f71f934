/**
 * Colours and fonts for canvas drawing, read from the `--rt-*` CSS variables that webview/html.ts maps onto
 * VS Code's theme variables (with fallbacks for a plain browser). DOM elements use the variables directly.
 */

export interface Theme {
  background: string;
  foreground: string;
  muted: string;
  border: string;
  /** Grid lines and axis ticks. */
  lines: string;
  error: string;
  font: string;
  fontSize: number;
  mono: string;
  /** Series colours, in run order: VS Code's chart colours. */
  palette: string[];
  /** 'dark' | 'light' | 'high-contrast', from VS Code's body class, else from prefers-color-scheme. */
  kind: 'dark' | 'light' | 'high-contrast';
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

export function readTheme(): Theme {
  const style = getComputedStyle(document.body);
  const cls = document.body.classList;
  const kind =
    cls.contains('vscode-high-contrast') || cls.contains('vscode-high-contrast-light')
      ? 'high-contrast'
      : cls.contains('vscode-light')
        ? 'light'
        : cls.contains('vscode-dark')
          ? 'dark'
          : window.matchMedia('(prefers-color-scheme: light)').matches
            ? 'light'
            : 'dark';
  const fontSize = Number.parseFloat(cssVar(style, '--rt-font-size', '13px'));
  return {
    background: cssVar(style, '--rt-bg', '#1f1f1f'),
    foreground: cssVar(style, '--rt-fg', '#cccccc'),
    muted: cssVar(style, '--rt-muted', '#9d9d9d'),
    border: cssVar(style, '--rt-border', '#3c3c3c'),
    lines: cssVar(style, '--rt-lines', 'rgba(128,128,128,0.35)'),
    error: cssVar(style, '--rt-error', '#f14c4c'),
    font: cssVar(style, '--rt-font', 'sans-serif'),
    fontSize: Number.isFinite(fontSize) ? fontSize : 13,
    mono: cssVar(style, '--rt-mono', 'monospace'),
    palette: ['--rt-blue', '--rt-orange', '--rt-green', '--rt-red', '--rt-purple', '--rt-yellow'].map((n, i) =>
      cssVar(style, n, ['#3794ff', '#d18616', '#89d185', '#f14c4c', '#b180d7', '#cca700'][i] as string),
    ),
    kind,
  };
}
