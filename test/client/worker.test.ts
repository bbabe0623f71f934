/**
 * The backend worker process as the extension runs it (dist/worker.js through client/worker-process.ts), on the
 * built-in demo model: a direction extraction that streams events and finishes its run folder; a tuning run
 * cancelled mid-way (the folder says cancelled); a worker killed mid-run (the job manager marks the folder failed
 * with the reason); a file with errors (an `input` failure naming file, line and column); the memory limit.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { startWorkerJob, type WorkerJobOptions } from '../../client/worker-process';
import type { JobEvent } from '../../protocol/job';

const root = path.resolve(__dirname, '..', '..', '..');
const workerPath = path.join(root, 'dist', 'worker.js');
const demoFile = path.join(root, 'examples', 'demo.rtune');
const demoText = fs.readFileSync(demoFile, 'utf8').replace('runs "runs"\n', '');
const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-worker-'));

// `fresh`: every test computes its sections (they share one runs folder, where a finished direction would be reused).
function request(sections: string[], text = demoText): WorkerJobOptions['request'] {
  return { file: demoFile, text, sections, backend: 'wasm', threads: 1, runsFolder: runs, builtinRoot: root, maxMemoryBytes: 0, fresh: true };
}

const readJson = (f: string): Record<string, unknown> => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;

describe('worker process', { concurrency: false }, () => {
  after(() => fs.rmSync(runs, { recursive: true, force: true }));

  it('extracts a direction: streams run/progress/heatmap events and leaves a finished run folder', async () => {
    const events: JobEvent[] = [];
    const job = startWorkerJob({ workerPath, request: request(['honesty']), onEvent: (e) => events.push(e) });
    const outcome = await job.done;
    assert.deepEqual(outcome, { status: 'done' });
    assert.equal(job.runs.length, 1);
    const run = job.runs[0]!;
    assert.equal(run.kind, 'direction');
    assert.ok(run.dir.startsWith(runs), `${run.dir} is under the runsFolder setting`);
    assert.equal(events[0]?.type, 'run', 'the run folder is announced first');
    assert.ok(events.some((e) => e.type === 'heatmap'));
    assert.ok(events.some((e) => e.type === 'progress'));
    assert.equal(readJson(path.join(run.dir, 'summary.json'))['status'], 'done');
    assert.equal(job.summaries[0]?.status, 'done');
  });

  it('a cancel during tuning stops within a step; the folder says cancelled', async () => {
    let steps = 0;
    const job = startWorkerJob({
      workerPath,
      request: request(['honest']),
      onEvent: (e) => {
        if (e.type === 'step' && ++steps === 3) job.cancel();
      },
    });
    const outcome = await job.done;
    assert.equal(outcome.status, 'cancelled');
    assert.ok(steps >= 3 && steps <= 6, `stopped after ${steps} steps`);
    const tune = job.runs.find((r) => r.kind === 'tune')!;
    assert.equal(readJson(path.join(tune.dir, 'status.json'))['status'], 'cancelled');
    assert.equal(readJson(path.join(tune.dir, 'summary.json'))['status'], 'cancelled');
  });

  it('a killed worker fails the job with the reason and the last output, and marks its open folder failed', async () => {
    let killed = false;
    const job = startWorkerJob({
      workerPath,
      request: request(['honest']),
      onEvent: (e) => {
        if (e.type === 'step' && !killed) {
          killed = true;
          job.process.kill('SIGKILL');
        }
      },
    });
    const outcome = await job.done;
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.message ?? '', /exited unexpectedly \(signal SIGKILL\)/);
    assert.match(outcome.message ?? '', /Last output:\nmodel demo: .*demo-model on CPU/);
    const tune = job.runs.find((r) => r.kind === 'tune')!;
    const summary = readJson(path.join(tune.dir, 'summary.json'));
    assert.equal(summary['status'], 'failed');
    assert.match(String(summary['headline']), /^failed: the worker process exited unexpectedly/);
    assert.equal(readJson(path.join(tune.dir, 'status.json'))['status'], 'failed');
    const direction = job.runs.find((r) => r.kind === 'direction')!;
    assert.equal(readJson(path.join(direction.dir, 'summary.json'))['status'], 'done', 'a finished section keeps its result');
  });

  it('when the extension goes away mid-run (window reload), the worker stops and its folder says cancelled', async () => {
    let gone = false;
    const job = startWorkerJob({
      workerPath,
      request: request(['honest']),
      onEvent: (e) => {
        if (e.type === 'step' && !gone) {
          gone = true;
          job.process.disconnect();
        }
      },
    });
    await job.done;
    const tune = job.runs.find((r) => r.kind === 'tune')!;
    assert.equal(readJson(path.join(tune.dir, 'status.json'))['status'], 'cancelled');
    assert.equal(readJson(path.join(tune.dir, 'summary.json'))['status'], 'cancelled');
  });

  it('a file with errors fails as input, naming file, line and column', async () => {
    const broken = demoText.replace('max_steps 60', 'max_steps sixty');
    const job = startWorkerJob({ workerPath, request: request(['honest'], broken) });
    const outcome = await job.done;
    assert.equal(outcome.status, 'failed');
    const line = broken.split('\n').findIndex((l) => l.includes('max_steps sixty')) + 1;
    assert.match(outcome.message ?? '', new RegExp(`demo\\.rtune:${line}:\\d+: error: .*`));
    assert.equal(job.runs.length, 0);
  });

  it('the memory limit stops the job with a memory failure that says what to change', async () => {
    const job = startWorkerJob({ workerPath, request: { ...request(['honesty']), maxMemoryBytes: 16 * 2 ** 20 } });
    const outcome = await job.done;
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.message ?? '', /over the rtune\.maxMemoryGiB limit of 0\.02 GiB; raise the setting/);
  });
});
