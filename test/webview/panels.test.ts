/**
 * The panel bundles (dist/webview/*.js) in headless Chromium, loaded through the real panel HTML with its CSP:
 * theme, heatmap, leaderboard and CSP here; the loss-curve panel in loss-curves-panel.test.ts.
 * Needs /usr/bin/chromium and a build (`node scripts/build.mjs`); skips with a message without them, except in
 * CI, where it fails. Screenshots go to .test-output/webview/ (and to docs/screenshots/ with
 * RTUNE_UPDATE_SCREENSHOTS=1).
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { heatmapKey, type HeatmapData } from '../../protocol/webview';
import { colorFor } from '../../webview/heatmap/color-scale';
import { createNonce, panelHtml } from '../../webview/html';
import { sortTrials } from '../../webview/leaderboard/columns';
import { parseCsv } from './csv-parse';
import { afterTuning, beforeTuning, cosineHeatmap, stepPoints, trials } from './fixtures';
import { openPanel, VSCODE_LIGHT_THEME } from './harness';
import { assertClean, browserTestsSkip, usePanelBrowser, DARK, lastPosted, publish } from './panel-checks';

const skip = browserTestsSkip();

describe('webview panels in headless Chromium', { skip }, () => {
  const env = usePanelBrowser();

  test('theme: panels follow VS Code theme variables and fall back to the browser scheme without them', async () => {
    const p = await openPanel(env.browser, env.server, 'loss-curves', { theme: DARK });
    await p.send({ type: 'append', run: 'r', points: stepPoints(50) });
    await p.rendered();
    assert.equal((await p.hook<{ background: string }>('theme')).background, '#1f1f1f');
    assert.equal(await p.page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(31, 31, 31)');
    await p.page.evaluate((vars) => {
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
      document.body.classList.replace('vscode-dark', 'vscode-light');
    }, VSCODE_LIGHT_THEME);
    await p.page.waitForFunction(
      () => (window as unknown as { __rtuneTest: { theme(): { background: string } } }).__rtuneTest.theme().background === '#ffffff',
    );
    await p.rendered();
    const theme = await p.hook<{ foreground: string; kind: string; palette: string[] }>('theme');
    assert.equal(theme.foreground, '#3b3b3b');
    assert.equal(theme.kind, 'light');
    assert.equal(theme.palette[0], '#1a85ff');
    assert.equal(await p.page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(255, 255, 255)');
    await p.page.close();

    // A plain browser without VS Code's variables: the prefers-color-scheme fallbacks.
    const plain = await openPanel(env.browser, env.server, 'loss-curves');
    await plain.page.emulateMedia({ colorScheme: 'dark' });
    await plain.page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(31, 31, 31)');
    await plain.page.emulateMedia({ colorScheme: 'light' });
    await plain.page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(255, 255, 255)');
    await plain.page.close();
  });

  test('heatmap: every cell centre has the colour of its value; dropdown switches before/after; hover shows the exact value', async () => {
    const p = await openPanel(env.browser, env.server, 'heatmap', { theme: DARK, viewport: { width: 1100, height: 860 } });
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
    await assertClean(p, env.server);
    await p.page.close();
  });

  test('leaderboard: rows arrive, sort both ways by any column, update in place, keep model text inert', async () => {
    const p = await openPanel(env.browser, env.server, 'leaderboard', { theme: DARK, viewport: { width: 1200, height: 700 } });
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
    assert.deepEqual(
      await order(),
      all.map((t) => t.trial),
      'default: trial order',
    );

    await p.page.click('button.lb-sort[data-key="finalProjectionLoss"]');
    await p.rendered();
    assert.deepEqual(
      await order(),
      sortTrials(all, 'finalProjectionLoss', 'asc').map((t) => t.trial),
    );
    const values = await p.page.$$eval('#leaderboard tbody td[data-key="finalProjectionLoss"]', (tds) => tds.map((td) => td.getAttribute('data-value')));
    const numbers = values.filter((v) => v !== '').map(Number);
    assert.deepEqual(
      numbers,
      [...numbers].sort((a, b) => a - b),
    );
    assert.equal(values[values.length - 1], '', 'the diverged trial sorts last');
    assert.equal(await p.page.getAttribute('th[data-key="finalProjectionLoss"]', 'aria-sort'), 'ascending');

    await p.page.click('button.lb-sort[data-key="finalProjectionLoss"]');
    await p.rendered();
    assert.deepEqual(
      await order(),
      sortTrials(all, 'finalProjectionLoss', 'desc').map((t) => t.trial),
    );
    assert.equal(await p.page.getAttribute('th[data-key="finalProjectionLoss"]', 'aria-sort'), 'descending');

    await p.page.click('button.lb-sort[data-key="targetRate"]');
    await p.rendered();
    assert.deepEqual(
      await order(),
      sortTrials(all, 'targetRate', 'asc').map((t) => t.trial),
    );

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
    await assertClean(p, env.server);
    await p.page.close();
  });

  test('CSP: an inline script without the nonce and a remote image are blocked; the nonced bundle runs', async () => {
    // 1. Injected into a running panel.
    const p = await openPanel(env.browser, env.server, 'leaderboard');
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
      scriptUri: `${env.server.origin}/dist/webview/heatmap.js`,
      styleUri: `${env.server.origin}/dist/webview/heatmap.css`,
      cspSource: env.server.origin,
      nonce,
    }).replace(
      '</body>',
      '<script>window.__inlineRan = true;</script><img id="remote" src="https://example.invalid/pixel.png"><div id="styled" style="color: rgb(1, 2, 3)">x</div></body>',
    );
    const q = await openPanel(env.browser, env.server, 'heatmap');
    await q.page.route(`${env.server.origin}/injected.html`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
    await q.page.goto(`${env.server.origin}/injected.html`);
    await q.page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'ready'));
    await q.page.waitForFunction(() => (window as unknown as { __violations: unknown[] }).__violations.length >= 3);
    assert.equal(await q.page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan), undefined);
    const v2 = await q.violations();
    assert.ok(
      v2.some((v) => v.directive === 'script-src-elem' && v.blocked === 'inline'),
      JSON.stringify(v2),
    );
    assert.ok(
      v2.some((v) => v.directive === 'img-src' && v.blocked === 'https://example.invalid/pixel.png'),
      JSON.stringify(v2),
    );
    assert.ok(
      v2.some((v) => v.directive === 'style-src-attr'),
      JSON.stringify(v2),
    );
    assert.notEqual(await q.page.$eval('#styled', (e) => getComputedStyle(e).color), 'rgb(1, 2, 3)');
    const remote = q.requests.filter((u) => u.includes('example.invalid'));
    const blocked = q.failedRequests.filter((r) => r.url.includes('example.invalid') && r.error === 'csp');
    assert.equal(blocked.length, remote.length, `every remote request was blocked by the CSP: ${JSON.stringify(q.failedRequests)}`);
    await q.page.close();
  });
});
