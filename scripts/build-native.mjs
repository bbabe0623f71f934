/**
 * Builds the optional native matmul addon (native/rtune_blas.c → native/build/rtune_blas.node) against the system
 * BLAS: OpenBLAS on Linux (Debian: `apt-get install libopenblas-dev`), Accelerate on macOS. package.json's
 * `install` script runs it, so `npm ci` / `npm install` build it where a C compiler, Node's headers and a BLAS are
 * present. It never fails: without them it prints why and exits 0, and the engine keeps the wasm matmuls.
 * It calls the C compiler directly instead of node-gyp, which would download Node's headers (no network at
 * install time here) and adds nothing for one C file.
 *
 * Usage: node scripts/build-native.mjs [--quiet]. RTUNE_NATIVE_BLAS=0 skips the build. CC picks the compiler.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'native', 'rtune_blas.c');
const outDir = path.join(root, 'native', 'build');
const out = path.join(outDir, 'rtune_blas.node');

function say(msg) {
  console.log(`rtune native matmul: ${msg}`);
}

function headerDir() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

function build() {
  if (process.env.RTUNE_NATIVE_BLAS === '0') return say('skipped (RTUNE_NATIVE_BLAS=0); the engine uses the wasm matmuls');
  if (process.platform !== 'linux' && process.platform !== 'darwin') return say(`not built on ${process.platform}; the engine uses the wasm matmuls`);
  const include = headerDir();
  if (!include) return say("not built: Node's headers (node_api.h) were not found; the engine uses the wasm matmuls");
  const cc = process.env.CC || 'cc';
  const common = ['-O2', '-std=c11', '-fPIC', '-shared', '-DNAPI_VERSION=8', `-I${include}`, src];
  const variants =
    process.platform === 'darwin'
      ? [{ blas: 'Accelerate', args: [...common, '-undefined', 'dynamic_lookup', '-framework', 'Accelerate'] }]
      : [{ blas: 'OpenBLAS', args: [...common, '-DRTUNE_OPENBLAS', '-lopenblas'] }];
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const errors = [];
  for (const v of variants) {
    const r = spawnSync(cc, [...v.args, '-o', tmp], { encoding: 'utf8' });
    if (r.status === 0) {
      fs.renameSync(tmp, out); // atomic: a half-written addon is never loaded
      return say(`built with ${v.blas} (${path.relative(root, out)})`);
    }
    errors.push(`${v.blas}: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-2).join(' ')}`);
  }
  fs.rmSync(tmp, { force: true });
  say(`not built (${errors.join('; ')}); install a C compiler and a BLAS (Debian: apt-get install libopenblas-dev) and run npm run build:native. The engine uses the wasm matmuls.`);
}

try {
  build();
} catch (e) {
  say(`not built (${e instanceof Error ? e.message : String(e)}); the engine uses the wasm matmuls`);
}
