/**
 * The extension's vscode-free logic: settings validation (and its agreement with package.json), the job queue,
 * the section picker, and the panels' run state (job events in, webview messages out, replay from a run folder).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { JobQueue, type JobHandle, type JobOutcome } from '../../client/job-queue';
import { COSINE_TITLE, RunState, loadRunFolder, runLabel } from '../../client/run-state';
import { runnableSections, sectionsFor } from '../../client/sections';
import { BACKEND_CHOICES, readSettings, SETTING_DEFAULTS } from '../../client/settings';
import type { JobEvent } from '../../protocol/job';
import { checkExtensionMessage } from '../../protocol/webview-check';

const root = path.resolve(__dirname, '..', '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { default: unknown; enum?: string[]; type: string }> } };
};

describe('settings', () => {
  it('unset values give the defaults and no problems', () => {
    const r = readSettings(() => undefined);
    assert.deepEqual(r.settings, SETTING_DEFAULTS);
    assert.deepEqual(r.problems, []);
  });

  it('valid values are taken; invalid ones fall back with a problem naming key, value and what is allowed', () => {
    const raw: Record<string, unknown> = { backend: 'gpu', threads: 1.5, maxMemoryGiB: 8, runsFolder: ' out/runs ', inlineResults: 'yes', workerPath: 3 };
    const r = readSettings((k) => raw[k]);
    assert.equal(r.settings.backend, 'auto');
    assert.equal(r.settings.threads, 0);
    assert.equal(r.settings.maxMemoryGiB, 8);
    assert.equal(r.settings.runsFolder, 'out/runs');
    assert.equal(r.settings.inlineResults, true);
    assert.equal(r.settings.workerPath, '');
    assert.equal(r.problems.length, 4);
    assert.match(r.problems.join('\n'), /rtune\.backend: "gpu" is not one of auto, tensorflow, webgpu, wasm, cpu; using "auto"/);
    assert.match(r.problems.join('\n'), /rtune\.threads: 1\.5 is not a whole number from 0 to 256; using 0/);
    assert.match(r.problems.join('\n'), /rtune\.inlineResults: "yes" is not true or false/);
  });

  it('package.json contributes exactly these settings, with the same defaults and backend choices', () => {
    const props = manifest.contributes.configuration.properties;
    assert.deepEqual(
      Object.keys(props).sort(),
      Object.keys(SETTING_DEFAULTS)
        .map((k) => `rtune.${k}`)
        .sort(),
    );
    for (const [k, v] of Object.entries(SETTING_DEFAULTS)) assert.deepEqual(props[`rtune.${k}`]?.default, v, k);
    assert.deepEqual(props['rtune.backend']?.enum, [...BACKEND_CHOICES]);
    // Every contributed default passes our own validation.
    assert.deepEqual(readSettings((k) => props[`rtune.${k}`]?.default).problems, []);
  });
});

function fakeJob(): { handle: JobHandle; finish: (o: JobOutcome) => void; cancelled: () => boolean } {
  let finish!: (o: JobOutcome) => void;
  let cancelled = false;
  const done = new Promise<JobOutcome>((r) => (finish = r));
  return { handle: { cancel: () => (cancelled = true), done }, finish, cancelled: () => cancelled };
}

describe('job queue', () => {
  it('runs one job at a time in order, and starts the next when one ends', async () => {
    const fakes: ReturnType<typeof fakeJob>[] = [];
    const started: string[] = [];
    const q = new JobQueue<string>((job) => {
      started.push(job.spec);
      const f = fakeJob();
      fakes.push(f);
      return f.handle;
    });
    let changes = 0;
    q.onChange(() => changes++);
    const a = q.enqueue('A', 'a');
    const b = q.enqueue('B', 'b');
    const c = q.enqueue('C', 'c');
    assert.deepEqual(started, ['a']);
    assert.equal(q.running?.id, a.id);
    assert.deepEqual(
      q.queued.map((j) => j.spec),
      ['b', 'c'],
    );
    assert.equal(b.state, 'queued');
    fakes[0]?.finish({ status: 'done' });
    assert.deepEqual(await a.finished, { status: 'done' });
    assert.deepEqual(started, ['a', 'b']);
    assert.equal(b.state, 'running');
    fakes[1]?.finish({ status: 'failed', message: 'boom' });
    await b.finished;
    assert.equal(b.state, 'failed');
    assert.equal(b.outcome?.message, 'boom');
    assert.deepEqual(started, ['a', 'b', 'c']);
    fakes[2]?.finish({ status: 'done' });
    await c.finished;
    assert.equal(q.running, undefined);
    assert.ok(changes >= 6);
  });

  it('cancel asks the running job to stop; a queued job is removed without starting', async () => {
    const fakes: ReturnType<typeof fakeJob>[] = [];
    const q = new JobQueue<string>(() => {
      const f = fakeJob();
      fakes.push(f);
      return f.handle;
    });
    const a = q.enqueue('A', 'a');
    const b = q.enqueue('B', 'b');
    assert.equal(q.cancel(b.id), true);
    assert.deepEqual(await b.finished, { status: 'cancelled', message: 'cancelled before it started' });
    assert.equal(fakes.length, 1, 'b never started');
    assert.equal(q.cancel(), true);
    assert.equal(fakes[0]?.cancelled(), true);
    fakes[0]?.finish({ status: 'cancelled' });
    assert.equal((await a.finished).status, 'cancelled');
    assert.equal(q.cancel(), false, 'nothing left to cancel');
  });

  it('a job that fails to start is failed and the queue moves on; a rejected job counts as failed', async () => {
    let n = 0;
    const q = new JobQueue<string>(() => {
      n++;
      if (n === 1) throw new Error('no worker');
      return { cancel: () => {}, done: Promise.reject(new Error('worker died')) };
    });
    const a = q.enqueue('A', 'a');
    const b = q.enqueue('B', 'b');
    assert.deepEqual(await a.finished, { status: 'failed', message: 'no worker' });
    assert.deepEqual(await b.finished, { status: 'failed', message: 'worker died' });
  });
});

const demoText = fs.readFileSync(path.join(root, 'examples', 'demo.rtune'), 'utf8');

describe('sections for the quick pick', () => {
  it('lists the runnable sections of the demo with their lines and eval parts', () => {
    const s = runnableSections(demoText);
    assert.deepEqual(
      s.map((x) => `${x.kind} ${x.name}`),
      ['direction honesty', 'tune honest', 'eval check', 'search blocks', 'export release'],
    );
    const lines = demoText.split('\n');
    for (const x of s) assert.ok(lines[x.line]?.startsWith(`${x.kind} ${x.name}`), `${x.kind} at line ${x.line + 1}`);
    assert.deepEqual(s.find((x) => x.kind === 'eval')?.parts, ['perplexity', 'ab', 'steering']);
  });

  it('filters by command; works on a file with errors', () => {
    const text = `${demoText}\ntune second {\n  prompts liar\n  bogus_key 1\n}\neval only_ppl {\n  perplexity { data "x.txt" }\n}\n`;
    const s = runnableSections(text);
    assert.deepEqual(
      sectionsFor('rtune.runTuning', s).map((x) => x.name),
      ['honest', 'second'],
    );
    assert.deepEqual(
      sectionsFor('rtune.computePerplexity', s).map((x) => x.name),
      ['check', 'only_ppl'],
    );
    assert.deepEqual(
      sectionsFor('rtune.runEvaluation', s).map((x) => x.name),
      ['check'],
    );
    assert.deepEqual(sectionsFor('rtune.nope', s), []);
  });
});

describe('run state', () => {
  const run = '20261127T070131Z-honest';
  const events: JobEvent[] = [
    { type: 'run', run, section: 'honest', kind: 'tune', dir: '/tmp/x/' + run },
    { type: 'progress', job: 'tune', done: 1, total: 60, unit: 'steps' },
    {
      type: 'step',
      job: 'tune',
      run,
      step: 0,
      epoch: 0,
      tokenLoss: 2,
      projectionLoss: 0.5,
      totalLoss: 2.5,
      lr: 1e-4,
      gradNorm: 1,
      cosine: [0.1],
      layers: [1],
      tokensPerSecond: 100,
    },
    {
      type: 'step',
      job: 'tune',
      run,
      step: 1,
      epoch: 0,
      tokenLoss: NaN,
      projectionLoss: 0.4,
      totalLoss: NaN,
      lr: 1e-4,
      gradNorm: 1,
      cosine: [0.2],
      layers: [1],
      tokensPerSecond: 100,
    },
    { type: 'eval', job: 'tune', run, step: 1, split: 'heldout', tokenLoss: 1.9, projectionLoss: 0.45, totalLoss: 2.35 },
    {
      type: 'heatmap',
      job: 'direction',
      run,
      title: 'cos',
      rowLabel: 'layer',
      columnLabel: 'position',
      rows: [0, 1],
      columns: ['-1'],
      values: [[0.5], [Infinity]],
      min: -1,
      max: 1,
    },
  ];

  it('turns job events into valid webview deltas and a snapshot holding everything', () => {
    const st = new RunState();
    const out = events.flatMap((e) => st.apply(e));
    for (const m of out) assert.ok(checkExtensionMessage(JSON.parse(JSON.stringify(m))).ok, JSON.stringify(m));
    assert.deepEqual(
      out.map((m) => m.type),
      ['snapshot', 'progress', 'append', 'heatmap', 'append', 'heatmap', 'append', 'heatmap'],
    );
    const first = out[0];
    assert.ok(first?.type === 'snapshot' && first.runs[0]?.label === 'honest 07:01:31', 'a new curve arrives with its label');
    const snap = st.snapshot();
    assert.ok(checkExtensionMessage(JSON.parse(JSON.stringify(snap))).ok);
    assert.equal(snap.type, 'snapshot');
    if (snap.type !== 'snapshot') return;
    assert.equal(snap.runs[0]?.points.length, 3);
    assert.equal(snap.runs[0]?.label, 'honest 07:01:31');
    assert.equal(snap.runs[0]?.points[1]?.tokenLoss, null, 'NaN travels as null');
    const byTitle = new Map((snap.heatmaps ?? []).map((h) => [h.title, h]));
    assert.equal(byTitle.get('cos')?.values[1]?.[0], null);
    // The steps' per-layer cosines make a layers × steps heatmap.
    const during = byTitle.get(COSINE_TITLE);
    assert.deepEqual(during?.rows, [1]);
    assert.deepEqual(during?.columns, ['0', '1']);
    assert.deepEqual(during?.values, [[0.1, 0.2]]);
    assert.deepEqual(st.currentRun?.last, { step: 1, totalLoss: NaN });
    assert.deepEqual(st.counts, { runs: 1, points: 3, heatmaps: 2, trials: 0 });
    const fin = st.apply({ type: 'runEnd', run, section: 'honest', kind: 'tune', status: 'done', headline: 'ok' });
    assert.deepEqual(
      fin.map((m) => m.type),
      ['runStatus', 'heatmap'],
      'the final table goes out with the status',
    );
    assert.equal(st.runs.get(run)?.status, 'done');
    assert.equal(st.runs.get(run)?.message, 'ok');
    // Direction and search runs make no loss curve.
    assert.deepEqual(st.apply({ type: 'run', run: 'r2', section: 'blocks', kind: 'search', dir: '/tmp/r2' }), []);
    assert.equal(st.counts.runs, 1);
    // A long run posts the growing table every 10th step only, and keeps every column.
    const long = new RunState();
    long.apply({ type: 'run', run: 'r', section: 's', kind: 'tune', dir: '/tmp/r' });
    let posted = 0;
    for (let i = 0; i < 1000; i++) {
      const m = long.apply({
        type: 'step',
        job: 'tune',
        run: 'r',
        step: i,
        epoch: 0,
        tokenLoss: 1,
        projectionLoss: 1,
        totalLoss: 2,
        lr: 1,
        gradNorm: 1,
        cosine: [i / 1000, -i / 1000],
        layers: [0, 3],
        tokensPerSecond: 1,
      });
      posted += m.filter((x) => x.type === 'heatmap').length;
    }
    assert.equal(posted, 20 + 98);
    const final = long.setStatus('r', 'done').find((x) => x.type === 'heatmap');
    assert.ok(final && final.type === 'heatmap' && final.heatmap.columns.length === 1000 && final.heatmap.values[1]?.[999] === -0.999);
    assert.ok(checkExtensionMessage(JSON.parse(JSON.stringify(final))).ok);
    assert.equal(runLabel('not-a-stamp', 'x'), 'not-a-stamp');
  });

  it('a failed event marks the current run; replaying a folder (torn last line, orphaned status) replaces its points', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-runstate-'));
    const runDir = path.join(dir, 'honest', run);
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'events.jsonl'), `${events.map((e) => JSON.stringify(e)).join('\n')}\n{"type":"step","run":"${run}","ste`);
    fs.writeFileSync(path.join(runDir, 'status.json'), JSON.stringify({ status: 'running' }));
    const st = new RunState();
    assert.equal(loadRunFolder(st, runDir), run);
    assert.equal(st.runs.get(run)?.status, 'interrupted', 'a folder still saying running, with no process, is shown interrupted');
    assert.equal(loadRunFolder(st, runDir), run);
    assert.equal(st.counts.points, 3, 'a second replay does not duplicate points');
    const msgs = st.apply({ type: 'failed', job: 'tune', kind: 'cancelled', message: 'cancelled at step 2' });
    assert.deepEqual(
      msgs.map((m) => (m.type === 'runStatus' ? m.status : m.type)),
      ['cancelled', 'heatmap'],
    );
    assert.throws(() => loadRunFolder(st, dir), /is not an rtune run folder: it has no readable events\.jsonl/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
