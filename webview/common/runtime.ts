/**
 * What every panel does the same way: validate incoming messages, post `ready`, redraw at most once per animation
 * frame, follow theme changes, report errors to the extension, and (in tests and benchmarks only) expose hooks.
 */

import { panelMessage, type ExtensionMessage, type PanelKind, type PanelMessage, type Unversioned } from '../../protocol/webview';
import { checkExtensionMessage } from '../../protocol/webview-check';
import { vscodeApi, type VsCodeApi } from '../vscode-api';

/**
 * Coalesces redraw requests into one `render()` per animation frame: a job streaming hundreds of points per
 * second costs one redraw per frame, not one per message. Also records how long each render took.
 */
export class FrameScheduler {
  private pending = false;
  private waiters: Array<() => void> = [];
  framesRendered = 0;
  lastRenderMs = 0;

  constructor(
    private readonly render: () => void,
    private readonly onError: (e: unknown) => void,
  ) {}

  schedule(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => this.run());
  }

  /** Resolves after the pending render (immediately when nothing is pending). */
  whenRendered(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private run(): void {
    this.pending = false;
    const t0 = performance.now();
    try {
      this.render();
    } catch (e) {
      this.onError(e);
    } finally {
      this.lastRenderMs = performance.now() - t0;
      this.framesRendered++;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }
}

export interface PanelRuntime<State> {
  readonly panel: PanelKind;
  readonly api: VsCodeApi<State>;
  readonly scheduler: FrameScheduler;
  post(body: Unversioned<PanelMessage>): void;
  reportError(message: string): void;
}

export interface PanelSpec {
  panel: PanelKind;
  /** A validated message from the extension. */
  onMessage(message: ExtensionMessage): void;
  /** The theme changed (CSS variables or body class): re-read colours, then the runtime schedules a render. */
  onTheme(): void;
  /** Draw the current state; called at most once per animation frame. */
  render(): void;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.message}${e.stack ? `\n${e.stack}` : ''}` : String(e);
}

export function startPanel<State>(spec: PanelSpec): PanelRuntime<State> {
  const api = vscodeApi<State>();
  const post = (body: Unversioned<PanelMessage>): void => api.postMessage(panelMessage(body));
  const reportError = (message: string): void => {
    console.error(`[rtune ${spec.panel}] ${message}`);
    post({ type: 'error', panel: spec.panel, message });
  };
  const scheduler = new FrameScheduler(spec.render, (e) => reportError(`render failed: ${describe(e)}`));

  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    const checked = checkExtensionMessage(event.data);
    if (!checked.ok) {
      reportError(`ignored an invalid message: ${checked.error}`);
      return;
    }
    try {
      spec.onMessage(checked.value);
    } catch (e) {
      reportError(`failed to apply a '${checked.value.type}' message: ${describe(e)}`);
    }
    scheduler.schedule();
  });
  window.addEventListener('error', (event) => reportError(`uncaught error: ${event.message}`));
  window.addEventListener('unhandledrejection', (event) => reportError(`unhandled rejection: ${describe(event.reason)}`));

  // VS Code announces a theme change by rewriting the CSS variables on <html> and the theme class on <body>.
  const onTheme = (): void => {
    spec.onTheme();
    scheduler.schedule();
  };
  const observer = new MutationObserver(onTheme);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  const scheme = window.matchMedia('(prefers-color-scheme: dark)');
  scheme.addEventListener('change', onTheme);

  post({ type: 'ready', panel: spec.panel });
  return { panel: spec.panel, api, scheduler, post, reportError };
}

type TestGlobals = typeof globalThis & { __RTUNE_TEST__?: boolean; __rtuneTest?: Record<string, unknown> };

/**
 * Test and benchmark hooks, installed only when the page set `__RTUNE_TEST__ = true` before the bundle ran
 * (playwright's addInitScript). Panels in VS Code never expose them.
 */
export function exposeTestHooks(runtime: PanelRuntime<unknown>, hooks: Record<string, unknown>): void {
  const g = globalThis as TestGlobals;
  if (g.__RTUNE_TEST__ !== true) return;
  g.__rtuneTest = {
    whenRendered: () => runtime.scheduler.whenRendered(),
    framesRendered: () => runtime.scheduler.framesRendered,
    lastRenderMs: () => runtime.scheduler.lastRenderMs,
    ...hooks,
  };
}
