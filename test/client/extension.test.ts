/**
 * The extension's activate() and commands against a stubbed `vscode` (stub-vscode.ts), with the real language
 * server path, the real worker (dist/worker.js) and the real panel HTML: command wiring and its agreement with
 * package.json, quick picks for palette invocations, workspace trust, settings problems, a job run end to end
 * into the panels' state and a webview that posts `ready`.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { RtuneCommands } from '../../protocol/lsp';
import { WEBVIEW_PROTOCOL_VERSION } from '../../protocol/webview';
import { document, extensionContext, installVscodeStub, stub } from './stub-vscode';

installVscodeStub();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ext = require('../../client/extension') as typeof import('../../client/extension');

const root = path.resolve(__dirname, '..', '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  activationEvents: string[];
  contributes: { commands: { command: string; title: string; category: string }[]; menus: Record<string, { command: string }[]> };
  capabilities: { untrustedWorkspaces: { supported: string } };
};
const demoFile = path.join(root, 'examples', 'demo.rtune');

let ctx: { subscriptions: { dispose(): void }[] };

async function activate(): Promise<Awaited<ReturnType<typeof ext.activate>>> {
  ctx = extensionContext(root) as typeof ctx;
  return ext.activate(ctx as never);
}

describe('extension (stubbed vscode)', { concurrency: false }, () => {
  before(() => stub.reset());
  afterEach(() => {
    for (const d of ctx?.subscriptions ?? []) d.dispose();
    stub.reset();
  });

  it('activates: starts the language server from dist/server.js and registers every contributed command', async () => {
    stub.config['runsFolder'] = '/tmp/rtune-runs-setting';
    await activate();
    assert.equal(stub.client.started, true);
    assert.equal(stub.client.serverModule, path.join(root, 'dist', 'server.js'));
    assert.deepEqual(stub.client.initializationOptions, { extensionRoot: root, inlineResults: true, runsFolder: '/tmp/rtune-runs-setting' });
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual([...stub.commands.keys()].sort(), contributed);
    assert.deepEqual([...ext.EXTENSION_COMMANDS].sort(), contributed);
    for (const id of Object.values(RtuneCommands)) assert.ok(stub.commands.has(id), `CodeLens command ${id}`);
    for (const c of manifest.contributes.commands) assert.equal(c.category, 'RTune');
    for (const m of Object.values(manifest.contributes.menus).flat()) assert.ok(contributed.includes(m.command), `menu entry ${m.command}`);
    assert.ok(manifest.activationEvents.includes('onLanguage:rtune'));
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.deepEqual(stub.messages, []);
  });

  it('a panel opened with nothing to show loads the newest run of each section from disk (survives reloads)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-ext-'));
    const file = path.join(dir, 'exp.rtune');
    fs.writeFileSync(file, 'version 1\n');
    const mk = (id: string, step: number) => {
      const run = path.join(dir, 'runs', 'honest', id);
      fs.mkdirSync(run, { recursive: true });
      const events = [
        { type: 'run', run: id, section: 'honest', kind: 'tune', dir: run },
        {
          type: 'step',
          job: 'tune',
          run: id,
          step,
          epoch: 0,
          tokenLoss: 1,
          projectionLoss: 0.5,
          totalLoss: 1.5,
          lr: 1e-3,
          gradNorm: 1,
          cosine: [0.1],
          layers: [1],
          tokensPerSecond: 1,
        },
      ];
      fs.writeFileSync(path.join(run, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n'));
      fs.writeFileSync(path.join(run, 'status.json'), JSON.stringify({ status: 'done' }));
      return run;
    };
    mk('20261127T070000Z-honest', 1);
    const newer = mk('20261127T080000Z-honest', 2);
    fs.utimesSync(path.join(newer, 'events.jsonl'), new Date(), new Date(Date.now() + 1000));
    stub.activeDocument = document(file);
    const api = await activate();
    assert.deepEqual(stub.serializers.sort(), ['rtune.heatmap', 'rtune.leaderboard', 'rtune.lossCurves'], 'restored panels are re-rendered');
    assert.deepEqual(api.state.counts.runs, 0);
    await stub.commands.get('rtune.showLossCurves')?.();
    assert.deepEqual([...api.state.runs.keys()], ['20261127T080000Z-honest'], 'only the newest run of the section');
    assert.equal(api.state.runs.get('20261127T080000Z-honest')?.status, 'done');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports invalid settings once, by key, and keeps working with the defaults', async () => {
    stub.config['threads'] = -2;
    stub.config['backend'] = 'cuda';
    const api = await activate();
    assert.equal(stub.messages.filter((m) => m.level === 'warn').length, 2);
    assert.match(stub.messages.map((m) => m.text).join('\n'), /RTune settings: rtune\.backend: "cuda" is not one of/);
    assert.equal(api.settings().threads, 0);
  });

  it('from the palette without a section, offers a quick pick of the matching sections', async () => {
    const text = `${fs.readFileSync(demoFile, 'utf8')}\ntune second {\n  prompts liar\n  direction honesty\n  layers 1\n}\n`;
    stub.activeDocument = document(demoFile, text);
    await activate();
    const id = await stub.commands.get('rtune.runTuning')?.();
    assert.equal(id, undefined, 'dismissed: no job');
    assert.equal(stub.quickPicks.length, 1);
    assert.deepEqual(
      stub.quickPicks[0]?.items.map((i) => i.label),
      ['tune honest', 'tune second'],
    );
    assert.equal(stub.quickPicks[0]?.title, 'RTune: Run Tuning');
  });

  it('without a .rtune file, says to open one; in an untrusted workspace, runs nothing and says why', async () => {
    const api = await activate();
    assert.equal(await stub.commands.get('rtune.runTuning')?.(), undefined);
    assert.match(stub.messages[0]?.text ?? '', /open a \.rtune file first/);
    // With no .rtune editor focused (a panel is) and two .rtune files open, it asks which file.
    stub.openDocuments = [document(demoFile), document(path.join(root, 'examples', 'gpt2.rtune'))];
    assert.equal(await stub.commands.get('rtune.runTuning')?.(), undefined);
    assert.deepEqual(
      stub.quickPicks[0]?.items.map((i) => i.label),
      ['demo.rtune', 'gpt2.rtune'],
    );
    stub.openDocuments = [];
    stub.trusted = false;
    stub.activeDocument = document(demoFile);
    assert.equal(
      await stub.commands.get('rtune.runTuning')?.({ uri: stub.activeDocument.uri.toString(), section: 'honest', kind: 'tune', range: {} }),
      undefined,
    );
    assert.match(stub.messages[1]?.text ?? '', /does not run jobs in an untrusted workspace/);
    assert.equal(api.jobs.queue.running, undefined);
    await stub.commands.get('rtune.cancelJob')?.();
    assert.match(stub.messages[2]?.text ?? '', /no job is running/);
  });

  it('Extract Direction from its lens runs a worker job into the panels: heatmap panel, snapshot on ready, results refresh', async () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-ext-'));
    stub.config['runsFolder'] = runs;
    stub.config['threads'] = 1;
    const doc = document(demoFile, fs.readFileSync(demoFile, 'utf8').replace('runs "runs"\n', ''));
    stub.openDocuments = [doc];
    const api = await activate();
    const id = await stub.commands.get(RtuneCommands.extractDirection)?.({ uri: doc.uri.toString(), section: 'honesty', kind: 'direction', range: {} });
    assert.equal(typeof id, 'number');
    const job = api.jobs.queue.running;
    assert.ok(job, 'the job started');
    assert.equal(stub.statusBar.visible, true);
    assert.match(stub.statusBar.text, /RTune: Extract Direction: honesty/);
    assert.deepEqual(stub.progress[0], { location: 15, title: 'RTune: Extract Direction: honesty', cancellable: true });
    const outcome = await job.finished;
    assert.deepEqual(outcome, { status: 'done' });
    assert.equal(stub.statusBar.visible, false);
    // The heatmap panel opened when the direction run started, with our CSP and bundle.
    const heatmapPanels = stub.panels.filter((p) => p.viewType === 'rtune.heatmap');
    assert.equal(heatmapPanels.length, 1, 'one heatmap panel');
    const panel = heatmapPanels[0];
    assert.ok(panel);
    assert.match(panel.html, /Content-Security-Policy/);
    assert.match(panel.html, /dist\/webview\/heatmap\.js/);
    panel.receive.fire({ type: 'ready', panel: 'heatmap', protocolVersion: WEBVIEW_PROTOCOL_VERSION });
    await new Promise((r) => setImmediate(r));
    const snap = panel.posted.find((m) => (m as { type: string }).type === 'snapshot') as { heatmaps: { title: string }[] } | undefined;
    assert.ok(snap, 'snapshot posted on ready');
    assert.match(snap.heatmaps[0]?.title ?? '', /separation/);
    // An invalid message from the panel is logged, not obeyed.
    panel.receive.fire({ type: 'exportCsv', panel: 'heatmap' });
    await new Promise((r) => setImmediate(r));
    assert.ok(stub.log.some((l) => /ignored an invalid message/.test(l)));
    // The server was told the results changed, with the run folder (under the runsFolder setting).
    const note = stub.client.notifications.find((n) => n.method === 'rtune/resultsChanged');
    assert.ok(note && String((note.params as { runDir: string }).runDir).startsWith(runs));
    fs.rmSync(runs, { recursive: true, force: true });
  });

  it('Open Report writes the report of the active file (newest finished run per section) and shows it, with Open in Browser', async () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-ext-report-'));
    stub.config['runsFolder'] = runs;
    const run = path.join(runs, 'honest', '20261127T070000Z-honest');
    fs.mkdirSync(run, { recursive: true });
    const step = {
      type: 'step',
      job: 'tune',
      run: path.basename(run),
      epoch: 0,
      tokenLoss: 2,
      projectionLoss: 0.5,
      totalLoss: 2.5,
      lr: 1e-3,
      gradNorm: 1,
      cosine: [0.1],
      layers: [1],
      tokensPerSecond: 1,
    };
    const events = [
      { type: 'run', run: path.basename(run), section: 'honest', kind: 'tune', dir: run },
      { ...step, step: 0 },
      { ...step, step: 1, totalLoss: 1.75 },
    ];
    fs.writeFileSync(path.join(run, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n'));
    fs.writeFileSync(path.join(run, 'config.json'), '{}');
    fs.writeFileSync(path.join(run, 'result.json'), JSON.stringify({ steps: 2, bestStep: 1, metric: 'projection', bestMetric: 0.5 }));
    const summary = { status: 'done', headline: 'done after 2 steps', started: '2026-11-27T07:00:00.000Z', finished: '2026-11-27T07:00:03.000Z' };
    fs.writeFileSync(path.join(run, 'summary.json'), JSON.stringify(summary));
    fs.writeFileSync(path.join(run, 'status.json'), JSON.stringify({ status: 'done' }));
    stub.activeDocument = document(demoFile, fs.readFileSync(demoFile, 'utf8').replace('runs "runs"\n', ''));
    stub.answers.message = 'Open in Browser';
    await activate();
    const html = (await stub.commands.get('rtune.openReport')?.()) as string;
    assert.equal(path.dirname(path.dirname(html)), path.join(runs, 'reports'));
    assert.equal(fs.readFileSync(path.join(runs, 'reports', 'latest'), 'utf8').trim(), path.basename(path.dirname(html)));
    const panel = stub.panels.find((p) => p.viewType === 'rtune.report');
    assert.ok(panel, 'a report panel');
    assert.equal(panel.title, 'RTune Report: demo.rtune');
    assert.equal(panel.html, fs.readFileSync(html, 'utf8'));
    assert.match(panel.html, /tune honest/);
    assert.match(panel.html, /No run folder yet: this section has never run\./, 'the sections that never ran are listed');
    assert.ok(fs.existsSync(path.join(path.dirname(html), 'report.md')));
    assert.match(
      stub.messages.find((m) => m.level === 'info')?.text ?? '',
      /report written to .*report\.html \(no finished run: direction honesty, eval check, search blocks\b/, // (export release writes outside the runs folder)
    );
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(stub.external, [`file://${html}`]);
    fs.rmSync(runs, { recursive: true, force: true });
  });
});
