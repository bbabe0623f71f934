/**
 * Checkpoints in run folders (job/checkpoint.ts, job/inputs.ts) on the demo model: a finished tune keeps its
 * trained tensors bit for bit, a later run that needs it (or its direction) loads them instead of computing them
 * again and evaluates to the same numbers, a changed input or `fresh` computes again, and a tune folder that did
 * not finish is never reused.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readHfConfig } from '../../engine/model/load';
import { CHECKPOINT_FILE, CHECKPOINT_TENSORS, readDirection, readTunedWeights } from '../../job/checkpoint';
import { INPUTS_FILE } from '../../job/inputs';
import { planSections } from '../../job/plan';
import { runConfig, Runner } from '../../job/runner';
import type { JobEvent } from '../../protocol/job';
import type { RunSummary } from '../../protocol/lsp';
import { REPO_ROOT } from '../helpers';
import { experiment, load } from './run-experiment';

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
const folders = (dir: string, section: string): string[] => fs.readdirSync(path.join(dir, 'runs', section)).map((r) => path.join(dir, 'runs', section, r));
const steps = (events: JobEvent[]): number => events.filter((e) => e.type === 'step').length;
const logs = (events: JobEvent[]): string[] => events.filter((e): e is Extract<JobEvent, { type: 'log' }> => e.type === 'log').map((e) => e.message);
const statuses = (s: RunSummary[]): string[] => s.map((x) => `${x.kind} ${x.section}:${x.status}${x.reusedFrom !== undefined ? ' (reused)' : ''}`);

describe('checkpoints in run folders', () => {
  it('keeps the trained tensors bit for bit, and an eval-only run reuses direction and tune with the same results', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-ckpt-'));
    const { config, file } = load(dir, experiment(dir, 6));
    // The in-memory run: direction, tune and eval in one runner, the tune's result passed in memory.
    const runner = new Runner(config, { file });
    const first: RunSummary[] = [];
    try {
      for (const ref of planSections(config, ['check'], { prerequisites: true })) first.push((await runner.runSection(ref)) as RunSummary);
    } catch (e) {
      runner.dispose();
      throw e;
    }
    const mem = runner.tuned.get('truthful')!;
    const memDir = runner.directions.get('honesty')!;
    runner.dispose();
    assert.deepEqual(statuses(first), ['direction honesty:done', 'tune truthful:done', 'eval check:done']);
    const [tuneDir] = folders(dir, 'truthful') as [string];
    const [dirDir] = folders(dir, 'honesty') as [string];
    for (const f of [CHECKPOINT_FILE, CHECKPOINT_TENSORS, INPUTS_FILE]) assert.ok(fs.existsSync(path.join(tuneDir, f)), f);
    assert.ok(fs.existsSync(path.join(dirDir, INPUTS_FILE)));
    // Only what changed, in HF layout on disk; back in memory layout equal bit for bit.
    const disk = readTunedWeights(tuneDir, readHfConfig(path.join(REPO_ROOT, 'examples', 'demo-model')));
    assert.deepEqual([...disk.keys()].sort(), [...mem.weights.keys()].sort());
    assert.ok(disk.size > 0 && disk.size < 20, `${disk.size} trained tensors`);
    for (const [name, w] of mem.weights) assert.deepEqual(bits(disk.get(name)!), bits(w), name);
    const loaded = readDirection(dirDir);
    assert.deepEqual(loaded.layers, memDir.layers);
    assert.deepEqual(loaded.offsets, memDir.offsets);
    assert.deepEqual(loaded.metadata, memDir.metadata);
    for (const [l, vs] of memDir.vectors) vs.forEach((v, k) => assert.deepEqual(bits(loaded.vectors.get(l)![k]!), bits(v), `layer ${l} position ${k}`));

    // The eval alone: its direction and tune come from the run folders, nothing is trained, the numbers are the same.
    const events: JobEvent[] = [];
    const again = await runConfig(config, ['check'], { file, emit: (e) => events.push(e) });
    assert.deepEqual(statuses(again), ['direction honesty:done (reused)', 'tune truthful:done (reused)', 'eval check:done']);
    assert.equal(again[0]?.reusedFrom, path.resolve(dirDir));
    assert.equal(again[1]?.reusedFrom, path.resolve(tuneDir));
    assert.match(again[1]!.headline, new RegExp(`^reusing tune truthful from ${path.basename(tuneDir)}: `));
    assert.ok(
      logs(events).includes(`reusing tune truthful from ${path.basename(tuneDir)} (inputs unchanged; --fresh computes it again)`),
      logs(events).join('\n'),
    );
    assert.equal(steps(events), 0, 'no training step');
    assert.deepEqual(
      events.flatMap((e) => (e.type === 'reused' ? [`${e.kind} ${e.section} ${e.run} ${e.dir}`] : [])),
      [`direction honesty ${path.basename(dirDir)} ${path.resolve(dirDir)}`, `tune truthful ${path.basename(tuneDir)} ${path.resolve(tuneDir)}`],
    );
    assert.equal(events.filter((e) => e.type === 'run' && e.kind !== 'eval').length, 0, 'no new direction or tune run folder');
    assert.deepEqual(again[2]?.metrics, first[2]?.metrics);
    assert.equal(again[2]?.headline, first[2]?.headline);
    assert.equal(folders(dir, 'truthful').length, 1);
    // `from`: the eval takes the tune of the chosen folder; its direction is not needed, so it is not even loaded.
    const fromEvents: JobEvent[] = [];
    const chosen = await runConfig(config, ['check'], { file, from: tuneDir, emit: (e) => fromEvents.push(e) });
    assert.deepEqual(statuses(chosen), ['tune truthful:done (reused)', 'eval check:done']);
    assert.ok(logs(fromEvents).includes(`using tune truthful from ${path.basename(tuneDir)} (--from ${tuneDir})`));
    assert.deepEqual(chosen[1]?.metrics, first[2]?.metrics);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('computes again when an input changed (lr, the prompts CSV) or `fresh` is set, and says what changed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-ckpt-'));
    const { config, file } = load(dir, experiment(dir, 4));
    await runConfig(config, ['truthful'], { file });
    // Another learning rate: the direction is reused, the tune trains.
    const lr = load(dir, experiment(dir, 4).replace('lr_token 3e-3', 'lr_token 4e-3'));
    let events: JobEvent[] = [];
    let s = await runConfig(lr.config, ['truthful'], { file: lr.file, emit: (e) => events.push(e) });
    assert.deepEqual(statuses(s), ['direction honesty:done (reused)', 'tune truthful:done']);
    assert.equal(steps(events), 4);
    assert.ok(
      logs(events).some((m) => /^tune truthful: inputs changed since \S+ \(optimizer\); computing it again$/.test(m)),
      logs(events).join('\n'),
    );
    // One statement of the CSV edited: both the direction (its pairs) and the tune (its prompts) are computed again.
    const csv = path.join(dir, 'facts.csv');
    const lines = fs.readFileSync(csv, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('is even', 'is an even number');
    fs.writeFileSync(csv, lines.join('\n'));
    events = [];
    s = await runConfig(config, ['truthful'], { file, emit: (e) => events.push(e) });
    assert.deepEqual(statuses(s), ['direction honesty:done', 'tune truthful:done']);
    assert.equal(steps(events), 4);
    assert.ok(logs(events).some((m) => /^direction honesty: inputs changed since \S+ \(prompts\)/.test(m)));
    // Compared with the newest finished tune (the lr run): its optimizer, the CSV and the direction differ.
    assert.ok(
      logs(events).some((m) => /^tune truthful: inputs changed since \S+ \(optimizer, prompts, direction\)/.test(m)),
      logs(events).join('\n'),
    );
    // Unchanged now: reused; with `fresh`: computed again.
    events = [];
    s = await runConfig(config, ['truthful'], { file, emit: (e) => events.push(e) });
    assert.deepEqual(statuses(s), ['direction honesty:done (reused)', 'tune truthful:done (reused)']);
    events = [];
    s = await runConfig(config, ['truthful'], { file, fresh: true, emit: (e) => events.push(e) });
    assert.deepEqual(statuses(s), ['direction honesty:done', 'tune truthful:done']);
    assert.equal(steps(events), 4);
    assert.ok(!logs(events).some((m) => /^reusing /.test(m)));
    assert.equal(folders(dir, 'truthful').length, 4);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never reuses a tune folder that was cancelled, failed or left running', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-ckpt-'));
    const { config, file } = load(dir, experiment(dir, 4));
    // A cancelled tune: no checkpoint, and the next run trains.
    const ctl = new AbortController();
    await runConfig(config, ['truthful'], {
      file,
      signal: ctl.signal,
      emit: (e) => {
        if (e.type === 'step' && e.step === 1) ctl.abort();
      },
    }).catch(() => undefined);
    const [cancelled] = folders(dir, 'truthful') as [string];
    assert.equal(JSON.parse(fs.readFileSync(path.join(cancelled, 'status.json'), 'utf8')).status, 'cancelled');
    assert.ok(!fs.existsSync(path.join(cancelled, CHECKPOINT_TENSORS)), 'a cancelled tune writes no checkpoint');
    let events: JobEvent[] = [];
    await runConfig(config, ['truthful'], { file, emit: (e) => events.push(e) });
    assert.equal(steps(events), 4, 'trained, not reused');
    // A finished folder whose status says failed, or running (a killed process), is not reused either.
    const done = folders(dir, 'truthful').find((d) => d !== cancelled)!;
    for (const status of ['failed', 'running']) {
      const st = JSON.parse(fs.readFileSync(path.join(done, 'status.json'), 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(path.join(done, 'status.json'), JSON.stringify({ ...st, status }));
      for (const d of folders(dir, 'truthful').filter((x) => x !== done && x !== cancelled)) fs.rmSync(d, { recursive: true });
      events = [];
      const s = await runConfig(config, ['truthful'], { file, emit: (e) => events.push(e) });
      assert.equal(s[1]?.reusedFrom, undefined, status);
      assert.equal(steps(events), 4, `${status}: trained, not reused`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
