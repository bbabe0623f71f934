// End-to-end checks inside a real VS Code extension host (code-server 4.100.3 = VS Code 1.100.3), loaded by
// test/e2e/run.mjs through the workbench's extensionTestsPath hook. Exports `run()` (the @vscode/test-electron
// contract): it throws on the first failed check, and the runner maps that to a non-zero exit.
// Plain CommonJS on purpose: it runs as-is in the extension host, with the real `vscode` module.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - t0, error: String(e && e.stack ? e.stack : e) });
    console.log(`not ok - ${name}: ${e && e.stack ? e.stack : e}`);
    throw e;
  }
}

async function waitFor(what, fn, timeoutMs = 60000, everyMs = 100) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

exports.run = async function run() {
  const ws = vscode.workspace.workspaceFolders[0].uri.fsPath;
  const demo = vscode.Uri.file(path.join(ws, 'demo.rtune'));
  const out = process.env.RTUNE_E2E_OUT || path.join(ws, '.e2e-out');
  let api;

  await check('the extension activates on a .rtune file and returns its API', async () => {
    const doc = await vscode.workspace.openTextDocument(demo);
    await vscode.window.showTextDocument(doc);
    assert.equal(doc.languageId, 'rtune');
    const ext = vscode.extensions.getExtension('rtune.rtune');
    assert.ok(ext, 'extension rtune.rtune is installed');
    api = await ext.activate();
    assert.ok(api && api.jobs && api.state, 'activate() returned the API');
    await waitFor('the language client to run', () => api.client.isRunning(), 30000);
  });

  await check('every contributed command is registered', async () => {
    const ext = vscode.extensions.getExtension('rtune.rtune');
    const contributed = ext.packageJSON.contributes.commands.map((c) => c.command);
    const all = new Set(await vscode.commands.getCommands(true));
    for (const c of contributed) assert.ok(all.has(c), `command ${c} registered`);
    assert.ok(contributed.length >= 14);
  });

  await check('diagnostics on a broken copy name the problem', async () => {
    const broken = vscode.Uri.file(path.join(ws, 'broken.rtune'));
    const text = fs.readFileSync(demo.fsPath, 'utf8').replace('max_steps 60', 'max_stepz 60').replace('lr_token 5e-4', 'lr_token fast');
    await vscode.workspace.fs.writeFile(broken, Buffer.from(text));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(broken));
    const diags = await waitFor('diagnostics', () => {
      const d = vscode.languages.getDiagnostics(broken);
      return d.length >= 2 && d;
    });
    const messages = diags.map((d) => `${d.range.start.line + 1}: ${d.message}`).join('\n');
    assert.match(messages, /max_stepz/);
    assert.match(messages, /max_steps/, 'a did-you-mean for the misspelt key');
    assert.ok(diags.some((d) => /lr_token/.test(d.message) || /number/.test(d.message)), messages);
  });

  await check('hover explains a key', async () => {
    const doc = await vscode.workspace.openTextDocument(demo);
    const line = doc.getText().split('\n').findIndex((l) => l.trim().startsWith('max_steps'));
    const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', demo, new vscode.Position(line, 4));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /step/i);
  });

  await check('completion offers keys of the section', async () => {
    const doc = await vscode.workspace.openTextDocument(demo);
    const line = doc.getText().split('\n').findIndex((l) => l.trim().startsWith('max_steps'));
    const list = await vscode.commands.executeCommand('vscode.executeCompletionItemProvider', demo, new vscode.Position(line, 2));
    const labels = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    // Keys of a tune section that demo.rtune does not set yet (set keys are not offered again).
    assert.ok(labels.includes('output') && labels.includes('flip'), labels.slice(0, 20).join(', '));
    assert.ok(!labels.includes('max_steps'), 'a key already set is not offered again');
  });

  let lenses;
  await check('CodeLenses offer the run commands with their sections', async () => {
    lenses = await waitFor('code lenses', async () => {
      const l = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', demo);
      return l && l.length >= 5 && l;
    });
    const titles = lenses.map((l) => l.command && l.command.title);
    for (const t of ['Extract direction', 'Run Tuning', 'Run block search', 'Compute perplexity', 'Export']) assert.ok(titles.includes(t), `lens "${t}" in ${titles.join(' | ')}`);
  });

  const lens = (title) => lenses.find((l) => l.command && l.command.title === title);

  await check('Run Tuning from its CodeLens streams points into the state and finishes the run folder', async () => {
    const l = lens('Run Tuning');
    const id = await vscode.commands.executeCommand(l.command.command, ...l.command.arguments);
    assert.equal(typeof id, 'number', 'the command returns the job id');
    const job = await waitFor('the job to start', () => api.jobs.queue.running);
    const outcome = await job.finished;
    assert.equal(outcome.status, 'done', outcome.message);
    const counts = api.state.counts;
    assert.ok(counts.points >= 20, `points streamed: ${JSON.stringify(counts)}`);
    assert.ok(counts.heatmaps >= 1, 'the extraction heatmap arrived');
    const runs = [...api.state.runs.values()];
    const tune = runs.filter((r) => r.kind === 'tune').pop();
    assert.equal(readJson(path.join(tune.dir, 'status.json')).status, 'done');
    assert.equal(readJson(path.join(tune.dir, 'summary.json')).status, 'done');
  });

  await check('a second tuning run can be cancelled and is marked cancelled', async () => {
    const l = lens('Run Tuning');
    const earlier = new Set(api.state.runs.keys());
    // Run Fresh: with its inputs unchanged, Run Tuning would load the first run's checkpoint instead of training.
    await vscode.commands.executeCommand('rtune.runFresh', ...l.command.arguments);
    const job = await waitFor('the job to start', () => api.jobs.queue.running);
    // Wait for this job's tune section (after its direction) to stream a few steps, then cancel through the command.
    await waitFor('tuning steps', () => {
      const r = api.state.currentRun;
      return r && !earlier.has(r.run) && r.kind === 'tune' && r.last && r.last.step >= 3;
    }, 120000, 20);
    const dir = api.state.currentRun.dir;
    await vscode.commands.executeCommand('rtune.cancelJob');
    const outcome = await job.finished;
    assert.equal(outcome.status, 'cancelled', outcome.message);
    assert.equal(readJson(path.join(dir, 'status.json')).status, 'cancelled');
    assert.equal(readJson(path.join(dir, 'summary.json')).status, 'cancelled');
    assert.equal(api.state.runs.get(path.basename(dir)).status, 'cancelled');
  });

  await check('Compute perplexity shows the result inline (CodeLens and inlay hint), read from the run folder', async () => {
    const l = lens('Compute perplexity');
    await vscode.commands.executeCommand(l.command.command, ...l.command.arguments);
    const job = await waitFor('the job to start', () => api.jobs.queue.running);
    const outcome = await job.finished;
    assert.equal(outcome.status, 'done', outcome.message);
    const inline = await waitFor('an inline perplexity result', async () => {
      const ls = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', demo);
      return ls.find((x) => x.command && /perplexity|ppl/i.test(x.command.title) && /→/.test(x.command.title));
    }, 30000, 250);
    console.log(`inline result: ${inline.command.title}`);
    const doc = await vscode.workspace.openTextDocument(demo);
    const hints = await vscode.commands.executeCommand('vscode.executeInlayHintProvider', demo, new vscode.Range(0, 0, doc.lineCount, 0));
    const hintText = hints.map((h) => (typeof h.label === 'string' ? h.label : h.label.map((p) => p.value).join(''))).join(' | ');
    assert.match(hintText, /→/, hintText);
  });

  await check('Open Run replays a finished run into the panels state', async () => {
    const tune = [...api.state.runs.values()].filter((r) => r.kind === 'tune' && r.status === 'done').pop();
    const before = api.state.counts.points;
    const run = await vscode.commands.executeCommand('rtune.openRun', { uri: demo.toString(), section: 'honest', runDir: tune.dir });
    assert.equal(run, path.basename(tune.dir));
    assert.equal(api.state.counts.points, before, 'replaying a run replaces its points instead of duplicating them');
  });

  // Benchmark figures (printed by scripts/bench-extension.mjs; nothing asserted): activation time and the
  // extension host's memory with two panels open and a finished tuning run in the panels' state.
  api.panels.show('loss-curves');
  api.panels.show('heatmap');
  await new Promise((r) => setTimeout(r, 3000));
  const mem = process.memoryUsage();
  const metrics = { activationMs: api.activationMs, hostRssMB: mem.rss / 2 ** 20, hostHeapUsedMB: mem.heapUsed / 2 ** 20, statePoints: api.state.counts.points, vscode: vscode.version };
  console.log(`metrics: ${JSON.stringify(metrics)}`);
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'exthost-metrics.json'), JSON.stringify(metrics, null, 2));
  fs.writeFileSync(path.join(out, 'exthost-results.json'), JSON.stringify(results, null, 2));
  console.log(`${results.filter((r) => r.ok).length} passed, ${results.filter((r) => !r.ok).length} failed`);
};
