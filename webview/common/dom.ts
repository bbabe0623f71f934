/** A small DOM builder. Text always goes in through textContent, never innerHTML (sample texts are model output). */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; title?: string; attrs?: Record<string, string> } = {},
  children: ReadonlyArray<Node | string> = [],
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className !== undefined) e.className = props.className;
  if (props.text !== undefined) e.textContent = props.text;
  if (props.title !== undefined) e.title = props.title;
  for (const [k, v] of Object.entries(props.attrs ?? {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

/** The panel's root element from webview/html.ts. */
export function appRoot(): HTMLElement {
  const app = document.getElementById('app');
  if (!app) throw new Error('rtune webview: #app is missing; the page must come from panelHtml()');
  return app;
}

/** A file name for an export (the extension's save dialog proposes it): letters, digits, '.', '_' and '-' only. */
export function suggestedFileName(base: string, ext: string): string {
  const safe = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'rtune';
  return `${safe}.${ext}`;
}
