// End-to-end test in a real VS Code: code-server 4.100.3 (VS Code 1.100.3, a Node extension host) driven by
// headless Debian Chromium through playwright-core. ../shared/docs/TESTING.md explains why code-server: nothing
// else that runs a real extension host installs offline here.
//
//   1. package the .vsix (scripts/package.mjs) and install it with `code-server --install-extension`;
//   2. make a workspace with examples/demo.rtune and the data it reads;
//   3. part A, inside the extension host (test/e2e/suite/index.js, real `vscode` API): activation, commands,
//      diagnostics on a broken copy, hover, completion, CodeLens, Run Tuning from its lens (points streamed,
//      run folder done), a cancelled second run (folder marked cancelled), Compute perplexity and its inline
//      result (CodeLens + inlay hint), Open Run;
//   4. part B, through the UI: the file in the editor with squiggle-free lenses, hover and completion widgets,
//      a click on the "Run Tuning" lens, the loss-curve panel receiving points, the heatmap panel drawing, a block
//      search from the palette filling the leaderboard, and
//      after a window reload the loss-curve panel restored with its points;
//      screenshots go to .test-output/e2e/ (and, with --update-docs, to docs/screenshots/).
// Exit code 0 when both parts pass. Prerequisites (.ci/run installs them): apt chromium, libkrb5-dev, ripgrep;
// code-server via test/e2e/install-code-server.sh (run automatically when missing).
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const csDir = process.env.RTUNE_CODE_SERVER_DIR ?? path.join(root, '.code-server');
const csEntry = path.join(csDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const outDir = path.join(root, '.test-output', 'e2e');
const updateDocs = process.argv.includes('--update-docs');
const skipPackage = process.argv.includes('--no-package');
const t00 = Date.now();
const log = (m) => console.log(`[e2e ${((Date.now() - t00) / 1000).toFixed(1)}s] ${m}`);

fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });

if (!fs.existsSync(csEntry)) {
  log('installing code-server (test/e2e/install-code-server.sh)');
  execFileSync('sh', [path.join(root, 'test', 'e2e', 'install-code-server.sh'), csDir], { stdio: 'inherit' });
}
const vsix = path.join(root, '.test-output', 'rtune-e2e.vsix');
if (!skipPackage || !fs.existsSync(vsix)) {
  log('packaging the .vsix');
  execFileSync(process.execPath, [path.join(root, 'scripts', 'package.mjs'), '--out', path.relative(root, vsix)], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

// An isolated home for code-server and Chromium (they write config, caches and sockets under HOME/TMPDIR/XDG).
const T = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-e2e-'));
const env = { ...process.env, HOME: T, TMPDIR: T, XDG_CONFIG_HOME: path.join(T, 'config'), XDG_DATA_HOME: path.join(T, 'share'), XDG_CACHE_HOME: path.join(T, 'cache'), RTUNE_E2E_OUT: outDir };
const exts = path.join(T, 'exts');
const userData = path.join(T, 'data');
log('installing the .vsix into code-server');
execFileSync(process.execPath, [csEntry, '--extensions-dir', exts, '--user-data-dir', userData, '--install-extension', vsix], { env, stdio: ['ignore', 'ignore', 'inherit'] });
const installed = fs.readdirSync(exts).find((d) => d.startsWith('rtune.rtune-'));
if (!installed) throw new Error(`the .vsix did not install: ${fs.readdirSync(exts).join(', ')}`);
const extDir = path.join(exts, installed);

// Workspace: the demo file and the data it reads (paths in it are relative to its folder).
const ws = path.join(T, 'ws');
fs.mkdirSync(ws);
fs.copyFileSync(path.join(root, 'examples', 'demo.rtune'), path.join(ws, 'demo.rtune'));
fs.cpSync(path.join(root, 'examples', 'demo-model', 'data'), path.join(ws, 'demo-model', 'data'), { recursive: true });
// Settings: no startup editors or tours, fewer threads than cores so the UI stays responsive.
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.writeFileSync(
  path.join(userData, 'User', 'settings.json'),
  JSON.stringify({ 'workbench.startupEditor': 'none', 'workbench.tips.enabled': false, 'security.workspace.trust.enabled': false, 'rtune.threads': 1, 'window.commandCenter': false, 'chat.commandCenter.enabled': false, 'workbench.secondarySideBar.defaultVisibility': 'hidden' }, null, 2),
);

const port = await new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const cs = spawn(process.execPath, [csEntry, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--user-data-dir', userData, '--extensions-dir', exts, ws], { env, stdio: ['ignore', 'pipe', 'pipe'] });
const csLog = fs.createWriteStream(path.join(outDir, 'code-server.log'));
cs.stdout.pipe(csLog);
cs.stderr.pipe(csLog);
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {
    // not up yet
  }
  if (i > 300) throw new Error('code-server did not become healthy in 30 s; see .test-output/e2e/code-server.log');
  await new Promise((r) => setTimeout(r, 100));
}
log(`code-server up on ${base} (VS Code ${JSON.parse(fs.readFileSync(path.join(csDir, 'node_modules', 'code-server', 'lib', 'vscode', 'product.json'), 'utf8')).version})`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  env,
});
const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
const url = (pairs) => `${base}/?folder=${encodeURIComponent(ws)}${pairs ? `&payload=${encodeURIComponent(JSON.stringify(pairs))}` : ''}`;
const failures = [];

// ---------------------------------------------------------------------------------------------------------------
// Part A: the in-host suite.
{
  log('part A: extension-host suite');
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  let done;
  const exited = new Promise((r) => (done = r));
  const lines = [];
  await page.exposeFunction('codeAutomationLog', (_type, args) => {
    const line = (Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    lines.push(line);
    if (/^(ok|not ok) - |passed, |inline result|^metrics: /.test(line)) log(`  ${line.split('\n')[0]}`);
  });
  await page.exposeFunction('codeAutomationExit', (code) => done(code));
  await page.goto(url([['extensionDevelopmentPath', remote(extDir)], ['extensionTestsPath', remote(path.join(root, 'test', 'e2e', 'suite', 'index.js'))]]));
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 420_000))]);
  fs.writeFileSync(path.join(outDir, 'exthost.log'), lines.join('\n'));
  await page.screenshot({ path: path.join(outDir, 'exthost-window.png') });
  if (code !== 0) failures.push(`part A: the extension-host suite exited with ${code}; see .test-output/e2e/exthost.log`);
  await page.close();
}

