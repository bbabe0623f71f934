/**
 * `rtune run` end to end on the built-in demo model: a .rtune file with direction, tune, eval and export
 * sections runs through the job runner and leaves complete run folders; tuning at several positions; a search
 * resumes after cancellation; a cancelled run is marked cancelled. Other data shapes: run-data.test.ts.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runConfig } from '../../job/runner';
import type { JobEvent } from '../../protocol/job';
import { experiment, load } from './run-experiment';

describe('rtune run (job runner)', () => {
  it('runs direction, tune, eval and export into complete run folders, and the tuned model lies less', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    const { config, file } = load(dir, experiment(dir, 40));
    const events: JobEvent[] = [];
    const summaries = await runConfig(config, [], { file, emit: (e) => events.push(e) });
    assert.deepEqual(
      summaries.map((s) => `${s.kind}:${s.status}`),
      ['direction:done', 'tune:done', 'eval:done', 'search:done', 'export:done', 'export:done'],
    );
    // Every section's run is announced when it opens and when it ends, in order, with its final status.
    const opened = events.filter((e): e is Extract<JobEvent, { type: 'run' }> => e.type === 'run').map((e) => e.run);
    const ended = events.filter((e): e is Extract<JobEvent, { type: 'runEnd' }> => e.type === 'runEnd');
    assert.deepEqual(
      ended.map((e) => e.run),
      opened,
    );
    assert.deepEqual(
      ended.map((e) => `${e.kind}:${e.status}`),
      summaries.map((s) => `${s.kind}:${s.status}`),
    );
    assert.ok(events.some((e) => e.type === 'heatmap') && events.filter((e) => e.type === 'step').length === 40);
    // The tune reports the cosine with the direction at every extracted layer x position, before and after.
    const cos = (when: string) =>
      events.find((e): e is Extract<JobEvent, { type: 'heatmap' }> => e.type === 'heatmap' && e.title.startsWith(`cosine with the direction ${when} tuning`));
    const before = cos('before');
    const after = cos('after');
    assert.ok(before && after, 'before and after heatmaps');
    assert.deepEqual(before.rows, after.rows);
    assert.equal(before.values.length, before.rows.length);
    assert.ok(before.values.flat().every((v) => Number.isFinite(v) && Math.abs(v) <= 1));
    const tuneEvents = events.filter((e): e is Extract<JobEvent, { type: 'step' }> => e.type === 'step');
    const tunedLayer = tuneEvents[0]!.layers[0]!;
    const row = before.rows.indexOf(tunedLayer);
    const col = before.columns.indexOf(String(-1));
    // mode in: the tuned layer's held-out cosine at the trained position rises.
    assert.ok(after.values[row]![col]! > before.values[row]![col]!, `cosine at layer ${tunedLayer}: ${before.values[row]![col]} -> ${after.values[row]![col]}`);
    for (const section of ['honesty', 'truthful', 'check']) {
      const runs = fs.readdirSync(path.join(dir, 'runs', section));
      assert.equal(runs.length, 1);
      const run = path.join(dir, 'runs', section, runs[0] as string);
      for (const f of ['config.json', 'events.jsonl', 'status.json', 'summary.json']) assert.ok(fs.existsSync(path.join(run, f)), `${section}/${f}`);
      assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'status.json'), 'utf8')).status, 'done');
      const lines = fs.readFileSync(path.join(run, 'events.jsonl'), 'utf8').trim().split('\n');
      assert.ok(lines.every((l) => typeof (JSON.parse(l) as { type: unknown }).type === 'string'));
    }
    const check = summaries[2]!;
    assert.match(check.headline, /ppl .* → .*95% CI/);
    const m = check.metrics!;
    // The contrast set's negative persona is the liar; tuned toward honest answers at the honesty direction it lies less.
    assert.ok(m['honestTuned']! > m['honestBase']! + 0.3, `honest rate ${m['honestBase']} -> ${m['honestTuned']}`);
    // Two exports to the same output: two timestamped folders, neither overwritten, and `latest` names the second.
    const exportsDir = path.join(dir, 'exports', 'release');
    const stamps = fs
      .readdirSync(exportsDir)
      .filter((d) => d !== 'latest')
      .sort();
    assert.equal(stamps.length, 2, stamps.join(', '));
    for (const d of stamps) assert.match(d, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?$/);
    const first = stamps.find((d) => fs.existsSync(path.join(exportsDir, d, 'model')))!;
    for (const f of ['model/model.safetensors', 'model/config.json', 'direction.safetensors', 'direction.gguf', 'summary.json'])
      assert.ok(fs.existsSync(path.join(exportsDir, first, f)), f);
    const latest = fs.readFileSync(path.join(exportsDir, 'latest'), 'utf8').trim();
    assert.ok(stamps.includes(latest) && latest !== first && fs.existsSync(path.join(exportsDir, latest, 'direction.safetensors')), `latest = ${latest}`);
    assert.ok(fs.lstatSync(path.join(exportsDir, 'latest')).isFile());
    // Every block-search trial carries a greedy sample generated with its tuned weights (at most 6 tokens).
    const trials = events.filter((e): e is Extract<JobEvent, { type: 'trial' }> => e.type === 'trial');
    assert.equal(trials.length, 3); // token [down] x projection {v}, {o}, {v, o}
    for (const t of trials) assert.ok(t.sample.length > 0 && t.sample.length < 80, JSON.stringify(t.sample));
  });

  it('tunes at several positions, each against the direction extracted there', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    const { config, file } = load(dir, experiment(dir, 6).replace('position -1', 'position [-1, 0]'));
    assert.deepEqual(config.tunes['truthful']?.positions, [-1, 0]);
    const events: JobEvent[] = [];
    const summaries = await runConfig(config, ['truthful'], { file, emit: (e) => events.push(e) });
    assert.deepEqual(
      summaries.map((s) => `${s.kind}:${s.status}`),
      ['direction:done', 'tune:done'],
      'the direction runs first as a prerequisite',
    );
    const steps = events.filter((e): e is Extract<JobEvent, { type: 'step' }> => e.type === 'step');
    assert.equal(steps.length, 6);
    assert.ok(steps.every((e) => Number.isFinite(e.projectionLoss) && e.cosine.every(Number.isFinite)));
    // Two positions with their own directions give a different loss than the first position alone.
    const one = load(dir, experiment(dir, 6));
    const ev1: JobEvent[] = [];
    await runConfig(one.config, ['truthful'], { file: one.file, emit: (e) => ev1.push(e) });
    const first1 = ev1.find((e): e is Extract<JobEvent, { type: 'step' }> => e.type === 'step')!;
    assert.notEqual(first1.projectionLoss, steps[0]!.projectionLoss);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a search cancelled after its first trial resumes from it: the finished trial is not run again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    const { config, file } = load(dir, experiment(dir, 6));
    const ctl = new AbortController();
    const first: JobEvent[] = [];
    await runConfig(config, ['blocks'], {
      file,
      signal: ctl.signal,
      emit: (e) => {
        first.push(e);
        if (e.type === 'trial') ctl.abort();
      },
    }).catch(() => undefined);
    const firstTrials = first.filter((e): e is Extract<JobEvent, { type: 'trial' }> => e.type === 'trial');
    assert.equal(firstTrials.length, 1);
    const events: JobEvent[] = [];
    const summaries = await runConfig(config, ['blocks'], { file, emit: (e) => events.push(e) });
    assert.equal(summaries.find((s) => s.kind === 'search')?.status, 'done');
    assert.ok(events.some((e) => e.type === 'log' && /resuming .*: 1 finished trial\(s\) are not run again/.test(e.message)));
    const trials = events.filter((e): e is Extract<JobEvent, { type: 'trial' }> => e.type === 'trial');
    const searchRun = events.find((e): e is Extract<JobEvent, { type: 'run' }> => e.type === 'run' && e.kind === 'search')!;
    assert.equal(trials.length, 3, 'the resumed trial is re-announced, two more run');
    assert.ok(trials.every((t) => t.run === searchRun.run));
    assert.deepEqual(trials[0]?.projectionBlocks, firstTrials[0]?.projectionBlocks);
    assert.equal(trials[0]?.finalTokenLoss, firstTrials[0]?.finalTokenLoss);
    // The resumed trial is the recorded one (same timing), not a rerun.
    assert.equal(trials[0]?.seconds, firstTrials[0]?.seconds);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a cancelled tuning run leaves a readable run folder marked cancelled', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    const { config, file } = load(dir, experiment(dir, 500));
    const ctl = new AbortController();
    let steps = 0;
    const summaries = await runConfig(config, ['honesty', 'truthful'], {
      file,
      signal: ctl.signal,
      emit: (e) => {
        if (e.type === 'step' && ++steps === 3) ctl.abort();
      },
    }).catch((e: unknown) => e);
    assert.ok(Array.isArray(summaries) ? summaries.some((s) => s.status === 'cancelled') : true);
    const run = path.join(dir, 'runs', 'truthful', fs.readdirSync(path.join(dir, 'runs', 'truthful'))[0] as string);
    assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'status.json'), 'utf8')).status, 'cancelled');
    assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'summary.json'), 'utf8')).status, 'cancelled');
    assert.ok(fs.readFileSync(path.join(run, 'events.jsonl'), 'utf8').trim().split('\n').length >= 3);
  });
});
