// Builds the .vsix: `npm run package` → rtune-<version>.vsix in the repository root.
//
// The extension's bundles (dist/*.js) carry all our code and the JS libraries; what they load at run time from
// node_modules is TensorFlow.js (tfjs backends find their .wasm files beside their own entry file, and all of them
// must share one tfjs-core). So we stage a clean folder with the manifest, the bundles, the grammar, the built-in
// demo model and example, and `dist/node_modules/` holding only the Node entry files of the @tensorflow packages
// (plus the small packages they require), and run `vsce package --no-dependencies` there. vsce skips only the
// top-level node_modules, and Node resolves `require('@tensorflow/tfjs')` from dist/worker.js to dist/node_modules.
// WebGPU ships too: the `webgpu` package's entry file and Dawn's prebuilt binary (dist/<platform>/dawn.node, Dawn's
// only file; it dlopens Vulkan, Metal or D3D12 at run time), so a user with a GPU gets it without a checkout.
// @tensorflow/tfjs-node-gpu is not shipped (CUDA; see README "GPU backends", `rtune.workerPath`).
//
// Options:
//   --out FILE        the .vsix (default rtune-<version>.vsix)
//   --target T        a VS Code target (linux-x64, linux-arm64, darwin-x64, darwin-arm64, win32-x64, win32-arm64): ship
//                     that platform's Dawn binary and mark the .vsix for it (vsce --target). `all`: every binary the
//                     webgpu package provides, in one universal .vsix. Default: this machine's binary only, in an
//                     untargeted .vsix (other platforms fall back to wasm, and the job log says why).
//   --stage DIR       stage into DIR (emptied first) instead of .package/rtune
//   --no-build        stage the bundles already in dist/ (`npm run build`) instead of building production ones
//   --no-vsix         stop after staging (a test runs the staged worker as the packaged extension would)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const stage = path.resolve(arg('--stage') ?? path.join(root, '.package', 'rtune'));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const outFile = path.join(root, arg('--out') ?? `rtune-${pkg.version}.vsix`);
const target = arg('--target');

/** webgpu's binary folder (dist/<name>) for a VS Code target; macOS has one universal binary. */
const dawnDir = (t) => (t.startsWith('darwin-') ? 'darwin-universal' : t);
const VSCODE_TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];
if (target !== undefined && target !== 'all' && !VSCODE_TARGETS.includes(target)) {
  console.error(`--target ${target}: use one of ${VSCODE_TARGETS.join(', ')} or all`);
  process.exit(2);
}

if (!process.argv.includes('--no-build')) execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--production'], { cwd: root, stdio: 'inherit' });

fs.rmSync(arg('--stage') === undefined ? path.join(root, '.package') : stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });

const copy = (rel, to = rel) => {
  const src = path.join(root, rel);
  const dst = path.join(stage, to);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.cpSync(src, dst, { recursive: true, filter: (f) => !f.endsWith('.map') });
};

// Manifest without the development fields.
const manifest = { ...pkg };
for (const k of ['devDependencies', 'dependencies', 'optionalDependencies', 'scripts', 'bin', 'allowScripts']) delete manifest[k];
fs.writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

for (const f of ['dist/extension.js', 'dist/server.js', 'dist/worker.js', 'dist/webview', 'syntaxes', 'language-configuration.json', 'README.md', 'LICENSE', 'docs/language.md', 'examples/demo.rtune', 'examples/data', 'examples/demo-model']) copy(f);