// ---------------------------------------------------------------------------------------------------------------
// Part B: the UI.
async function panelFrame(page, title, timeoutMs = 60_000) {
  const t0 = Date.now();
  for (;;) {
    for (const f of page.frames()) {
      try {
        if ((await f.title()) === title) return f;
      } catch {
        // frame navigating
      }
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`no webview frame titled "${title}" after ${timeoutMs} ms`);
    await page.waitForTimeout(250);
  }
}

if (!process.argv.includes('--no-ui') && (failures.length === 0 || process.argv.includes('--ui-anyway'))) {
  log('part B: UI');
  // Part B is a user's first run in this workspace: part A's run folders go, so "Run Tuning" trains (and streams
  // its steps) instead of reusing part A's finished tune.
  fs.rmSync(path.join(ws, 'runs'), { recursive: true, force: true });
  const page = await browser.newPage({ viewport: { width: 1500, height: 920 } });
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /rtune|webview|uplot|Uncaught/i.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  const shot = async (name) => {
    await page.screenshot({ path: path.join(outDir, `${name}.png`) });
    if (updateDocs) fs.copyFileSync(path.join(outDir, `${name}.png`), path.join(root, 'docs', 'screenshots', `${name}.png`));
  };
  const step = async (name, fn) => {
    const t0 = Date.now();
    try {
      await fn();
      log(`  ok - ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      log(`  not ok - ${name}: ${e.message}`);
      if (consoleErrors.length > 0) log(`  browser console errors: ${consoleErrors.slice(-10).join(' | ')}`);
      failures.push(`part B: ${name}: ${e.message}`);
      await shot(`failed-${name.replace(/\W+/g, '-').slice(0, 40)}`).catch(() => {});
      throw e;
    }
  };
  try {
    await page.goto(url());
    await step('the workbench opens the demo file from the explorer', async () => {
      await page.waitForSelector('.explorer-folders-view', { timeout: 60_000 });
      await page.click('.explorer-folders-view .monaco-list-row:has-text("demo.rtune")');
      await page.waitForSelector('.monaco-editor .view-lines', { timeout: 30_000 });
    });
    const demoLines = fs.readFileSync(path.join(ws, 'demo.rtune'), 'utf8').split('\n');
    const tuneLine = demoLines.findIndex((l) => l.startsWith('tune ')) + 1;
    await step('CodeLenses appear on the sections', async () => {
      // Go to line: the tune section in view (Monaco renders only visible lines).
      await page.locator('.monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+g');
      await page.waitForSelector('.quick-input-widget:visible', { timeout: 10_000 });
      await page.keyboard.type(String(tuneLine + 15));
      await page.keyboard.press('Enter');
      await page.waitForSelector('.codelens-decoration a:has-text("Run Tuning")', { timeout: 60_000 });
      await shot('vscode-editor');
    });
    await step('hover shows the key documentation', async () => {
      const token = page.locator('.view-line span', { hasText: /^max_steps$/ }).first();
      await token.scrollIntoViewIfNeeded();
      await token.hover();
      await page.waitForFunction(() => [...document.querySelectorAll('.monaco-hover')].some((h) => /optimi[sz]ation steps|steps/i.test(h.textContent ?? '')), null, { timeout: 20_000 });
      await page.waitForTimeout(600); // the hover fades in
      await shot('vscode-hover');
      await page.mouse.move(5, 5);
      await page.keyboard.press('Escape');
    });
    await step('completion lists keys', async () => {
      await page.locator('.view-line span', { hasText: /^max_steps$/ }).first().click();
      await page.keyboard.press('Home');
      await page.keyboard.press('Control+Space');
      await page.waitForSelector('.suggest-widget.visible .monaco-list-row', { timeout: 20_000 });
      await shot('vscode-completion');
      await page.keyboard.press('Escape');
    });
    await step('clicking "Run Tuning" streams points into the loss-curve panel', async () => {
      await page.mouse.move(5, 5);
      await page.keyboard.press('Escape');
      const lensLink = page.locator('.codelens-decoration a:has-text("Run Tuning")').first();
      await lensLink.scrollIntoViewIfNeeded();
      await lensLink.click();
      const frame = await panelFrame(page, 'RTune: Loss Curves');
      await frame.waitForFunction(() => /(\d+) points stored/.test(document.getElementById('status')?.textContent ?? '') && Number(/(\d[\d,]*) points stored/.exec(document.getElementById('status').textContent)[1].replace(/,/g, '')) >= 20, null, { timeout: 180_000 });
      await frame.waitForFunction(() => document.querySelector('.lc-run-status')?.textContent === 'done', null, { timeout: 180_000 });
      await page.waitForTimeout(500);
      await shot('vscode-loss-curves');
    });
    await step('the heatmap panel draws the extraction diagnostics', async () => {
      await page.keyboard.press('F1');
      await page.keyboard.type('RTune: Show Projection Heatmap');
      await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("Show Projection Heatmap")', { timeout: 20_000 });
      await page.keyboard.press('Enter');
      const frame = await panelFrame(page, 'RTune: Projection Heatmap');
      await frame.waitForFunction(() => {
        const c = document.getElementById('heatmap');
        if (!c || c.width === 0 || c.height === 0) return false;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let inked = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) inked++;
        return inked > 500;
      }, null, { timeout: 60_000 });
      await page.waitForTimeout(300);
      await shot('vscode-heatmap');
    });
    await step('after a window reload the panels come back with their data (serializer + runs read from disk)', async () => {
      await page.reload();
      await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
      await page.click('.tab:has-text("RTune: Loss Curves")', { timeout: 60_000 });
      const frame = await panelFrame(page, 'RTune: Loss Curves');
      await frame.waitForFunction(() => {
        const m = /(\d[\d,]*) points stored/.exec(document.getElementById('status')?.textContent ?? '');
        return m !== null && Number(m[1].replace(/,/g, '')) >= 20;
      }, null, { timeout: 60_000 });
      await shot('vscode-after-reload');
    });
    await step('"Run Block Search" from the palette fills the leaderboard as trials finish', async () => {
      await page.keyboard.press('F1');
      await page.keyboard.type('RTune: Run Block Search');
      await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("Run Block Search")', { timeout: 20_000 });
      await page.keyboard.press('Enter');
      const frame = await panelFrame(page, 'RTune: Block Search');
      // The demo's halving search over token {up, down} x projection {v, o}: 9 candidates in rung 0.
      await frame.waitForFunction(() => document.querySelectorAll('tbody tr[data-trial]').length >= 9, null, { timeout: 240_000 });
      await frame.waitForFunction(() => /done/.test(document.getElementById('summary')?.textContent ?? '') || document.querySelectorAll('tbody tr[data-trial]').length >= 9, null, { timeout: 10_000 });
      await page.waitForTimeout(500);
      await shot('vscode-leaderboard');
    });
  } catch {
    // recorded in failures
  }
  await page.close();
}

await browser.close();
cs.kill();
// Keep VS Code's logs (the RTune output channel is a LogOutputChannel: logs/<session>/.../rtune.rtune/RTune.log).
fs.cpSync(path.join(userData, 'logs'), path.join(outDir, 'logs'), { recursive: true });
fs.rmSync(T, { recursive: true, force: true, maxRetries: 3 });
log(failures.length === 0 ? 'e2e passed' : `e2e FAILED:\n${failures.join('\n')}`);
process.exit(failures.length === 0 ? 0 : 1);
