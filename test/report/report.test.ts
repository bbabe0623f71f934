/**
 * `rtune report` from real run folders (fixture.ts): the model collected from the folders, report.html and
 * report.md, every shown number checked against the folder's own files, sections without a finished run listed,
 * user text escaped, comparison.json rendered generically, the CLI command; and report.html in headless Chromium
 * from a file:// URL with every other request blocked: it renders, without console errors or CSP violations, its
 * numbers equal the run folders', and a screenshot is taken.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { main } from '../../cli/main';
import { reportForFile } from '../../report/for-file';
import { reportHtml } from '../../report/html';
import { reportMarkdown } from '../../report/markdown';
import { collectReport, readRun, type ReportModel } from '../../report/model';
import type { RunListConfig } from '../../common/run-list';
import { load } from '../job/run-experiment';
import { REPO_ROOT } from '../helpers';
import { browserSkipReason, launchBrowser, OUTPUT_DIR } from '../webview/harness';
import { checkCell, reportFixture, type Fixture } from './fixture';

/** Every `data-nums` cell of an HTML text: [run folder, cell text, numbers]. */
function numericCells(html: string): Array<{ dir: string; text: string; nums: Array<{ src: string; value: number; pct?: boolean }> }> {
  const out: Array<{ dir: string; text: string; nums: Array<{ src: string; value: number; pct?: boolean }> }> = [];
  const unesc = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  for (const sec of html.split('<section ').slice(1)) {
    const dir = /data-dir="([^"]*)"/.exec(sec)?.[1];
    for (const m of sec.matchAll(/<td class="num" data-nums="([^"]*)">([^<]*)<\/td>/g)) {
      if (dir === undefined) throw new Error('a numeric cell in a section without a run folder');
      out.push({ dir: unesc(dir), text: unesc(m[2] as string), nums: JSON.parse(unesc(m[1] as string)) as Array<{ src: string; value: number }> });
    }
  }
  return out;
}

let fx: Fixture;
let model: ReportModel;

