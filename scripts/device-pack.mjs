// Packs what scripts/device-check.sh needs on a lent GPU machine, which has no network and no node_modules, into
// `.device/` (ignored by git; the device tool carries it, limit 64 MiB): the packaged extension's runtime (the
// production bundles with the tfjs packages' Node entry files, wasm binaries and Dawn for linux-x64, staged by
// scripts/package.mjs), the GPU benchmark bundled beside it (scripts/device-bench.ts), the PyTorch side
// (scripts/device/torch_bench.py), stories260K for a correctness line, and Debian's Vulkan loader in case the
// machine has an NVIDIA Vulkan driver but no loader.
//
// Usage: node scripts/device-pack.mjs   then, with the device tool: carry [".device"], run `bash scripts/device-check.sh`
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, '.device');
fs.rmSync(out, { recursive: true, force: true });
const stage = path.join(out, 'stage');
execFileSync(process.execPath, [path.join(root, 'scripts', 'package.mjs'), '--no-vsix', '--target', 'linux-x64', '--stage', stage], {
  cwd: root,
  stdio: 'inherit',
});
await esbuild.build({
  entryPoints: [path.join(root, 'scripts', 'device-bench.ts')],
  outfile: path.join(stage, 'dist', 'device-bench.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['@tensorflow/*', 'webgpu'],
  logLevel: 'warning',
});
const data = path.join(out, 'data');
fs.mkdirSync(data, { recursive: true });
const stories = path.join(root, '..', 'shared', 'data', 'llama2c-stories260K', 'stories260K.bin');
if (fs.existsSync(stories)) fs.copyFileSync(stories, path.join(data, 'stories260K.bin'));
for (const dir of ['/usr/lib/x86_64-linux-gnu']) {
  const lib = path.join(dir, 'libvulkan.so.1');
  if (fs.existsSync(lib)) {
    fs.mkdirSync(path.join(out, 'lib'), { recursive: true });
    fs.copyFileSync(fs.realpathSync(lib), path.join(out, 'lib', 'libvulkan.so.1'));
  }
}
// The stage's examples, docs and webviews are not needed on the device.
for (const rel of ['examples', 'docs', 'syntaxes', path.join('dist', 'webview')]) fs.rmSync(path.join(stage, rel), { recursive: true, force: true });
const size = (p) => (fs.statSync(p).isDirectory() ? fs.readdirSync(p).reduce((a, f) => a + size(path.join(p, f)), 0) : fs.statSync(p).size);
console.log(`.device: ${(size(out) / 2 ** 20).toFixed(1)} MiB (the device tool carries at most 64 MiB)`);