// Runtime packages: start from what the worker bundle requires, follow require() calls in each package's entry.
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const optional = new Set(['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'vscode']);
const requiresIn = (file) => [...fs.readFileSync(file, 'utf8').matchAll(/require\(\s*['"]([^'"./][^'"]*)['"]\s*\)/g)].map((m) => m[1]);
const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

function findPackageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const cand = path.join(dir, 'node_modules', name);
    // The real path: require.resolve answers with one, and node_modules may be a symlink (a git worktree's).
    if (fs.existsSync(path.join(cand, 'package.json'))) return fs.realpathSync(cand);
    if (path.dirname(dir) === dir) return undefined;
  }
}

const shipped = new Map(); // name -> source dir
const queue = [...new Set(requiresIn(path.join(root, 'dist', 'worker.js')).map(packageName))].map((name) => ({ name, from: root }));
while (queue.length > 0) {
  const { name, from } = queue.shift();
  if (builtins.has(name) || optional.has(name) || shipped.has(name)) continue;
  const dir = findPackageDir(name, from);
  if (!dir) continue; // a require() inside a string or an optional branch (e.g. seedrandom's 'xor4096')
  shipped.set(name, dir);
  const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const dst = path.join(stage, 'dist', 'node_modules', name);
  if (name === 'webgpu') {
    shipWebgpu(dir, dst, pj);
  } else if (name.startsWith('@tensorflow/')) {
    // Only the Node entry file and, for the wasm backend, its .wasm binaries.
    const main = createRequire(path.join(dir, 'package.json')).resolve(dir);
    fs.mkdirSync(dst, { recursive: true });
    fs.writeFileSync(path.join(dst, 'package.json'), JSON.stringify({ name: pj.name, version: pj.version, license: pj.license, main: path.relative(dir, main) }, null, 2));
    fs.mkdirSync(path.join(dst, path.dirname(path.relative(dir, main))), { recursive: true });
    fs.copyFileSync(main, path.join(dst, path.relative(dir, main)));
    for (const f of fs.readdirSync(path.dirname(main))) {
      if (f.endsWith('.wasm')) fs.copyFileSync(path.join(path.dirname(main), f), path.join(dst, path.relative(dir, path.dirname(main)), f));
    }
    for (const lic of ['LICENSE', 'LICENSE.txt']) if (fs.existsSync(path.join(dir, lic))) fs.copyFileSync(path.join(dir, lic), path.join(dst, lic));
    for (const r of requiresIn(main)) queue.push({ name: packageName(r), from: dir });
  } else {
    fs.cpSync(dir, dst, { recursive: true, filter: (f) => !f.endsWith('.map') });
    for (const d of Object.keys(pj.dependencies ?? {})) if (!d.startsWith('@types/')) queue.push({ name: d, from: dir });
  }
}

/**
 * The webgpu package: its entry (index.js, ES module: Node >= 20.19 requires it; engine/webgpu.ts loads dawn.node
 * directly where require() of an ES module is unavailable), the licence, and the Dawn binaries for the target. Its
 * dependencies are types and a debug logger its entry does not load.
 */
function shipWebgpu(dir, dst, pj) {
  const host = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
  const available = fs.readdirSync(path.join(dir, 'dist'));
  const dirs = target === 'all' ? available : [target === undefined ? host : dawnDir(target)];
  for (const d of dirs) {
    if (!available.includes(d)) throw new Error(`webgpu ${pj.version} has no Dawn binary for ${d} (it has ${available.join(', ')})`);
  }
  fs.mkdirSync(dst, { recursive: true });
  fs.writeFileSync(path.join(dst, 'package.json'), JSON.stringify({ name: pj.name, version: pj.version, license: pj.license, type: pj.type, main: pj.main }, null, 2));
  for (const f of [pj.main, 'LICENSE.md']) fs.copyFileSync(path.join(dir, f), path.join(dst, f));
  for (const d of dirs) fs.cpSync(path.join(dir, 'dist', d), path.join(dst, 'dist', d), { recursive: true });
  const bytes = dirs.reduce((a, d) => a + fs.readdirSync(path.join(dir, 'dist', d)).reduce((b, f) => b + fs.statSync(path.join(dir, 'dist', d, f)).size, 0), 0);
  console.log(`webgpu ${pj.version}: Dawn for ${dirs.join(', ')} (${(bytes / 2 ** 20).toFixed(1)} MiB before compression)`);
}

if (process.argv.includes('--no-vsix')) {
  console.log(`staged ${stage} with runtime packages: ${[...shipped.keys()].join(', ')}`);
  process.exit(0);
}

// The stage holds exactly what ships; the ignore file only keeps source maps out (and tells vsce we chose).
fs.writeFileSync(path.join(stage, '.vscodeignore'), '**/*.map\n');
const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
const targetArgs = target !== undefined && target !== 'all' ? ['--target', target] : [];
execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', ...targetArgs, '-o', outFile], {
  cwd: stage,
  stdio: 'inherit',
});
const size = fs.statSync(outFile).size;
console.log(`packaged ${path.relative(root, outFile)} (${(size / 2 ** 20).toFixed(1)} MiB) with runtime packages: ${[...shipped.keys()].join(', ')}`);