describe('rtune report', { concurrency: false }, () => {
  before(async () => {
    fx = await reportFixture();
    const r = reportForFile(fx.file, fx.text, { builtinRoot: REPO_ROOT, out: path.join(fx.dir, 'report-out') });
    assert.ok(r.ok, r.ok ? '' : r.message);
    model = r.model;
  });
  after(() => {
    if (fx !== undefined) fs.rmSync(fx.dir, { recursive: true, force: true });
  });

  it('takes each section’s newest finished run, in file order, and lists the others with their state', () => {
    assert.deepEqual(
      model.sections.map((s) => `${s.kind} ${s.section}: ${s.run?.status ?? (s.newest ? `newest ${s.newest.status}` : 'never')}`),
      ['direction honesty: done', 'tune truthful: done', 'eval check: done', 'search blocks: done', 'export release: never', 'export again: newest failed'],
    );
    const tune = model.sections[1]?.run;
    assert.ok(tune);
    assert.equal(tune.steps.length, 4);
    assert.match(tune.inputsHash ?? '', /^[0-9a-f]{64}$/);
    assert.match(tune.configHash ?? '', /^[0-9a-f]{64}$/);
    // The run folders record the backend, machine and versions of the model session each section used.
    for (const s of model.sections.slice(0, 4)) {
      const b = s.run?.backends[0];
      assert.ok(b, `${s.kind} ${s.section} records its backend`);
      assert.equal(b.model, 'demo');
      assert.equal(b.backend.backend, 'wasm');
      assert.equal(b.versions?.['node'], process.version);
      assert.equal(b.versions?.['rtune'], (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
      assert.ok((b.machine?.cores ?? 0) > 0);
    }
  });

  it('report.html: self-contained, and every number it shows is the run folder’s', () => {
    const html = fs.readFileSync(path.join(fx.dir, 'report-out', 'report.html'), 'utf8');
    assert.doesNotMatch(html, /<script|<link|src="http|href="http|@import|url\(/i, 'no script, no external resource');
    const cells = numericCells(html);
    assert.ok(cells.length > 50, `${cells.length} numeric cells`);
    const problems = cells.flatMap((c) => checkCell(c.dir, c.text, c.nums));
    assert.deepEqual(problems, []);
    // What each kind shows.
    for (const want of [
      'Perplexity, base → tuned',
      'A/B answers of the evaluation prompts',
      'steered L1 +2',
      'Steering grid',
      'Projection: cosine with direction honesty',
      'Sample generations (greedy), base and tuned',
      'Sample generations under steering',
      'Loss curves (4 steps',
      'Cosine with the direction, before → after tuning',
      'cosine with the direction after tuning',
      'No run folder yet: this section has never run.',
      'No finished run: the newest of its 1 run folder is failed: the worker exited (code 1)',
      'backend (model demo)',
    ])
      assert.ok(html.includes(want.replace(/'/g, '&#39;')), want);
    assert.match(html, /Block-search leaderboard \(\d+ trials?, best first\)/);
    const sources = new Set(cells.flatMap((c) => c.nums.map((n) => n.src.replace(/\.\d+/g, '.N'))));
    for (const src of [
      'result.json#perplexity.base',
      'result.json#ab.tuned.honestCi.lo',
      'result.json#steering.cells.N.metrics.bias',
      'result.json#projection.tuned.mean',
      'result.json#cosine.after.N.N',
      'result.json#leaderboard.N.finalTokenLoss',
    ])
      assert.ok(sources.has(src), src);
  });

  it('report.md: the same tables, the figures as SVG files beside it', () => {
    const out = path.join(fx.dir, 'report-out');
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    const figures = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1] as string);
    assert.ok(figures.includes('truthful-loss.svg') && figures.includes('check-steering.svg'), figures.join(', '));
    for (const f of figures) assert.match(fs.readFileSync(path.join(out, f), 'utf8'), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const check = model.sections[2]?.run;
    const ppl = (check?.result?.['perplexity'] as { base: number }).base;
    assert.ok(md.includes(`| ${ppl.toFixed(3)} |`), 'perplexity base in the table');
    assert.match(md, /\| steered L1 \+2 \| /);
    assert.match(md, /> No run folder yet: this section has never run\./);
  });

  it('escapes user text in HTML and Markdown (statements and generations are user data)', () => {
    const run = readRun({ kind: 'eval', section: 'x<y>', dir: model.sections[2]?.run?.dir as string, status: 'done' });
    const evil = '</pre><script>alert(1)</script><img src=x onerror=alert(2)> | `` ``` # *';
    run.result = { generate: [{ prompt: evil, base: evil, tuned: '&amp; "q" \'s\'' }] };
    run.headline = evil;
    const m: ReportModel = { file: '/tmp/<b>.rtune', generated: 'now', sections: [{ kind: 'eval', section: 'x<y>', run, folders: 1 }] };
    const html = reportHtml(m);
    assert.doesNotMatch(html, /<script|<img|<b>/);
    assert.ok(html.includes('&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('&amp;amp; &quot;q&quot; &#39;s&#39;'));
    const md = reportMarkdown(m).text;
    assert.ok(md.includes('````text\n</pre><script>'), 'generations in a fence longer than any run of backticks inside');
    assert.ok(md.includes('x\\<y\\>'), 'headings escaped');
    assert.doesNotMatch(md.split('````')[0] ?? '', /(?<!\\)<script/, 'outside fences, < is escaped');
  });

  it('renders a compare section’s comparison.json generically: later fields show up', () => {
    const dir = model.sections[2]?.run?.dir as string;
    const doc = {
      title: 'honest vs lie',
      rows: [
        { condition: 'base', facts: { honest: 0.1, honestCi: { lo: 0.05, hi: 0.2 }, bias: 0.12 }, pplChangePct: 0, cosine: -0.2, brandNew: 7 },
        { condition: 'tuned', facts: { honest: 0.6, honestCi: [0.5, 0.7], bias: -0.1 }, pplChangePct: 3.5, cosine: 0.4 },
      ],
    };
    fs.writeFileSync(path.join(dir, 'comparison.json'), JSON.stringify(doc));
    try {
      const again = collectReport({ ...loadConfig(), order: [{ kind: 'eval', name: 'check' }] }, fx.file);
      const html = reportHtml(again);
      assert.match(
        html,
        /<th>condition<\/th><th>facts\.honest<\/th><th>facts\.honestCi<\/th><th>facts\.bias<\/th><th>pplChangePct<\/th><th>cosine<\/th><th>brandNew<\/th>/,
      );
      const cells = numericCells(html).filter((c) => c.nums.some((n) => n.src.startsWith('comparison.json')));
      assert.equal(cells.length, 11);
      assert.deepEqual(
        cells.flatMap((c) => checkCell(c.dir, c.text, c.nums)),
        [],
      );
      assert.ok(html.includes('[0.5, 0.7]'));
    } finally {
      fs.rmSync(path.join(dir, 'comparison.json'));
    }
  });

  it('the CLI writes <runs>/reports/<stem>-<time>/ with a latest pointer, prints the path; --json lists the folders used', async () => {
    const writes: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    const origErr = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((s: string) => (writes.push(s), true)) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    let code: number;
    let codeJson: number;
    let codeBad: number;
    try {
      code = await main(['report', fx.file]);
      codeJson = await main(['report', fx.file, 'check', '--json']);
      codeBad = await main(['report', fx.file, 'nope']);
    } finally {
      process.stdout.write = orig;
      process.stderr.write = origErr;
    }
    assert.equal(code, 0);
    assert.equal(codeBad, 1);
    const printed = (writes[0] ?? '').trim();
    const latest = fs.readFileSync(path.join(fx.dir, 'runs', 'reports', 'latest'), 'utf8').trim();
    assert.equal(codeJson, 0);
    const j = JSON.parse(writes[1] ?? '{}') as { html: string; sections: Array<{ section: string; dir: string }> };
    assert.equal(path.basename(path.dirname(j.html)), latest, 'latest names the newest report');
    assert.match(path.basename(path.dirname(printed)), /^exp-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?$/);
    assert.equal(path.dirname(path.dirname(printed)), path.join(fx.dir, 'runs', 'reports'));
    assert.deepEqual(
      j.sections.map((s) => s.section),
      ['check'],
    );
    assert.equal(j.sections[0]?.dir, model.sections[2]?.run?.dir);
  });

  it('report.html in headless Chromium from file:// with the network blocked: renders, no console errors, numbers match, screenshot', async (t) => {
    const skip = browserSkipReason();
    if (skip) return t.skip(skip);
    const file = path.join(fx.dir, 'report-out', 'report.html');
    const b = await launchBrowser();
    try {
      const page = await b.browser.newPage({ viewport: { width: 1100, height: 1400 } });
      const blocked: string[] = [];
      const errors: string[] = [];
      await page.route('**/*', (route) =>
        route.request().url().startsWith('file://') ? route.continue() : (blocked.push(route.request().url()), route.abort()),
      );
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
      await page.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP ${e.violatedDirective} ${e.blockedURI}`)));
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href);
      assert.deepEqual(requests, [pathToFileURL(file).href], 'the report loads nothing but itself');
      assert.deepEqual(blocked, []);
      const shown = await page.evaluate(() =>
        Array.from(document.querySelectorAll('section')).flatMap((s) =>
          Array.from(s.querySelectorAll('td[data-nums]')).map((td) => ({
            dir: s.getAttribute('data-dir') ?? '',
            text: td.textContent ?? '',
            nums: JSON.parse(td.getAttribute('data-nums') ?? '[]') as [],
          })),
        ),
      );
      assert.ok(shown.length > 50);
      assert.deepEqual(
        shown.flatMap((c) => checkCell(c.dir, c.text, c.nums)),
        [],
      );
      const figures = await page.evaluate(() => Array.from(document.querySelectorAll('figure svg')).map((s) => s.getBoundingClientRect().width));
      assert.ok(figures.length >= 6 && figures.every((w) => w > 100), `figures drawn: ${figures.join(', ')}`);
      assert.deepEqual(errors, []);
      fs.mkdirSync(OUTPUT_DIR, { recursive: true });
      await page.screenshot({ path: path.join(OUTPUT_DIR, 'report.png'), fullPage: true });
    } finally {
      await b.close();
    }
  });
});

function loadConfig(): RunListConfig {
  return load(fx.dir, fx.text).config as unknown as RunListConfig;
}
