/** The `rtune` command as a user runs it: a child process, JSON on stdout, progress and errors on stderr, exit codes. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { missingShared, REPO_ROOT, sharedData } from '../helpers';

function rtuneWith(env: Record<string, string | undefined>, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtune.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function rtune(...args: string[]): { code: number; stdout: string; stderr: string } {
  return rtuneWith({ RTUNE_BACKEND: 'wasm' }, ...args);
}

/** The demo file with its data paths made absolute, its runs folder in `dir` and its prompt sets cut to `limit`. */
function demoExperiment(dir: string, limit?: number): string {
  const data = (f: string) => path.join(REPO_ROOT, 'examples', 'demo-model', 'data', f);
  let text = fs
    .readFileSync(path.join(REPO_ROOT, 'examples', 'demo.rtune'), 'utf8')
    .replace(/data "demo-model\/data\/([^"]+)"/g, (_m, f: string) => `data "${data(f)}"`)
    .replace('runs "runs"', `runs "${path.join(dir, 'runs')}"`);
  if (limit !== undefined) text = text.replace(/limit \d+/g, `limit ${limit}`);
  const file = path.join(dir, 'exp.rtune');
  fs.writeFileSync(file, text);
  return file;
}

/** The device of the model log line a `run --json` prints (`model demo: PATH on DEVICE`). */
function modelDevice(stdout: string): string | undefined {
  for (const line of stdout.trim().split('\n')) {
    const e = JSON.parse(line) as { type: string; message?: string };
    const m = e.type === 'log' ? /^model \S+: .* on (.*)$/.exec(e.message ?? '') : null;
    if (m) return m[1];
  }
  return undefined;
}

