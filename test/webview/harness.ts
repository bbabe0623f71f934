/**
 * Drives the built panel bundles (dist/webview/*.js) in headless Chromium through playwright-core, the way VS Code
 * hosts them: the real HTML from webview/html.ts with its CSP and nonce, served from a loopback HTTP server, and a
 * stub `acquireVsCodeApi` that records posted messages and keeps webview state in sessionStorage (so a reload
 * behaves like VS Code re-showing a hidden panel: state survives, data does not).
 *
 * Used by test/webview/*.test.ts and scripts/bench-webview.ts.
 */

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize, resolve, sep } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createNonce, panelHtml } from '../../webview/html';
import { PANEL_KINDS, WEBVIEW_PROTOCOL_VERSION, type ExtensionMessage, type PanelKind, type Unversioned } from '../../protocol/webview';

/** Repository root (this file runs from out/test/webview/ or out/scripts/ via import). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const DIST_WEBVIEW = join(REPO_ROOT, 'dist', 'webview');
export const CHROMIUM = process.env['RTUNE_CHROMIUM'] ?? '/usr/bin/chromium';
export const OUTPUT_DIR = join(REPO_ROOT, '.test-output', 'webview');

/**
 * Why browser tests cannot run here, or false when they can. Outside CI a missing Chromium skips; in CI (the
 * `CI` variable set) it is an error, because CI installs Chromium and a skip there would hide a broken setup.
 */
export function browserSkipReason(): string | false {
  const missing: string[] = [];
  if (!existsSync(CHROMIUM)) missing.push(`${CHROMIUM} is missing (apt-get install chromium)`);
  const notBuilt = PANEL_KINDS.filter((k) => !existsSync(join(DIST_WEBVIEW, `${k}.js`)));
  if (notBuilt.length > 0) missing.push(`dist/webview/{${notBuilt.join(',')}}.js not built (run node scripts/build.mjs)`);
  if (missing.length === 0) return false;
  if (process.env['CI'] && missing.length > 0) throw new Error(`webview browser tests cannot run in CI: ${missing.join('; ')}`);
  return `webview browser tests skipped: ${missing.join('; ')}`;
}

