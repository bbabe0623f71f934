/**
 * `rtune export FILE SECTION --from RUN_FOLDER` as a user runs it (a child process): the export uses the tune
 * checkpoint of the chosen run folder without training, and a run folder of another model, an unfinished one or
 * one that is not a tune's is refused with a message naming it. A run killed (SIGKILL) while tuning: the next run
 * reuses the direction that finished and trains the tune again (the killed folder is never reused).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors } from '../../engine/io/safetensors';
import { CHECKPOINT_TENSORS } from '../../job/checkpoint';
import type { RunSummary } from '../../protocol/lsp';
import { REPO_ROOT } from '../helpers';
import { experiment, load } from '../job/run-experiment';

function rtune(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtune.js'), ...args, '--threads', '1'], {
    encoding: 'utf8',
    env: { ...process.env, RTUNE_BACKEND: 'wasm' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function jsonLines(stdout: string): Array<{ type: string; runs?: RunSummary[] }> {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; runs?: RunSummary[] });
}

describe('rtune export --from RUN_FOLDER', () => {
  it('exports the chosen tune run without training, and refuses a run folder of another model', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-from-'));
    const { file } = load(dir, experiment(dir, 4));
    const tuned = rtune('tune', file, 'truthful', '--json');
    assert.equal(tuned.code, 0, tuned.stderr);
    const tuneDir = path.join(dir, 'runs', 'truthful', fs.readdirSync(path.join(dir, 'runs', 'truthful'))[0] as string);

    const r = rtune('export', file, 'release', '--from', tuneDir, '--json');
    assert.equal(r.code, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    assert.equal(lines.filter((e) => e.type === 'step').length, 0, 'no training');
    const runs = lines.find((e) => e.type === 'summary')?.runs ?? [];
    assert.deepEqual(
      runs.map((s) => `${s.kind} ${s.section}:${s.status}`),
      ['tune truthful:done', 'direction honesty:done', 'export release:done'],
    );
    assert.equal(runs[0]?.reusedFrom, tuneDir);
    assert.match(runs[0]!.headline, /^reusing tune truthful from /);
    // The exported changed tensors are the checkpoint's, bit for bit.
    const exportsDir = path.join(dir, 'exports', 'release');
    const latest = fs.readFileSync(path.join(exportsDir, 'latest'), 'utf8').trim();
    const exported = readSafetensors(path.join(exportsDir, latest, 'model', 'model.safetensors')).tensors;
    const ckpt = readSafetensors(path.join(tuneDir, CHECKPOINT_TENSORS)).tensors;
    assert.deepEqual([...exported.keys()].sort(), [...ckpt.keys()].sort());
    for (const [name, t] of ckpt) assert.deepEqual(Buffer.from(exported.get(name)!.data.buffer), Buffer.from(t.data.buffer), name);

    // The same architecture with another config.json is another model: its tune run is refused.
    const other = path.join(dir, 'other-model');
    fs.mkdirSync(other);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'])
      fs.copyFileSync(path.join(REPO_ROOT, 'examples', 'demo-model', f), path.join(other, f));
    const cfg = JSON.parse(fs.readFileSync(path.join(other, 'config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(other, 'config.json'), JSON.stringify({ ...cfg, _name_or_path: 'other' }));
    const otherFile = path.join(dir, 'other.rtune');
    fs.writeFileSync(otherFile, experiment(dir, 2).replace('path builtin:demo', 'path "other-model"').replace('runs "runs"', 'runs "runs-other"'));
    assert.equal(rtune('tune', otherFile, 'truthful', '--json').code, 0);
    const otherTune = path.join(dir, 'runs-other', 'truthful', fs.readdirSync(path.join(dir, 'runs-other', 'truthful'))[0] as string);
    const refused = rtune('export', file, 'release', '--from', otherTune);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`--from ${otherTune.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: that run tuned another model`));
    // A direction's folder is not a tune's; an eval-less, export-less section list has no tune to take.
    const dirDir = path.join(dir, 'runs', 'honesty', fs.readdirSync(path.join(dir, 'runs', 'honesty'))[0] as string);
    assert.match(rtune('export', file, 'release', '--from', dirDir).stderr, /no checkpoint\.json there; give the run folder of a finished tune/);
    assert.match(rtune('run', file, 'truthful', '--from', tuneDir).stderr, /--from gives the tune of eval and export sections; truthful is not one/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('after a SIGKILL during tuning, the next run reuses the finished direction and trains the tune', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-kill-'));
    const { file } = load(dir, experiment(dir, 30));
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtune.js'), 'tune', file, 'truthful', '--json', '--threads', '1'], {
      env: { ...process.env, RTUNE_BACKEND: 'wasm' },
    });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (/"type":"step"/.test(buf)) child.kill('SIGKILL');
    });
    await new Promise((resolve) => child.on('exit', resolve));
    const killed = path.join(dir, 'runs', 'truthful', fs.readdirSync(path.join(dir, 'runs', 'truthful'))[0] as string);
    assert.equal(JSON.parse(fs.readFileSync(path.join(killed, 'status.json'), 'utf8')).status, 'running', 'what a killed process leaves');
    // The same file again: the killed folder (same inputs) is not a finished run, so the tune trains.
    const r = rtune('tune', file, 'truthful', '--json');
    assert.equal(r.code, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    assert.equal(lines.filter((e) => e.type === 'step').length, 30, 'the tune trained');
    const runs = lines.find((e) => e.type === 'summary')?.runs ?? [];
    assert.match(runs[0]?.headline ?? '', /^reusing direction honesty from /);
    assert.equal(runs[1]?.reusedFrom, undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