describe('rtune CLI', () => {
  it('perplexity --json prints the documented fields; windows and scored tokens are consistent', () => {
    const data = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-cli-')), 'text.txt');
    fs.writeFileSync(data, fs.readFileSync(path.join(REPO_ROOT, 'examples', 'demo-model', 'data', 'heldout.txt'), 'utf8').slice(0, 2000));
    const r = rtune('perplexity', '--model', 'demo', '--data', data, '--max-length', '64', '--stride', '32', '--batch', '3', '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['perplexity', 'tokens', 'scored_tokens', 'windows', 'max_length', 'stride', 'backend', 'device']) assert.ok(k in j, `missing ${k}`);
    assert.equal(j['backend'], 'wasm');
    assert.equal(j['scored_tokens'], (j['tokens'] as number) - 1);
    assert.equal(j['windows'], Math.ceil(((j['tokens'] as number) - 64) / 32) + 1);
    assert.ok((j['perplexity'] as number) > 1 && Number.isFinite(j['perplexity']));
    assert.equal((j['window_nll'] as number[]).length, j['windows']);
    assert.deepEqual(j['newlines'], { mode: 'lf', crlf: 0, cr: 0 });
    // The same text with CRLF line endings scores exactly like the LF file, and says so; --newlines raw keeps the \r.
    const crlf = path.join(path.dirname(data), 'crlf.txt');
    const lines = fs.readFileSync(data, 'utf8').split('\n').length - 1;
    fs.writeFileSync(crlf, fs.readFileSync(data, 'utf8').replace(/\n/g, '\r\n'));
    const c = rtune('perplexity', '--model', 'demo', '--data', crlf, '--max-length', '64', '--stride', '32', '--batch', '3', '--json');
    assert.equal(c.code, 0, c.stderr);
    const cj = JSON.parse(c.stdout) as Record<string, unknown>;
    assert.deepEqual([cj['perplexity'], cj['tokens'], cj['newlines']], [j['perplexity'], j['tokens'], { mode: 'lf', crlf: lines, cr: 0 }]);
    assert.match(c.stderr, new RegExp(`crlf\\.txt: read ${lines} CRLF line ending\\(s\\) as LF`));
    const raw = rtune('perplexity', '--model', 'demo', '--data', crlf, '--max-length', '64', '--stride', '32', '--batch', '3', '--newlines', 'raw', '--json');
    assert.equal(raw.code, 0, raw.stderr);
    const rj = JSON.parse(raw.stdout) as Record<string, unknown>;
    assert.deepEqual(rj['newlines'], { mode: 'raw', crlf: lines, cr: 0 });
    assert.ok(
      (rj['tokens'] as number) > (j['tokens'] as number) && rj['perplexity'] !== j['perplexity'],
      `raw: ${rj['tokens']} tokens, ppl ${rj['perplexity']}`,
    );
  });

  it('generate --json reproduces the stories260K golden continuation', { skip: missingShared('llama2c-stories260K') }, () => {
    const golden = JSON.parse(fs.readFileSync(sharedData('llama2c-stories260K', 'golden_numpy_reference.json'), 'utf8')) as {
      greedy_prompt_once_upon_a_time: { text: string };
    };
    const r = rtune(
      'generate',
      '--model',
      sharedData('llama2c-stories260K', 'stories260K.bin'),
      '--prompt',
      'Once upon a time',
      '--max-tokens',
      '60',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { text: string; tokens: number[] };
    assert.equal(j.text, golden.greedy_prompt_once_upon_a_time.text);
  });

  it('multi-threaded wasm starts and gives the same golden continuation', { skip: missingShared('llama2c-stories260K') }, () => {
    const golden = JSON.parse(fs.readFileSync(sharedData('llama2c-stories260K', 'golden_numpy_reference.json'), 'utf8')) as {
      greedy_prompt_once_upon_a_time: { text: string };
    };
    const r = rtune(
      'generate',
      '--model',
      sharedData('llama2c-stories260K', 'stories260K.bin'),
      '--prompt',
      'Once upon a time',
      '--max-tokens',
      '60',
      '--threads',
      '2',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { text: string; device: string };
    assert.match(j.device, /wasm simd, 2 threads/);
    assert.equal(j.text, golden.greedy_prompt_once_upon_a_time.text);
  });

  it('rtune extract runs only the direction sections of a file and prints a JSON summary', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-cli-'));
    demoExperiment(dir);
    const r = rtune('extract', path.join(dir, 'exp.rtune'), '--json');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; runs?: Array<{ kind: string; status: string }> });
    const summary = lines[lines.length - 1]!;
    assert.equal(summary.type, 'summary');
    assert.deepEqual(
      summary.runs?.map((x) => `${x.kind}:${x.status}`),
      ['direction:done'],
    );
    assert.ok(lines.some((l) => l.type === 'heatmap'));
    const bad = rtune('tune', path.join(dir, 'exp.rtune'), 'nope');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /nope: no tune section of that name \(have: honest\)/);
  });

  it('run and its shortcuts take --backend and RTUNE_BACKEND for model sections that say `backend auto`', () => {
    const file = demoExperiment(fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-cli-')), 8);
    // The demo model section says `backend auto`, which on this machine picks wasm unless told otherwise.
    let r = rtuneWith({ RTUNE_BACKEND: undefined }, 'extract', file, '--backend', 'cpu', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(modelDevice(r.stdout), 'CPU (pure JavaScript)');
    // --fresh: the direction just extracted on cpu would otherwise be reused (same inputs, same backend).
    r = rtuneWith({ RTUNE_BACKEND: 'cpu' }, 'run', file, 'honesty', '--fresh', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(modelDevice(r.stdout), 'CPU (pure JavaScript)');
    r = rtuneWith({ RTUNE_BACKEND: 'cpu' }, 'run', file, 'honesty', '--backend', 'wasm', '--threads', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(modelDevice(r.stdout) ?? '', /^CPU \(wasm.*, 1 thread(, native BLAS matmul)?\)$/);
    r = rtune('run', file, '--backend', 'quantum');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--backend must be auto or one of tensorflow, webgpu, wasm, cpu, found "quantum"/);
    r = rtuneWith({ RTUNE_BACKEND: 'quantum' }, 'extract', file);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /RTUNE_BACKEND must be auto or one of tensorflow, webgpu, wasm, cpu, found "quantum"/);
  });

  it('usage errors exit 2 and name the problem; failures exit 1 with the error on stderr', () => {
    let r = rtune('frobnicate');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    r = rtune('perplexity', '--data', 'x.txt');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--model PATH is required/);
    r = rtune('perplexity', '--model', 'demo', '--data', '/nonexistent/file.txt');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\/nonexistent\/file\.txt: file not found/);
    r = rtune('generate', '--model', '/nonexistent/model', '--prompt', 'hi');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/nonexistent\/model: model path not found/);
    r = rtune('perplexity', '--model', 'demo', '--data', path.join(REPO_ROOT, 'README.md'), '--max-length', '16', '--stride', '32');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--stride 32 must not exceed --max-length 16/);
    r = rtune('perplexity', '--model', 'demo', '--data', path.join(REPO_ROOT, 'README.md'), '--newlines', 'crlf');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--newlines crlf: use lf or raw/);
    r = rtune('generate', '--model', 'demo', '--prompt', 'x', '--backend', 'quantum');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--backend must be auto or one of tensorflow, webgpu, wasm, cpu/);
  });
});
