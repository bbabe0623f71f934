/**
 * Webview benchmark (a script, not a test): how long the loss-curve panel takes to take in and draw one batch of
 * points when many are already drawn, in headless Chromium (target: under 16 ms, one frame at 60 Hz), plus
 * heatmap and leaderboard redraws. Prints a table.
 *
 *   node scripts/build.mjs && npx tsc -p tsconfig.test.json && node out/scripts/bench-webview.js [--quick]
 *
 * "handle" is the synchronous message handling (validation + storing the points); "draw" is the one render of the
 * next animation frame (decimation + uPlot for five charts). Their sum is the main-thread time a batch costs.
 * "frame p95" streams one batch per animation frame for 2 s and reports the 95th percentile interval between
 * frames (16.7 ms means no frame was dropped).
 */

import { launchBrowser, openPanel, startPanelServer, VSCODE_DARK_THEME, type PanelPage } from '../test/webview/harness';
import { afterTuning, cosineHeatmap, stepPoints, trials } from '../test/webview/fixtures';
import { WEBVIEW_PROTOCOL_VERSION, type StepPoint } from '../protocol/webview';

interface Row {
  case: string;
  stored: number;
  batch: number;
  handle: Stats;
  draw: Stats;
  total: Stats;
  framesP95?: number;
}

interface Stats {
  median: number;
  p95: number;
  max: number;
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { median: at(0.5), p95: at(0.95), max: s[s.length - 1] as number };
}

type Hooks = { whenRendered(): Promise<void>; lastRenderMs(): number };

/** Appends `batches` one at a time, each after the previous one is drawn; returns per-batch timings. */
async function measureAppends(p: PanelPage, run: string, batches: StepPoint[][]): Promise<{ handle: number[]; draw: number[] }> {
  return p.page.evaluate(
    async ({ run, batches, version }) => {
      const hooks = (window as unknown as { __rtuneTest: Hooks }).__rtuneTest;
      const handle: number[] = [];
      const draw: number[] = [];
      for (const points of batches) {
        const t0 = performance.now();
        window.dispatchEvent(new MessageEvent('message', { data: { type: 'append', protocolVersion: version, run, points } }));
        handle.push(performance.now() - t0);
        await hooks.whenRendered();
        draw.push(hooks.lastRenderMs());
      }
      return { handle, draw };
    },
    { run, batches, version: WEBVIEW_PROTOCOL_VERSION },
  );
}

