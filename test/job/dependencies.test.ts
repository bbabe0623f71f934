/**
 * Honest dependencies and cancels in `runConfig` (real runs on the demo model): a tune that diverges fails, the
 * sections that need it are skipped with the reason (never an eval on base weights or an export of 0 tensors),
 * independent ones still run; a search with no candidates fails alone; an eval cancelled during its tuned
 * perplexity pass stops within a batch and keeps the base perplexity it finished.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readRunState } from '../../common/run-status';
import { runConfig } from '../../job/runner';
import type { JobEvent } from '../../protocol/job';
import { experiment, load } from './run-experiment';

function runDirs(root: string): string[] {
  const out: string[] = [];
  for (const sec of fs.readdirSync(root)) for (const r of fs.readdirSync(path.join(root, sec))) out.push(path.join(root, sec, r));
  return out;
}

describe('honest dependencies', () => {
  it('a diverged tune fails; its eval, search and export are skipped with the reason; an independent export runs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-deps-'));
    // Plain SGD at lr 1 with huge loss weights and no clipping: the first update overflows, the NaN guard stops it.
    const text = experiment(dir, 6)
      .replace('lr_token 3e-3', 'name sgd\n    clip_norm 0\n    lr_token 1')
      .replace('lr_projection 3e-3', 'lr_projection 1')
      .replace(/weight 1\n/g, 'weight 1e30\n');
    const { config, file } = load(dir, text);
    const events: JobEvent[] = [];
    const summaries = await runConfig(config, [], { file, emit: (e) => events.push(e) });
    const by = Object.fromEntries(summaries.map((s) => [`${s.kind} ${s.section}`, s]));
    assert.deepEqual(
      summaries.map((s) => `${s.kind} ${s.section}: ${s.status}`),
      ['direction honesty: done', 'tune truthful: failed', 'eval check: skipped', 'search blocks: skipped', 'export release: skipped', 'export again: done'],
    );
    assert.match(by['tune truthful']?.headline ?? '', /gradient norm is|loss is/);
    for (const k of ['eval check', 'search blocks', 'export release']) assert.equal(by[k]?.headline, 'skipped: its prerequisite tune truthful failed');
    // Each skipped section has its own folder saying so, and wrote nothing else.
    const skipped = events.filter((e): e is Extract<JobEvent, { type: 'run' }> => e.type === 'run' && ['eval', 'search'].includes(e.kind));
    assert.equal(skipped.length, 2);
    for (const r of skipped) {
      assert.equal(readRunState(r.dir).status, 'skipped');
      assert.deepEqual(fs.readdirSync(r.dir).sort(), ['config.json', 'events.jsonl', 'status.json', 'summary.json']);
    }
    assert.ok(!events.some((e) => e.type === 'progress' && e.job === 'perplexity'), 'no eval ran on the base weights');
    for (const d of runDirs(path.join(dir, 'exports'))) {
      if (d.endsWith('latest')) continue;
      const st = readRunState(d);
      assert.ok(st.status === 'done' || (st.status === 'skipped' && !fs.existsSync(path.join(d, 'model'))), `${d}: ${st.status}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a search with no candidates fails alone: the sections after it still run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-deps-'));
    const loaded = load(dir, experiment(dir, 4));
    // Set on the loaded config, as the runner must cope whatever the editor checks beforehand.
    const blocks = { ...(loaded.config.searches['blocks'] as NonNullable<(typeof loaded.config.searches)[string]>), tokenBlocks: [], projectionBlocks: [] };
    const config = { ...loaded.config, searches: { ...loaded.config.searches, blocks } };
    const file = loaded.file;
    const summaries = await runConfig(config, ['blocks', 'again'], { file });
    assert.deepEqual(
      summaries.map((s) => `${s.kind} ${s.section}: ${s.status}`),
      ['direction honesty: done', 'tune truthful: done', 'search blocks: failed', 'export again: done'],
    );
    assert.match(summaries[2]?.headline ?? '', /^failed: block search: no candidates/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('cancel within one batch', () => {
  it('an eval cancelled during its tuned perplexity pass keeps the base perplexity, status cancelled', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-cancel-'));
    const { config, file } = load(dir, experiment(dir, 4));
    const ctl = new AbortController();
    let tunedWindows = 0;
    let after = 0;
    const summaries = await runConfig(config, ['check'], {
      file,
      signal: ctl.signal,
      emit: (e) => {
        if (e.type === 'progress' && e.job === 'perplexity' && /^tuned/.test(e.message ?? '')) {
          if (ctl.signal.aborted) after++;
          else if (++tunedWindows === 1) ctl.abort();
        }
      },
    });
    assert.equal(after, 0, 'no perplexity batch ran after the cancel');
    const ev = summaries.find((s) => s.kind === 'eval');
    assert.equal(ev?.status, 'cancelled');
    assert.match(ev?.headline ?? '', /^cancelled after perplexity: pplBase \d/);
    const runs = path.join(dir, 'runs', 'check');
    const run = path.join(runs, fs.readdirSync(runs)[0] as string);
    assert.equal(readRunState(run).status, 'cancelled');
    const result = JSON.parse(fs.readFileSync(path.join(run, 'result.json'), 'utf8')) as { perplexity?: { base?: number; tuned?: number } };
    assert.ok(Number.isFinite(result.perplexity?.base), 'the finished base pass is kept');
    assert.equal(result.perplexity?.tuned, undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an export cancelled as it starts writes no model/ and leaves no temp files; its folder reads cancelled', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-cancel-'));
    const { config, file } = load(dir, experiment(dir, 4));
    const ctl = new AbortController();
    const summaries = await runConfig(config, ['release'], {
      file,
      signal: ctl.signal,
      emit: (e) => {
        if (e.type === 'run' && e.kind === 'export') ctl.abort();
      },
    });
    assert.deepEqual(
      summaries.map((s) => `${s.kind} ${s.section}: ${s.status}`),
      ['direction honesty: done', 'tune truthful: done', 'export release: cancelled'],
    );
    const exports = path.join(dir, 'exports', 'release');
    const [run] = fs.readdirSync(exports).filter((n) => n !== 'latest');
    const runDir = path.join(exports, run as string);
    assert.equal(readRunState(runDir).status, 'cancelled');
    assert.deepEqual(fs.readdirSync(runDir).sort(), ['config.json', 'events.jsonl', 'status.json', 'summary.json']);
    assert.ok(!fs.existsSync(path.join(exports, 'latest')), 'latest names finished exports only');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