export interface PanelServer {
  origin: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Serves `/panel/<kind>.html` (fresh nonce per load) and the bundles under `/dist/webview/`. Loopback only. */
export async function startPanelServer(): Promise<PanelServer> {
  let origin = '';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const panel = /^\/panel\/([a-z-]+)\.html$/.exec(url.pathname)?.[1];
    if (panel && (PANEL_KINDS as readonly string[]).includes(panel)) {
      const kind = panel as PanelKind;
      const html = panelHtml({
        panel: kind,
        scriptUri: `${origin}/dist/webview/${kind}.js`,
        styleUri: `${origin}/dist/webview/${kind}.css`,
        cspSource: origin,
        nonce: createNonce(),
      });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (url.pathname.startsWith('/dist/webview/')) {
      const file = normalize(join(DIST_WEBVIEW, decodeURIComponent(url.pathname.slice('/dist/webview/'.length))));
      if (file.startsWith(DIST_WEBVIEW + sep) && existsSync(file)) {
        const ext = file.slice(file.lastIndexOf('.'));
        res.writeHead(200, { 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(readFileSync(file));
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

export interface BrowserHandle {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserHandle> {
  // Chromium writes caches under $HOME; keep them out of the user's home (TESTING.md gotchas).
  const home = mkdtempSync(join(tmpdir(), 'rtune-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    env: { ...process.env, HOME: home },
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A subset of VS Code's "Dark Modern" theme variables, as VS Code sets them on <html>. */
export const VSCODE_DARK_THEME: Record<string, string> = {
  '--vscode-editor-background': '#1f1f1f',
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-panel-border': '#2b2b2b',
  '--vscode-widget-border': '#313131',
  '--vscode-focusBorder': '#0078d4',
  '--vscode-list-hoverBackground': '#2a2d2e',
  '--vscode-charts-foreground': '#cccccc',
  '--vscode-charts-lines': 'rgba(204, 204, 204, 0.5)',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-yellow': '#cca700',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-errorForeground': '#f85149',
  '--vscode-font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-editor-font-family': '"Droid Sans Mono", monospace',
  '--vscode-button-background': '#0078d4',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-secondaryBackground': '#313131',
  '--vscode-button-secondaryForeground': '#cccccc',
  '--vscode-settings-dropdownBackground': '#313131',
  '--vscode-dropdown-background': '#313131',
  '--vscode-dropdown-foreground': '#cccccc',
  '--vscode-dropdown-border': '#3c3c3c',
  '--vscode-checkbox-background': '#313131',
  '--vscode-checkbox-border': '#3c3c3c',
  '--vscode-checkbox-foreground': '#cccccc',
};

/** A subset of VS Code's "Light Modern" theme. */
export const VSCODE_LIGHT_THEME: Record<string, string> = {
  ...VSCODE_DARK_THEME,
  '--vscode-editor-background': '#ffffff',
  '--vscode-foreground': '#3b3b3b',
  '--vscode-descriptionForeground': '#3b3b3b',
  '--vscode-charts-foreground': '#616161',
  '--vscode-charts-lines': 'rgba(97, 97, 97, 0.5)',
  '--vscode-charts-red': '#e51400',
  '--vscode-charts-blue': '#1a85ff',
  '--vscode-charts-green': '#388a34',
  '--vscode-button-secondaryBackground': '#e5e5e5',
  '--vscode-button-secondaryForeground': '#3b3b3b',
  '--vscode-dropdown-background': '#ffffff',
  '--vscode-dropdown-foreground': '#3b3b3b',
  '--vscode-checkbox-background': '#f8f8f8',
  '--vscode-checkbox-foreground': '#3b3b3b',
};

export interface Violation {
  directive: string;
  blocked: string;
  sample: string;
}

export interface OpenOptions {
  /** VS Code theme variables to set on <html> (as VS Code does), with the body class `vscode-dark`/`vscode-light`. */
  theme?: { vars: Record<string, string>; bodyClass: string };
  viewport?: { width: number; height: number };
}

function initScript(arg: { theme: OpenOptions['theme'] | null }): void {
  type W = typeof window & {
    __RTUNE_TEST__: boolean;
    __posted: unknown[];
    __violations: Array<{ directive: string; blocked: string; sample: string }>;
    acquireVsCodeApi: () => unknown;
  };
  const w = window as W;
  w.__RTUNE_TEST__ = true;
  w.__posted = [];
  w.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    w.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
  });
  const key = 'rtune.test.webviewState';
  w.acquireVsCodeApi = () => ({
    postMessage: (m: unknown) => w.__posted.push(JSON.parse(JSON.stringify(m))),
    getState: () => {
      const s = sessionStorage.getItem(key);
      return s === null ? undefined : JSON.parse(s);
    },
    setState: (s: unknown) => sessionStorage.setItem(key, JSON.stringify(s)),
  });
  const theme = arg.theme;
  if (theme) {
    // The init script runs before <html> exists; apply the theme as soon as the elements appear, as VS Code does
    // before the panel's own script runs.
    let varsSet = false;
    let classSet = false;
    const apply = (): boolean => {
      if (!varsSet && document.documentElement) {
        for (const [k, v] of Object.entries(theme.vars)) document.documentElement.style.setProperty(k, v);
        varsSet = true;
      }
      if (!classSet && document.body) {
        document.body.classList.add(theme.bodyClass);
        classSet = true;
      }
      return varsSet && classSet;
    };
    if (!apply()) {
      const obs = new MutationObserver(() => {
        if (apply()) obs.disconnect();
      });
      obs.observe(document, { childList: true, subtree: true });
    }
  }
}

export class PanelPage {
  readonly consoleErrors: string[] = [];
  readonly requests: string[] = [];
  /** Requests that did not complete, with Chromium's reason ('csp' for a request the Content-Security-Policy blocked). */
  readonly failedRequests: Array<{ url: string; error: string }> = [];

  constructor(
    readonly page: Page,
    readonly kind: PanelKind,
    readonly url: string,
  ) {
    page.on('console', (m) => {
      if (m.type() === 'error') this.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => this.consoleErrors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => this.requests.push(r.url()));
    page.on('requestfailed', (r) => this.failedRequests.push({ url: r.url(), error: r.failure()?.errorText ?? '' }));
  }

  /** Loads (or reloads) the panel and waits for its `ready` message. */
  async load(): Promise<void> {
    await this.page.goto(this.url);
    await this.page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'ready'));
  }

  /** Delivers messages the way VS Code does (a `message` event on window), synchronously and in order. */
  async send(...messages: Array<Unversioned<ExtensionMessage> | ExtensionMessage | Record<string, unknown>>): Promise<void> {
    const versioned = messages.map((m) => ('protocolVersion' in m ? m : { ...m, protocolVersion: WEBVIEW_PROTOCOL_VERSION }));
    await this.page.evaluate((ms) => {
      for (const m of ms) window.dispatchEvent(new MessageEvent('message', { data: m }));
    }, versioned);
  }

  /** Waits until the panel has drawn everything sent so far. */
  async rendered(): Promise<void> {
    await this.page.evaluate(() => (window as unknown as { __rtuneTest: { whenRendered(): Promise<void> } }).__rtuneTest.whenRendered());
  }

  async posted<T = Record<string, unknown>>(): Promise<T[]> {
    return this.page.evaluate(() => (window as unknown as { __posted: T[] }).__posted);
  }

  async violations(): Promise<Violation[]> {
    return this.page.evaluate(() => (window as unknown as { __violations: Violation[] }).__violations);
  }

  /** Calls a test hook (window.__rtuneTest[name]) with JSON arguments. */
  async hook<T>(name: string, ...args: unknown[]): Promise<T> {
    return this.page.evaluate(
      ([n, a]) => {
        const hooks = (window as unknown as { __rtuneTest: Record<string, (...x: unknown[]) => unknown> }).__rtuneTest;
        const f = hooks[n as string];
        if (typeof f !== 'function') throw new Error(`no test hook ${String(n)}`);
        return f(...(a as unknown[]));
      },
      [name, args] as const,
    ) as Promise<T>;
  }

  /** Saves a screenshot under .test-output/webview/ and returns its path. */
  async screenshot(name: string): Promise<string> {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    const path = join(OUTPUT_DIR, `${name}.png`);
    // No focus ring from the last clicked button in the picture.
    await this.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await this.page.screenshot({ path, fullPage: true, animations: 'disabled' });
    return path;
  }

  /** Requests that left the loopback origin (must be none: panels load no remote resources). */
  foreignRequests(origin: string): string[] {
    return this.requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('data:'));
  }
}

export async function openPanel(browser: Browser, server: PanelServer, kind: PanelKind, options: OpenOptions = {}): Promise<PanelPage> {
  const page = await browser.newPage({ viewport: options.viewport ?? { width: 1100, height: 800 }, deviceScaleFactor: 1 });
  await page.addInitScript(initScript, { theme: options.theme ?? null });
  const panel = new PanelPage(page, kind, `${server.origin}/panel/${kind}.html`);
  await panel.load();
  return panel;
}