/** Streams one batch per animation frame for `frames` frames; returns the intervals between frames. */
async function measureStreaming(p: PanelPage, run: string, batches: StepPoint[][]): Promise<number[]> {
  return p.page.evaluate(
    ({ run, batches, version }) =>
      new Promise<number[]>((resolve) => {
        const intervals: number[] = [];
        let last = performance.now();
        let i = 0;
        const tick = (now: number): void => {
          if (i > 0) intervals.push(now - last);
          last = now;
          const points = batches[i++];
          if (!points) return resolve(intervals);
          window.dispatchEvent(new MessageEvent('message', { data: { type: 'append', protocolVersion: version, run, points } }));
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    { run, batches, version: WEBVIEW_PROTOCOL_VERSION },
  );
}

function batchesAfter(stored: number, batch: number, count: number, seed: number): StepPoint[][] {
  const points = stepPoints(batch * count, { seed, from: stored, total: stored + batch * count });
  const out: StepPoint[][] = [];
  for (let i = 0; i < count; i++) out.push(points.slice(i * batch, (i + 1) * batch));
  return out;
}

async function lossCase(p: PanelPage, name: string, runs: number, storedPerRun: number, batch: number, count: number, streaming: boolean): Promise<Row> {
  await p.send({
    type: 'snapshot',
    runs: Array.from({ length: runs }, (_, r) => ({
      run: `run-${r}`,
      status: 'running',
      points: stepPoints(storedPerRun, { seed: 10 + r, total: storedPerRun * 1.2 }),
    })),
  });
  await p.rendered();
  // Warm up the JIT and uPlot's paths.
  await measureAppends(p, 'run-0', batchesAfter(storedPerRun, batch, 5, 99));
  const { handle, draw } = await measureAppends(p, 'run-0', batchesAfter(storedPerRun + 5 * batch, batch, count, 100));
  const total = handle.map((h, i) => h + (draw[i] as number));
  const row: Row = { case: name, stored: runs * storedPerRun, batch, handle: stats(handle), draw: stats(draw), total: stats(total) };
  if (streaming) {
    const intervals = await measureStreaming(p, 'run-0', batchesAfter(storedPerRun + (5 + count) * batch, batch, 120, 101));
    row.framesP95 = stats(intervals).p95;
  }
  return row;
}

async function timeRender(p: PanelPage, message: Record<string, unknown>, repeats: number): Promise<Stats> {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    await p.send(message);
    await p.rendered();
    times.push(await p.hook<number>('lastRenderMs'));
  }
  return stats(times);
}

const ms = (x: number): string => x.toFixed(2).padStart(7);

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const count = quick ? 20 : 60;
  const server = await startPanelServer();
  const browser = await launchBrowser();
  const theme = { vars: VSCODE_DARK_THEME, bodyClass: 'vscode-dark' };
  try {
    const version = await browser.browser.version();
    const rows: Row[] = [];
    const cases: Array<[string, number, number, number, boolean]> = [
      ['1 run', 1, 10_000, 1, true],
      ['1 run', 1, 10_000, 100, true],
      ['3 runs', 3, 10_000, 100, true],
      ['1 run', 1, 100_000, 100, !quick],
      ['3 runs', 3, 100_000, 100, false],
    ];
    for (const [name, runs, stored, batch, streaming] of cases) {
      const p = await openPanel(browser.browser, server, 'loss-curves', { theme, viewport: { width: 1280, height: 900 } });
      rows.push(await lossCase(p, name, runs, stored, batch, count, streaming));
      await p.page.close();
    }

    console.log(`\nLoss-curve panel: time to take in and draw one appended batch (headless ${version}, 1280x900, 5 charts), ms`);
    console.log('| case | points drawn before | batch | handle median | draw median | total median | total p95 | total max | frame p95 while streaming |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.case} | ${r.stored.toLocaleString('en-US')} | ${r.batch} | ${ms(r.handle.median)} | ${ms(r.draw.median)} | ${ms(r.total.median)} | ${ms(r.total.p95)} | ${ms(r.total.max)} | ${r.framesP95 === undefined ? '—' : ms(r.framesP95)} |`,
      );
    }

    const h = await openPanel(browser.browser, server, 'heatmap', { theme, viewport: { width: 1280, height: 900 } });
    const small = cosineHeatmap('cosine after tuning', 'bench', 48, 64, (i, j) => afterTuning(i, j, 48, 64));
    const wide = cosineHeatmap('cosine by step', 'bench', 48, 2_000, (i, j) => afterTuning(i, j % 64, 48, 64));
    const heat48 = await timeRender(h, { type: 'heatmap', heatmap: small }, quick ? 5 : 20);
    const heatWide = await timeRender(h, { type: 'snapshot', runs: [], heatmaps: [wide] }, quick ? 3 : 10);
    await h.page.close();

    const l = await openPanel(browser.browser, server, 'leaderboard', { theme, viewport: { width: 1280, height: 900 } });
    await l.send({ type: 'snapshot', runs: [], trials: trials(500) });
    await l.rendered();
    const board = await timeRender(l, { type: 'trials', trials: trials(1, { from: 500 }) }, quick ? 5 : 20);
    await l.page.close();

    console.log('\nOther panels: one redraw, ms');
    console.log('| panel | case | median | p95 | max |');
    console.log('|---|---|---:|---:|---:|');
    console.log(`| heatmap | 48 layers x 64 positions, redraw after an update | ${ms(heat48.median)} | ${ms(heat48.p95)} | ${ms(heat48.max)} |`);
    console.log(`| heatmap | 48 layers x 2,000 steps, snapshot | ${ms(heatWide.median)} | ${ms(heatWide.p95)} | ${ms(heatWide.max)} |`);
    console.log(`| leaderboard | 1 trial arriving with 500 shown (re-sort + rebuild) | ${ms(board.median)} | ${ms(board.p95)} | ${ms(board.max)} |`);
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
