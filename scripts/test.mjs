// Runs every compiled test file (out/test/**/*.test.js) with node:test. Node 20's `--test DIR` would also run
// helpers under a `test` folder as if they were tests, so the files are listed explicitly.
// Usage: node scripts/test.mjs [substring ...]   (only files whose path contains one of the substrings; "webgpu"
// selects the webgpu section below)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
// "e2e" and "webgpu" name the sections below, not file substrings.
const substrings = filters.filter((f) => f !== 'e2e' && f !== 'webgpu');
const files =
  filters.length > 0 && substrings.length === 0
    ? []
    : collect('out/test')
        .filter((f) => substrings.length === 0 || substrings.some((s) => f.includes(s)))
        .sort();
if (files.length === 0 && (substrings.length > 0 || filters.length === 0)) {
  console.error('no test files found under out/test (run `npm run pretest` first)');
  process.exit(1);
}
const reporter = process.env.RTUNE_TEST_REPORTER ?? 'spec';
if (files.length > 0) {
  const r = spawnSync(process.execPath, ['--test', `--test-reporter=${reporter}`, ...files], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// WebGPU section: the engine's golden tests again with RTUNE_TEST_BACKEND=webgpu. (test/cli/backends.test.ts, in the
// main pass, runs a tune that trains 28 tensors and a demo section on webgpu against wasm itself, skipping where
// Dawn finds no adapter.) It runs in a full run and when a filter is "webgpu", where a Vulkan driver is installed (Linux; Dawn uses Metal or D3D12 on macOS and Windows).
// Without one it says it skipped; .ci/run installs lavapipe and sets RTUNE_REQUIRE_WEBGPU=1, so there it must run.
// RTUNE_WEBGPU_TESTS=0 skips it, =1 runs it regardless of detection.
const WEBGPU_FILES = [
  'out/test/engine/forward.test.js',
  'out/test/engine/models.test.js',
  'out/test/engine/stories260k.test.js',
  'out/test/engine/eval.test.js',
  'out/test/engine/webgpu.test.js',
  'out/test/engine/train/',
  'out/test/engine/method/directions.test.js',
  'out/test/engine/method/tune.test.js',
  'out/test/engine/method/tune-settings.test.js',
];
if (filters.length === 0 || filters.includes('webgpu')) {
  const required = process.env.RTUNE_REQUIRE_WEBGPU === '1' || process.env.RTUNE_WEBGPU_TESTS === '1';
  const icd = vulkanDriver();
  if (process.env.RTUNE_WEBGPU_TESTS === '0') console.log('webgpu tests: skipped (RTUNE_WEBGPU_TESTS=0)');
  else if (!icd && !required) console.log('webgpu tests: SKIPPED, no Vulkan driver found (install libvulkan1 and a driver, e.g. lavapipe: see .ci/run)');
  else {
    const files = collect('out/test')
      .filter((f) => WEBGPU_FILES.some((w) => f.startsWith(w)))
      .sort();
    console.log(`webgpu tests (${icd ?? 'driver not detected, required'}): ${files.length} files with RTUNE_TEST_BACKEND=webgpu`);
    const t0 = Date.now();
    const env = { ...process.env, RTUNE_TEST_BACKEND: 'webgpu', ...(required ? { RTUNE_REQUIRE_WEBGPU: '1' } : {}) };
    const r = spawnSync(process.execPath, ['--test', `--test-reporter=${reporter}`, ...files], { stdio: 'inherit', env });
    console.log(`webgpu tests: ${r.status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

/** The Vulkan ICD manifests found (or "metal"/"d3d12" off Linux), or undefined when Dawn would find no adapter driver. */
function vulkanDriver() {
  if (process.platform === 'darwin') return 'metal';
  if (process.platform === 'win32') return 'd3d12';
  const named = (process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES ?? '').split(':').filter((f) => f && existsSync(f));
  if (named.length > 0) return named[0];
  const lib = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].some((d) => existsSync(join(d, 'libvulkan.so.1')));
  if (!lib) return undefined;
  for (const d of ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d']) {
    if (!existsSync(d)) continue;
    const icds = readdirSync(d).filter((n) => n.endsWith('.json'));
    if (icds.length > 0) return `${d}: ${icds.join(', ')}`;
  }
  return undefined;
}

// The full run ends with the end-to-end test in a real VS Code (code-server; test/e2e/run.mjs): it packages the
// .vsix, installs code-server on first use (npm registry only) and needs apt chromium, libkrb5-dev and ripgrep.
// RTUNE_E2E=0 skips it; a filtered run never includes it unless a filter is "e2e".
if (process.env.RTUNE_E2E !== '0' && (filters.length === 0 || filters.includes('e2e'))) {
  const e = spawnSync(process.execPath, ['test/e2e/run.mjs'], { stdio: 'inherit' });
  process.exit(e.status ?? 1);
}
process.exit(0);
