/**
 * The loss-curve panel bundle (dist/webview/loss-curves.js) in headless Chromium, loaded through the real panel
 * HTML with its CSP: streaming, decimated drawing, hover readout, CSV and PNG export, view state across reloads,
 * invalid messages. Needs /usr/bin/chromium and a build like panels.test.ts (the other panels, theme, CSP).
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { WEBVIEW_PROTOCOL_VERSION, type PanelMessage, type StepPoint } from '../../protocol/webview';
import { formatNumber } from '../../webview/common/format';
import { parseCsv } from './csv-parse';
import { evalPoints, stepPoints } from './fixtures';
import { openPanel } from './harness';
import { assertClean, browserTestsSkip, usePanelBrowser, DARK, lastPosted, publish } from './panel-checks';

const skip = browserTestsSkip();

describe('loss-curve panel in headless Chromium', { skip }, () => {
  const env = usePanelBrowser();

  test('loss curves: 10,000 streamed points are all stored, drawn decimated, hovered exactly and exported in full', async () => {
    const p = await openPanel(env.browser, env.server, 'loss-curves', { theme: DARK });
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
        for (let i = 0; i < points.length; i += 50)
          window.postMessage({ type: 'append', protocolVersion: version, run: 'tune-honest', points: points.slice(i, i + 50) }, '*');
      },
      { points: steps.slice(9_000), version: WEBVIEW_PROTOCOL_VERSION },
    );
    await p.page.waitForFunction(
      () => (window as unknown as { __rtuneTest: { stepCount(r: string): number } }).__rtuneTest.stepCount('tune-honest') === 10_000,
    );
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
    assert.deepEqual(await p.page.$$eval('#runs vscode-checkbox', (boxes) => boxes.map((b) => (b as HTMLElement & { label: string }).label)), [
      'tune honest',
      'tune-lr-1e-4',
    ]);

    // The curve is on the canvas: count pixels of the first run's colour in the total-loss chart.
    const inked = await p.page.evaluate(() => {
      const c = document.querySelector('figure[data-metric="totalLoss"] canvas') as HTMLCanvasElement;
      const d = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4)
        if (Math.abs((d[i] as number) - 0x37) + Math.abs((d[i + 1] as number) - 0x94) + Math.abs((d[i + 2] as number) - 0xff) < 60) n++;
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
    assert.deepEqual(
      honestSteps.map((r) => Number(r[3])),
      steps.map((s) => s.step),
    );
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
    await assertClean(p, env.server);
    await p.page.close();
  });

  test('loss curves: view settings survive hiding (reload) and the snapshot restores the data', async () => {
    const p = await openPanel(env.browser, env.server, 'loss-curves', { theme: DARK });
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
    await assertClean(p, env.server);
    await p.page.close();
  });

  test('loss curves: invalid messages are reported to the extension and ignored; the panel keeps working', async () => {
    const p = await openPanel(env.browser, env.server, 'loss-curves');
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
});
