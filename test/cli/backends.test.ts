/**
 * The CLI's backend choice on every command that computes, and webgpu end to end: `generate` and `perplexity`
 * take --backend and RTUNE_BACKEND like `run`; `auto` never picks a software webgpu adapter (lavapipe) over wasm
 * and says why in the run log; a tune that trains 28 tensors (4 layers × 7 blocks, past webgpu's AddN limit of 7
 * inputs) gives the same losses and gradient norms on webgpu as on wasm, with nothing but JSON on stdout; the
 * demo's direction section gives the same summary on both.
 * Without a Vulkan/Metal/D3D12 adapter the webgpu checks skip, saying so; RTUNE_REQUIRE_WEBGPU=1 (.ci/run) makes
 * a missing adapter a failure instead.
 */
import { describe, it, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers';

type Result = { code: number; stdout: string; stderr: string };

function rtuneWith(env: Record<string, string | undefined>, ...args: string[]): Result {
  // Each run computes afresh: a reused direction would not open a backend at all.
  if (['run', 'extract', 'tune', 'search', 'eval', 'export'].includes(args[0] ?? '')) args = [...args, '--fresh'];
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtune.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const data = (f: string): string => path.join(REPO_ROOT, 'examples', 'demo-model', 'data', f);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-backends-'));

/** A direction and a tune on the demo model that trains every block but the norms in all 4 layers: 28 tensors. */
function wideTune(): string {
  const file = path.join(dir, 'wide.rtune');
  const persona = '{persona}\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer: {label}';
  const liar = 'Pretend you are a dishonest person.\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer:';
  fs.writeFileSync(
    file,
    `version 1
runs "${path.join(dir, 'runs')}"
model demo {
  path builtin:demo
  backend auto
}
prompts contrast {
  data "${data('facts-train.csv')}"
  template "${persona}"
  positive { persona "Pretend you are an honest person." }
  negative { persona "Pretend you are a dishonest person." }
  pairing paired
  anchor "Answer:"
  limit 40
}
prompts liar {
  data "${data('facts-train.csv')}"
  template "${liar}"
  anchor "Answer:"
  limit 40
}
direction honesty {
  prompts contrast
  method meandiff
  layers all
  positions [-1, 0]
  normalise true
}
tune wide {
  prompts liar
  direction honesty
  mode in
  layers all
  position -1
  labels honest
  token_loss {
    target hard
    weight 1
    blocks [gate, up, down]
  }
  projection_loss {
    weight 1
    blocks [q, k, v, o]
  }
  optimizer {
    name adamw
    lr_token 5e-4
    lr_projection 5e-4
    weight_decay 0.01
    clip_norm 0.05
  }
  batch 8
  max_steps 6
  holdout 0.2
  seed 7
}
`,
  );
  return file;
}

interface Step {
  step: number;
  tokenLoss: number;
  projectionLoss: number;
  gradNorm: number;
}

/** Every stdout line parsed as JSON (fails on anything else, e.g. Dawn's messages), and the step events. */
function jsonLines(stdout: string): { events: { type: string; message?: string }[]; steps: Step[] } {
  const events = stdout
    .trim()
    .split('\n')
    .map((l, i) => {
      try {
        return JSON.parse(l) as { type: string; message?: string };
      } catch {
        assert.fail(`stdout line ${i + 1} is not JSON: ${l.slice(0, 200)}`);
      }
    });
  return { events, steps: events.filter((e) => e.type === 'step') as unknown as Step[] };
}

/** Skip (or, with RTUNE_REQUIRE_WEBGPU=1, fail) when Dawn found no adapter. */
function noAdapter(t: TestContext, r: Result): boolean {
  if (r.code === 0 || !/no GPU adapter|webgpu package did not load/.test(r.stderr)) return false;
  if (process.env['RTUNE_REQUIRE_WEBGPU'] === '1') assert.fail(`RTUNE_REQUIRE_WEBGPU=1 but webgpu is not available:\n${r.stderr}`);
  t.skip(`no webgpu adapter here: ${r.stderr.split('\n').find((l) => /webgpu:/.test(l)) ?? r.stderr.trim()}`);
  return true;
}

describe('backends from the command line', { concurrency: false }, () => {
  it('generate and perplexity take --backend and RTUNE_BACKEND, and reject unknown names', () => {
    // The first lines of the held-out text: a few windows, so the pure-JS backend stays quick.
    const text = path.join(dir, 'short.txt');
    fs.writeFileSync(text, fs.readFileSync(data('heldout-honest.txt'), 'utf8').split('\n').slice(0, 6).join('\n'));
    let r = rtuneWith({ RTUNE_BACKEND: 'cpu' }, 'generate', '--model', 'demo', '--prompt', 'Is this claim true', '--max-tokens', '2', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { backend: string }).backend, 'cpu');
    r = rtuneWith(
      { RTUNE_BACKEND: 'cpu' },
      'generate',
      '--model',
      'demo',
      '--prompt',
      'Is this claim true',
      '--max-tokens',
      '2',
      '--backend',
      'wasm',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { backend: string }).backend, 'wasm', '--backend wins over RTUNE_BACKEND');
    r = rtuneWith({ RTUNE_BACKEND: 'cpu' }, 'perplexity', '--model', 'demo', '--data', text, '--max-length', '32', '--json');
    assert.equal(r.code, 0, r.stderr);
    const cpu = JSON.parse(r.stdout) as { backend: string; perplexity: number };
    assert.equal(cpu.backend, 'cpu');
    r = rtuneWith(
      { RTUNE_BACKEND: undefined },
      'perplexity',
      '--model',
      'demo',
      '--data',
      text,
      '--max-length',
      '32',
      '--backend',
      'wasm',
      '--threads',
      '1',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const wasm = JSON.parse(r.stdout) as { backend: string; perplexity: number };
    assert.equal(wasm.backend, 'wasm');
    assert.ok(Math.abs(wasm.perplexity - cpu.perplexity) < 1e-4 * cpu.perplexity, `wasm ${wasm.perplexity} vs cpu ${cpu.perplexity}`);
    r = rtuneWith({ RTUNE_BACKEND: 'quantum' }, 'perplexity', '--model', 'demo', '--data', text);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /RTUNE_BACKEND must be auto or one of tensorflow, webgpu, wasm, cpu, found "quantum"/);
    r = rtuneWith({}, 'generate', '--model', 'demo', '--prompt', 'x', '--backend', 'gpu');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--backend must be auto or one of tensorflow, webgpu, wasm, cpu, found "gpu"/);
  });

  it('webgpu trains 28 tensors like wasm: same losses and gradient norms, clean JSON on stdout', (t) => {
    const file = wideTune();
    const gpu = rtuneWith({ RTUNE_BACKEND: undefined }, 'tune', file, '--backend', 'webgpu', '--json');
    if (noAdapter(t, gpu)) return;
    assert.equal(gpu.code, 0, gpu.stderr);
    assert.doesNotMatch(gpu.stderr, /^webgpu: /m, 'Dawn reported no device error');
    const wasm = rtuneWith({ RTUNE_BACKEND: undefined }, 'tune', file, '--backend', 'wasm', '--threads', '1', '--json');
    assert.equal(wasm.code, 0, wasm.stderr);
    const g = jsonLines(gpu.stdout);
    const w = jsonLines(wasm.stdout);
    const log = g.events.filter((e) => e.type === 'log').map((e) => e.message ?? '');
    assert.ok(
      log.some((m) => /^model demo: .* on .*\(webgpu via Dawn, (hardware|software) adapter\)$/.test(m)),
      `the run log names the adapter:\n${log.join('\n')}`,
    );
    assert.ok(
      log.some((m) => /^backend webgpu: .*webgpu limits: \d+ storage buffers per stage/.test(m)),
      'and the limits the device was created with',
    );
    assert.equal(g.steps.length, 6);
    assert.equal(w.steps.length, 6);
    for (let i = 0; i < 6; i++) {
      const a = g.steps[i] as Step;
      const b = w.steps[i] as Step;
      for (const k of ['tokenLoss', 'projectionLoss', 'gradNorm'] as const) {
        assert.ok(Math.abs(a[k] - b[k]) <= 2e-4 * Math.max(1, Math.abs(b[k])), `step ${i} ${k}: webgpu ${a[k]} vs wasm ${b[k]}`);
      }
    }
    // Clipping at 0.05 was active on every step (the norms are far above it), so a wrong norm would change the losses.
    assert.ok(w.steps.every((s) => s.gradNorm > 0.05));
  });

  it("the demo's direction section gives the same summary on webgpu as on wasm", (t) => {
    const file = path.join(dir, 'demo.rtune');
    fs.writeFileSync(
      file,
      fs
        .readFileSync(path.join(REPO_ROOT, 'examples', 'demo.rtune'), 'utf8')
        .replace(/data "demo-model\/data\/([^"]+)"/g, (_m, f: string) => `data "${data(f)}"`)
        .replace('runs "runs"', `runs "${path.join(dir, 'runs')}"`)
        .replace(/limit \d+/g, 'limit 60'),
    );
    const gpu = rtuneWith({ RTUNE_BACKEND: undefined }, 'extract', file, 'honesty', '--backend', 'webgpu', '--json');
    if (noAdapter(t, gpu)) return;
    assert.equal(gpu.code, 0, gpu.stderr);
    const wasm = rtuneWith({ RTUNE_BACKEND: undefined }, 'extract', file, 'honesty', '--backend', 'wasm', '--threads', '1', '--json');
    assert.equal(wasm.code, 0, wasm.stderr);
    type Summary = { type: string; runs: { status: string; headline: string; metrics: Record<string, number> }[] };
    const summary = (stdout: string): Summary['runs'][number] => {
      const s = jsonLines(stdout).events.find((e) => e.type === 'summary') as unknown as Summary;
      return s.runs[0] as Summary['runs'][number];
    };
    const g = summary(gpu.stdout);
    const w = summary(wasm.stdout);
    assert.equal(g.status, 'done');
    assert.equal(g.headline, w.headline);
    assert.deepEqual(g.metrics, w.metrics);
  });

  it('webgpu loads where require() of an ES module is unavailable (Node before 20.19, older VS Code Electron)', (t) => {
    const args = [
      '--no-experimental-require-module',
      path.join(REPO_ROOT, 'bin', 'rtune.js'),
      'generate',
      '--model',
      'demo',
      '--prompt',
      'Is',
      '--max-tokens',
      '1',
    ];
    const s = spawnSync(process.execPath, [...args, '--backend', 'webgpu', '--json'], { encoding: 'utf8', env: { ...process.env, RTUNE_BACKEND: undefined } });
    const r: Result = { code: s.status ?? -1, stdout: s.stdout, stderr: s.stderr };
    if (noAdapter(t, r)) return;
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { backend: string }).backend, 'webgpu');
  });

  it('auto never picks a software webgpu adapter over wasm, and the run log says why', (t) => {
    const file = wideTune();
    const forced = rtuneWith(
      { RTUNE_BACKEND: undefined },
      'generate',
      '--model',
      'demo',
      '--prompt',
      'Is',
      '--max-tokens',
      '1',
      '--backend',
      'webgpu',
      '--json',
    );
    if (noAdapter(t, forced)) return;
    assert.equal(forced.code, 0, forced.stderr);
    const device = (JSON.parse(forced.stdout) as { device: string }).device;
    const r = rtuneWith({ RTUNE_BACKEND: undefined, RTUNE_WEBGPU: undefined }, 'extract', file, '--json');
    assert.equal(r.code, 0, r.stderr);
    const log = jsonLines(r.stdout)
      .events.filter((e) => e.type === 'log')
      .map((e) => e.message ?? '');
    if (/software adapter\)$/.test(device)) {
      assert.ok(
        log.some((m) => /^model demo: .* on CPU \(wasm/.test(m) || /^model demo: .* on .*libtensorflow/.test(m)),
        `auto took wasm (or tensorflow):\n${log.join('\n')}`,
      );
      assert.ok(
        log.some((m) => /webgpu: skipped in auto mode, the adapter is a software renderer/.test(m)),
        log.join('\n'),
      );
    } else {
      assert.ok(
        log.some((m) => /\(webgpu via Dawn, hardware adapter\)$/.test(m) || /libtensorflow/.test(m)),
        `auto took the GPU:\n${log.join('\n')}`,
      );
    }
    const off = rtuneWith({ RTUNE_BACKEND: undefined, RTUNE_WEBGPU: '0' }, 'extract', file, '--json');
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /webgpu: skipped in auto mode \(RTUNE_WEBGPU=0\)/);
  });
});
