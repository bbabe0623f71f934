/**
 * The panel bundles (dist/webview/*.js) in headless Chromium, loaded through the real panel HTML with its CSP.
 * Needs /usr/bin/chromium and a build (`node scripts/build.mjs`); skips with a message without them, except in
 * CI, where it fails. Screenshots go to .test-output/webview/ (and to docs/screenshots/ with
 * RTUNE_UPDATE_SCREENSHOTS=1).
 */
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { heatmapKey, isPanelMessage, WEBVIEW_PROTOCOL_VERSION, type HeatmapData, type PanelMessage, type StepPoint } from '../../protocol/webview';
import { formatNumber } from '../../webview/common/format';
import { colorFor } from '../../webview/heatmap/color-scale';
import { createNonce, panelHtml } from '../../webview/html';
import { sortTrials } from '../../webview/leaderboard/columns';
import { parseCsv } from './csv-parse';
import { afterTuning, beforeTuning, cosineHeatmap, evalPoints, stepPoints, trials } from './fixtures';
import {
  browserSkipReason,
  launchBrowser,
  openPanel,
  REPO_ROOT,
  startPanelServer,
  VSCODE_DARK_THEME,
  VSCODE_LIGHT_THEME,
  type BrowserHandle,
  type PanelPage,
  type PanelServer,
} from './harness';

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

const DARK = { vars: VSCODE_DARK_THEME, bodyClass: 'vscode-dark' };
const DOCS_SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');

function publish(path: string, name: string): void {
  if (process.env['RTUNE_UPDATE_SCREENSHOTS'] !== '1') return;
  mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
  copyFileSync(path, join(DOCS_SCREENSHOTS, name));
}

/** Nothing went wrong that the test did not cause: no console errors, no CSP violations, no remote requests. */
async function assertClean(p: PanelPage, server: PanelServer): Promise<void> {
  assert.deepEqual(p.consoleErrors, []);
  assert.deepEqual(await p.violations(), []);
  assert.deepEqual(p.foreignRequests(server.origin), []);
  const posted = await p.posted<PanelMessage>();
  for (const m of posted) assert.ok(isPanelMessage(m), `panel posted an invalid message: ${JSON.stringify(m).slice(0, 200)}`);
  assert.deepEqual(posted.filter((m) => m.type === 'error'), []);
}

async function lastPosted<T extends PanelMessage['type']>(p: PanelPage, type: T): Promise<Extract<PanelMessage, { type: T }>> {
  const posted = await p.posted<PanelMessage>();
  const found = posted.filter((m) => m.type === type).pop();
  assert.ok(found, `no '${type}' message was posted`);
  return found as Extract<PanelMessage, { type: T }>;
}

