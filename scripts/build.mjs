// Builds every bundle with esbuild. Targets are data: add an entry here when a new bundle appears.
// Type checking is separate (`npm run typecheck`); esbuild only strips types.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

// Native or wasm-carrying packages stay outside the bundles and are resolved from node_modules at run time:
// tfjs backends locate their .wasm/.node files relative to their own package folder.
const nodeExternals = ['@tensorflow/*', 'webgpu', 'vscode'];

/** @type {{name: string, entry: string, out: string, platform: 'node'|'browser', format: 'cjs'|'iife'}[]} */
const targets = [
  { name: 'cli', entry: 'cli/main.ts', out: 'dist/cli.js', platform: 'node', format: 'cjs' },
  { name: 'worker', entry: 'server/worker/main.ts', out: 'dist/worker.js', platform: 'node', format: 'cjs' },
  { name: 'server', entry: 'server/main.ts', out: 'dist/server.js', platform: 'node', format: 'cjs' },
  { name: 'extension', entry: 'client/extension.ts', out: 'dist/extension.js', platform: 'node', format: 'cjs' },
];

const contexts = [];
for (const t of targets) {
  if (!existsSync(t.entry)) continue;
  const options = {
    entryPoints: [t.entry],
    outfile: t.out,
    bundle: true,
    platform: t.platform,
    format: t.format,
    target: t.platform === 'node' ? 'node20' : 'es2022',
    sourcemap: !production,
    minify: production,
    external: t.platform === 'node' ? nodeExternals : [],
    logLevel: 'warning',
  };
  if (watch) contexts.push(await esbuild.context(options));
  else await esbuild.build(options);
}
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('[watch] build started');
}
