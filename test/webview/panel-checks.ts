/**
 * Shared by the browser tests of the panels (panels.test.ts, loss-curves-panel.test.ts): whether they can run
 * here, the dark theme they open panels in, screenshot publishing, and checks on what a panel posted.
 */
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type PanelMessage } from '../../protocol/webview';
import { isPanelMessage } from '../../protocol/webview-check';
import type { Browser } from 'playwright-core';
import {
  browserSkipReason,
  launchBrowser,
  REPO_ROOT,
  startPanelServer,
  VSCODE_DARK_THEME,
  type BrowserHandle,
  type PanelPage,
  type PanelServer,
} from './harness';

/** Why this file's browser tests skip, or false when they run; logged as a `#` line when they skip. */
export function browserTestsSkip(): string | false {
  let skip: string | false;
  try {
    skip = browserSkipReason();
  } catch (e) {
    // In CI a missing browser or build is a failure, reported as one test rather than a crashed file.
    test('webview browser tests can run', () => {
      throw e;
    });
    skip = 'cannot run (see the failure above)';
  }
  if (skip) console.log(`# ${skip}`);
  return skip;
}

export const DARK = { vars: VSCODE_DARK_THEME, bodyClass: 'vscode-dark' };
const DOCS_SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');

/** Copies a screenshot to docs/screenshots/ when RTUNE_UPDATE_SCREENSHOTS=1. */
export function publish(path: string, name: string): void {
  if (process.env['RTUNE_UPDATE_SCREENSHOTS'] !== '1') return;
  mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
  copyFileSync(path, join(DOCS_SCREENSHOTS, name));
}

/** Nothing went wrong that the test did not cause: no console errors, no CSP violations, no remote requests. */
export async function assertClean(p: PanelPage, server: PanelServer): Promise<void> {
  assert.deepEqual(p.consoleErrors, []);
  assert.deepEqual(await p.violations(), []);
  assert.deepEqual(p.foreignRequests(server.origin), []);
  const posted = await p.posted<PanelMessage>();
  for (const m of posted) assert.ok(isPanelMessage(m), `panel posted an invalid message: ${JSON.stringify(m).slice(0, 200)}`);
  assert.deepEqual(
    posted.filter((m) => m.type === 'error'),
    [],
  );
}

/** The last message of `type` the panel posted; fails when there is none. */
export async function lastPosted<T extends PanelMessage['type']>(p: PanelPage, type: T): Promise<Extract<PanelMessage, { type: T }>> {
  const posted = await p.posted<PanelMessage>();
  const found = posted.filter((m) => m.type === type).pop();
  assert.ok(found, `no '${type}' message was posted`);
  return found as Extract<PanelMessage, { type: T }>;
}

/** One panel server and one headless Chromium for the enclosing describe: started before its tests, closed after. */
export function usePanelBrowser(): { readonly server: PanelServer; readonly browser: Browser } {
  let server: PanelServer | undefined;
  let handle: BrowserHandle | undefined;
  before(async () => {
    server = await startPanelServer();
    handle = await launchBrowser();
  });
  after(async () => {
    await handle?.close();
    await server?.close();
  });
  return {
    get server() {
      return server ?? assert.fail('the panel server is not started');
    },
    get browser() {
      return handle?.browser ?? assert.fail('the browser is not started');
    },
  };
}