describe('webview panels in headless Chromium', { skip }, () => {
  let server: PanelServer;
  let browser: BrowserHandle;

  before(async () => {
    server = await startPanelServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('loss curves: 10,000 streamed points are all stored, drawn decimated, hovered exactly and exported in full', async () => {
    const p = await openPanel(browser.browser, server, 'loss-curves', { theme: DARK });
    const ready = await lastPosted(p, 'ready');
    assert.equal(ready.panel, 'loss-curves');
    assert.equal(ready.protocolVersion, WEBVIEW_PROTOCOL_VERSION);

    const total = 10_000;
    const steps = stepPoints(total, { seed: 7 });
    await p.send({ type: 'snapshot', runs: [{ run: 'tune-honest', label: 'tune honest', status: 'running', points: [] }] });
    // 9,000 points in batches of 100, the way a fast job streams them...
    const batches = [];
    for (let i = 0; i < 9_000; i += 100) batches.push({ type: 'append', run: 'tune-honest', points: steps.slice(i, i + 100) });
    await p.send(...batches);
    // ...the last 1,000 through real window.postMessage (asynchronous delivery, like VS Code's).
    await p.page.evaluate(
      ({ points, version }) => {
        for (let i = 0; i < points.length; i += 50) window.postMessage({ type: 'append', protocolVersion: version, run: 'tune-honest', points: points.slice(i, i + 50) }, '*');
      },
      { points: steps.slice(9_000), version: WEBVIEW_PROTOCOL_VERSION },
    );
    await p.page.waitForFunction(() => (window as unknown as { __rtuneTest: { stepCount(r: string): number } }).__rtuneTest.stepCount('tune-honest') === 10_000);
    const evals = evalPoints(total, 250);
    await p.send({ type: 'append', run: 'tune-honest', points: evals });
    // A replayed overlap (snapshot + append race) replaces points instead of duplicating them.
    await p.send({ type: 'append', run: 'tune-honest', points: steps.slice(0, 100) });
    await p.send({ type: 'append', run: 'tune-lr-1e-4', points: stepPoints(2_500, { seed: 9, total, scale: 1.15 }) });
    await p.send({ type: 'runStatus', run: 'tune-lr-1e-4', status: 'cancelled' });
    await p.send({ type: 'progress', run: 'tune-honest', done: 10_000, total: 12_000, unit: 'steps' });
    await p.rendered();

    assert.equal(await p.hook('stepCount', 'tune-honest'), total);
    assert.equal(await p.hook('pointCount', 'tune-honest'), total + evals.length);
    assert.equal(await p.hook('pointCount'), total + evals.length + 2_500);
    const drawn = await p.hook<number[]>('drawnPoints');
    const modes = await p.hook<string[]>('modes');
    assert.deepEqual(modes, ['minmax', 'minmax', 'minmax', 'minmax', 'minmax']);
    for (const d of drawn) assert.ok(d > 500 && d < 6_000, `drawn ${d} points of a chart: decimated to the plot width, not empty`);
    assert.match((await p.page.textContent('#runs')) ?? '', /running10,000 steps · 41 evals · 83% of 12,000 steps.*cancelled2,500 steps/s);
    assert.deepEqual(await p.page.$$eval('#runs vscode-checkbox', (boxes) => boxes.map((b) => (b as HTMLElement & { label: string }).label)), ['tune honest', 'tune-lr-1e-4']);

    // The curve is on the canvas: count pixels of the first run's colour in the total-loss chart.
    const inked = await p.page.evaluate(() => {
      const c = document.querySelector('figure[data-metric="totalLoss"] canvas') as HTMLCanvasElement;
      const d = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs((d[i] as number) - 0x37) + Math.abs((d[i + 1] as number) - 0x94) + Math.abs((d[i + 2] as number) - 0xff) < 60) n++;
      return n;
    });
    assert.ok(inked > 300, `only ${inked} pixels of the run colour`);

    // Hover: the readout shows the stored (not decimated) values of the nearest step.
    const at = await p.hook<{ x: number; y: number }>('pagePoint', 'totalLoss', 2_500);
    await p.page.mouse.move(at.x, at.y);
    const row = (await p.page.textContent('#readout .lc-readout-row[data-run="tune-honest"]')) ?? '';
    const shown = Number(/step (\d+)/.exec(row)?.[1]);
    assert.ok(Math.abs(shown - 2_500) <= 30, `hovered step ${shown} (one pixel is ~23 steps)`);
    const point = steps[shown] as StepPoint;
    assert.ok(row.includes(`total ${formatNumber(point.totalLoss, 6)}`), row);
    assert.ok(row.includes(`token ${formatNumber(point.tokenLoss, 6)}`), row);
    assert.ok(row.includes(`grad norm ${formatNumber(point.gradNorm, 5)}`), row);

    // CSV: every stored point, not the decimated set, with values that round-trip exactly.
    await p.page.click('#export-csv');
    const csv = await lastPosted(p, 'exportCsv');
    const rows = parseCsv(csv.csv);
    assert.equal(rows.length, 1 + total + evals.length + 2_500);
    const honestSteps = rows.filter((r) => r[0] === 'tune-honest' && r[1] === 'step');
    assert.equal(honestSteps.length, total);
    assert.deepEqual(honestSteps.map((r) => Number(r[3])), steps.map((s) => s.step));
    for (const i of [0, 1, 4_999, 9_999]) {
      const s = steps[i] as StepPoint;
      assert.deepEqual((honestSteps[i] as string[]).slice(5).map(Number), [s.tokenLoss, s.projectionLoss, s.totalLoss, s.lr, s.gradNorm]);
    }
    assert.equal(rows.filter((r) => r[1] === 'eval').length, evals.length);

    // PNG: a real PNG of the charts.
    await p.page.click('#export-png');
    const png = await lastPosted(p, 'exportPng');
    const bytes = Buffer.from(png.dataUrl.slice('data:image/png;base64,'.length), 'base64');
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(bytes.length > 10_000);

    await p.page.mouse.move(at.x, at.y);
    publish(await p.screenshot('loss-curves'), 'loss-curves.png');
    await assertClean(p, server);
    await p.page.close();
  });

  test('loss curves: view settings survive hiding (reload) and the snapshot restores the data', async () => {
    const p = await openPanel(browser.browser, server, 'loss-curves', { theme: DARK });
    const snapshot = {
      type: 'snapshot',
      runs: [
        { run: 'a', label: 'run a', status: 'done', points: [...stepPoints(600, { seed: 1 }), ...evalPoints(600, 100)] },
        { run: 'b', label: 'run b', status: 'running', points: stepPoints(400, { seed: 2, total: 600, scale: 1.2 }) },
      ],
    };
    await p.send(snapshot);
    await p.rendered();
    assert.equal(await p.hook('pointCount'), 1_007);
    await p.page.click('#log-scale');
    await p.page.click('vscode-checkbox[data-run="b"]');
    await p.send({ type: 'runStatus', run: 'b', status: 'failed', message: 'NaN loss at step 400' });
    await p.rendered();
    assert.deepEqual(await p.hook('viewState'), { logScale: true, hiddenRuns: ['b'], zoom: null });
    assert.equal((await p.hook<string[]>('modes')).length, 5);

    // VS Code destroys a hidden webview's document; showing it again loads the page anew.
    await p.load();
    assert.equal(await p.hook('pointCount'), 0, 'no data is kept in webview state');
    const saved = await p.page.evaluate(() => sessionStorage.getItem('rtune.test.webviewState') ?? '');
    assert.ok(saved.length < 200 && !saved.includes('points'), `state holds only view settings: ${saved}`);
    assert.deepEqual(await p.hook('viewState'), { logScale: true, hiddenRuns: ['b'], zoom: null });
    assert.equal(await p.page.$eval('#log-scale', (e) => (e as HTMLElement & { checked: boolean }).checked), true);

    // The extension answers `ready` with a snapshot.
    const readies = (await p.posted<PanelMessage>()).filter((m) => m.type === 'ready');
    assert.equal(readies.length, 1);
    await p.send({ ...snapshot, runs: [snapshot.runs[0], { ...snapshot.runs[1], status: 'failed' }] });
    await p.rendered();
    assert.equal(await p.hook('pointCount'), 1_007);
    assert.equal(await p.page.$eval('vscode-checkbox[data-run="b"]', (e) => (e as HTMLElement & { checked: boolean }).checked), false);
    assert.equal(await p.page.$eval('vscode-checkbox[data-run="a"]', (e) => (e as HTMLElement & { checked: boolean }).checked), true);
    await p.screenshot('loss-curves-log-scale');
    await assertClean(p, server);
    await p.page.close();
  });

  test('loss curves: invalid messages are reported to the extension and ignored; the panel keeps working', async () => {
    const p = await openPanel(browser.browser, server, 'loss-curves');
    await p.send({ type: 'append', run: 'r', points: [{ kind: 'step', step: 'three' }] });
    await p.send({ type: 'append', protocolVersion: 99, run: 'r', points: [] });
    await p.page.evaluate(() => window.dispatchEvent(new MessageEvent('message', { data: 'not an object' })));
    await p.send({ type: 'append', run: 'r', points: stepPoints(10) });
    await p.rendered();
    assert.equal(await p.hook('pointCount'), 10);
    const errors = (await p.posted<PanelMessage>()).filter((m): m is Extract<PanelMessage, { type: 'error' }> => m.type === 'error');
    assert.equal(errors.length, 3);
    assert.match(errors[0]?.message ?? '', /message.points\[0\].step: expected a finite number/);
    assert.match(errors[1]?.message ?? '', /protocolVersion: expected 1, got 99/);
    assert.match(errors[2]?.message ?? '', /message: expected an object/);
    for (const e of errors) assert.equal(e.panel, 'loss-curves');
    await p.page.close();
  });

  test('theme: panels follow VS Code theme variables and fall back to the browser scheme without them', async () => {
    const p = await openPanel(browser.browser, server, 'loss-curves', { theme: DARK });
    await p.send({ type: 'append', run: 'r', points: stepPoints(50) });
    await p.rendered();
    assert.equal((await p.hook<{ background: string }>('theme')).background, '#1f1f1f');
    assert.equal(await p.page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(31, 31, 31)');
    await p.page.evaluate((vars) => {
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
      document.body.classList.replace('vscode-dark', 'vscode-light');
    }, VSCODE_LIGHT_THEME);
    await p.page.waitForFunction(() => (window as unknown as { __rtuneTest: { theme(): { background: string } } }).__rtuneTest.theme().background === '#ffffff');
    await p.rendered();
    const theme = await p.hook<{ foreground: string; kind: string; palette: string[] }>('theme');
    assert.equal(theme.foreground, '#3b3b3b');
    assert.equal(theme.kind, 'light');
    assert.equal(theme.palette[0], '#1a85ff');
    assert.equal(await p.page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(255, 255, 255)');
    await p.page.close();

    // A plain browser without VS Code's variables: the prefers-color-scheme fallbacks.
    const plain = await openPanel(browser.browser, server, 'loss-curves');
    await plain.page.emulateMedia({ colorScheme: 'dark' });
    await plain.page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(31, 31, 31)');
    await plain.page.emulateMedia({ colorScheme: 'light' });
    await plain.page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(255, 255, 255)');
    await plain.page.close();
  });

  test('heatmap: every cell centre has the colour of its value; dropdown switches before/after; hover shows the exact value', async () => {
    const p = await openPanel(browser.browser, server, 'heatmap', { theme: DARK, viewport: { width: 1100, height: 860 } });
    const nLayers = 48;
    const nPositions = 64;
    const before = cosineHeatmap('cosine before tuning', 'tune-honest', nLayers, nPositions, (i, j) =>
      i === 0 && j === 0 ? -1 : i === 0 && j === 1 ? 1 : i === 0 && j === 2 ? 0 : i === 1 && j === 1 ? null : beforeTuning(i, j, nLayers, nPositions),
    );
    const afterMap = cosineHeatmap('cosine after tuning', 'tune-honest', nLayers, nPositions, (i, j) => afterTuning(i, j, nLayers, nPositions));
    await p.send({ type: 'snapshot', runs: [], heatmaps: [before] });
    await p.send({ type: 'heatmap', heatmap: afterMap });
    await p.rendered();
    assert.equal(await p.hook('selectedKey'), heatmapKey(before), 'the first heatmap is shown until the user picks another');

    const checkPixels = async (h: HeatmapData): Promise<void> => {
      const pixels = await p.page.evaluate(
        ({ nRows, nCols }) => {
          const hooks = (window as unknown as { __rtuneTest: { cellCenterDevice(r: number, c: number): { x: number; y: number } } }).__rtuneTest;
          const canvas = document.getElementById('heatmap') as HTMLCanvasElement;
          const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
          const out: number[][] = [];
          for (let i = 0; i < nRows; i++) {
            for (let j = 0; j < nCols; j++) {
              const c = hooks.cellCenterDevice(i, j);
              const k = 4 * (c.y * canvas.width + c.x);
              out.push([data[k] as number, data[k + 1] as number, data[k + 2] as number, data[k + 3] as number]);
            }
          }
          return out;
        },
        { nRows: h.rows.length, nCols: h.columns.length },
      );
      assert.equal(pixels.length, nLayers * nPositions);
      let k = 0;
      for (let i = 0; i < h.rows.length; i++) {
        for (let j = 0; j < h.columns.length; j++, k++) {
          const expected = [...colorFor(h.values[i]?.[j], h.min, h.max), 255];
          assert.deepEqual(pixels[k], expected, `cell (${i}, ${j}) value ${h.values[i]?.[j]}`);
        }
      }
    };
    await checkPixels(before);

    // Hover readout with the exact value.
    const centre = await p.hook<{ x: number; y: number }>('cellCenterPage', 17, 40);
    await p.page.mouse.move(centre.x, centre.y);
    assert.equal(await p.page.getAttribute('#readout .hm-value', 'data-value'), String(before.values[17]?.[40]));
    assert.ok(((await p.page.textContent('#readout')) ?? '').includes(`layer 17·position ${JSON.stringify(before.columns[40])} (#40)`));

    // Pick "after" in the dropdown, as a user would.
    await p.page.click('#heatmap-select');
    await p.page.click('#heatmap-select [role="option"]:has-text("cosine after tuning")');
    await p.rendered();
    assert.equal(await p.hook('selectedKey'), heatmapKey(afterMap));
    await checkPixels(afterMap);
    assert.deepEqual(await p.page.evaluate(() => JSON.parse(sessionStorage.getItem('rtune.test.webviewState') ?? 'null')), { selected: heatmapKey(afterMap) });

    // The legend runs from max (red, top) to min (blue, bottom).
    const [top, bottom] = await p.page.evaluate(() => {
      const c = document.getElementById('legend') as HTMLCanvasElement;
      const ctx = c.getContext('2d') as CanvasRenderingContext2D;
      const h = (window as unknown as { __rtuneTest: { layout(): { top: number; nRows: number; cellH: number } } }).__rtuneTest.layout();
      return [Array.from(ctx.getImageData(10, h.top + 1, 1, 1).data), Array.from(ctx.getImageData(10, h.top + h.nRows * h.cellH - 2, 1, 1).data)];
    });
    assert.ok((top[0] as number) > 90 && (top[2] as number) < 60, `legend top ${top}`);
    assert.ok((bottom[2] as number) > 90 && (bottom[0] as number) < 60, `legend bottom ${bottom}`);

    // A newer table with the same run and title replaces the old one (layers x steps grows during training).
    const updated = cosineHeatmap('cosine after tuning', 'tune-honest', nLayers, nPositions, (i, j) => -afterTuning(i, j, nLayers, nPositions));
    await p.send({ type: 'heatmap', heatmap: updated });
    await p.rendered();
    assert.equal((await p.hook<string[]>('heatmapKeys')).length, 2);
    await checkPixels(updated);
    await p.send({ type: 'heatmap', heatmap: afterMap });
    await p.rendered();

    await p.page.click('#export-csv');
    const csv = parseCsv((await lastPosted(p, 'exportCsv')).csv);
    assert.equal(csv.length, 1 + nLayers);
    assert.equal(Number(csv[5]?.[9]), afterMap.values[4]?.[8]);

    await p.page.mouse.move(centre.x, centre.y);
    publish(await p.screenshot('heatmap'), 'heatmap.png');
    await assertClean(p, server);
    await p.page.close();
  });

  test('leaderboard: rows arrive, sort both ways by any column, update in place, keep model text inert', async () => {
    const p = await openPanel(browser.browser, server, 'leaderboard', { theme: DARK, viewport: { width: 1200, height: 700 } });
    const all = trials(16, { seed: 11 });
    (all[5] as { finalProjectionLoss: number | null }).finalProjectionLoss = null; // a diverged trial
    (all[7] as { sample: string }).sample = '<img src=x onerror="window.__pwned=1">';
    await p.send({ type: 'snapshot', runs: [], trials: all.slice(0, 6) });
    await p.send({ type: 'trials', trials: all.slice(6, 12) });
    await p.send({ type: 'trials', trials: all.slice(12) });
    await p.send({ type: 'progress', run: all[0]?.run ?? '', done: 16, total: 35, unit: 'trials', message: 'rung 0' });
    await p.rendered();
    assert.match((await p.page.textContent('#summary')) ?? '', /^16 trials · lowest final projection loss .* \(trial \d+\) · 16 of 35 trials \(rung 0\)$/);
    assert.equal(await p.page.locator('#leaderboard tbody tr').count(), 16);
    const order = async (): Promise<number[]> => (await p.hook<Array<[string, number]>>('order')).map((r) => r[1]);
    assert.deepEqual(await order(), all.map((t) => t.trial), 'default: trial order');

    await p.page.click('button.lb-sort[data-key="finalProjectionLoss"]');
    await p.rendered();
    assert.deepEqual(await order(), sortTrials(all, 'finalProjectionLoss', 'asc').map((t) => t.trial));
    const values = await p.page.$$eval('#leaderboard tbody td[data-key="finalProjectionLoss"]', (tds) => tds.map((td) => td.getAttribute('data-value')));
    const numbers = values.filter((v) => v !== '').map(Number);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
    assert.equal(values[values.length - 1], '', 'the diverged trial sorts last');
    assert.equal(await p.page.getAttribute('th[data-key="finalProjectionLoss"]', 'aria-sort'), 'ascending');

    await p.page.click('button.lb-sort[data-key="finalProjectionLoss"]');
    await p.rendered();
    assert.deepEqual(await order(), sortTrials(all, 'finalProjectionLoss', 'desc').map((t) => t.trial));
    assert.equal(await p.page.getAttribute('th[data-key="finalProjectionLoss"]', 'aria-sort'), 'descending');

    await p.page.click('button.lb-sort[data-key="targetRate"]');
    await p.rendered();
    assert.deepEqual(await order(), sortTrials(all, 'targetRate', 'asc').map((t) => t.trial));

    // A re-sent trial replaces its row.
    await p.send({ type: 'trials', trials: [{ ...all[3], targetRate: 1, sample: 'updated sample' } as (typeof all)[number]] });
    await p.rendered();
    assert.equal(await p.page.locator('#leaderboard tbody tr').count(), 16);
    assert.equal(await p.page.textContent('tr[data-trial="3"] td[data-key="sample"]'), 'updated sample');
    assert.equal((await order())[15], 3, 'honest rate 1 now sorts last ascending');

    // Model output is text, never markup.
    assert.equal(await p.page.locator('#leaderboard img').count(), 0);
    assert.equal(await p.page.textContent('tr[data-trial="7"] td[data-key="sample"]'), '<img src=x onerror="window.__pwned=1">');
    assert.equal(await p.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);

    // Sorting is a view setting: it survives a reload.
    await p.load();
    await p.send({ type: 'snapshot', runs: [], trials: all });
    await p.rendered();
    assert.equal(await p.page.getAttribute('th[data-key="targetRate"]', 'aria-sort'), 'ascending');
    await p.page.click('button.lb-sort[data-key="finalProjectionLoss"]');
    await p.rendered();

    await p.page.click('#export-csv');
    const csv = parseCsv((await lastPosted(p, 'exportCsv')).csv);
    assert.equal(csv.length, 17);
    publish(await p.screenshot('leaderboard'), 'leaderboard.png');
    await assertClean(p, server);
    await p.page.close();
  });

  test('CSP: an inline script without the nonce and a remote image are blocked; the nonced bundle runs', async () => {
    // 1. Injected into a running panel.
    const p = await openPanel(browser.browser, server, 'leaderboard');
    await p.page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true;';
      document.body.append(s);
    });
    await p.page.waitForFunction(() => (window as unknown as { __violations: unknown[] }).__violations.length > 0);
    assert.equal(await p.page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan), undefined);
    const v1 = await p.violations();
    assert.equal(v1.length, 1);
    assert.equal(v1[0]?.directive, 'script-src-elem');
    assert.equal(v1[0]?.blocked, 'inline');
    await p.page.close();

    // 2. Present in the document itself, next to the nonced bundle.
    const nonce = createNonce();
    const html = panelHtml({
      panel: 'heatmap',
      scriptUri: `${server.origin}/dist/webview/heatmap.js`,
      styleUri: `${server.origin}/dist/webview/heatmap.css`,
      cspSource: server.origin,
      nonce,
    }).replace(
      '</body>',
      '<script>window.__inlineRan = true;</script><img id="remote" src="https://example.invalid/pixel.png"><div id="styled" style="color: rgb(1, 2, 3)">x</div></body>',
    );
    const q = await openPanel(browser.browser, server, 'heatmap');
    await q.page.route(`${server.origin}/injected.html`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
    await q.page.goto(`${server.origin}/injected.html`);
    await q.page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'ready'));
    await q.page.waitForFunction(() => (window as unknown as { __violations: unknown[] }).__violations.length >= 3);
    assert.equal(await q.page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan), undefined);
    const v2 = await q.violations();
    assert.ok(v2.some((v) => v.directive === 'script-src-elem' && v.blocked === 'inline'), JSON.stringify(v2));
    assert.ok(v2.some((v) => v.directive === 'img-src' && v.blocked === 'https://example.invalid/pixel.png'), JSON.stringify(v2));
    assert.ok(v2.some((v) => v.directive === 'style-src-attr'), JSON.stringify(v2));
    assert.notEqual(await q.page.$eval('#styled', (e) => getComputedStyle(e).color), 'rgb(1, 2, 3)');
    const remote = q.requests.filter((u) => u.includes('example.invalid'));
    const blocked = q.failedRequests.filter((r) => r.url.includes('example.invalid') && r.error === 'csp');
    assert.equal(blocked.length, remote.length, `every remote request was blocked by the CSP: ${JSON.stringify(q.failedRequests)}`);
    await q.page.close();
  });
});
