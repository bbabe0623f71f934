// Builds every bundle with esbuild. Targets are data: add an entry here when a new bundle appears.
// Type checking is separate (`npm run typecheck`); esbuild only strips types.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

// Native or wasm-carrying packages stay outside the bundles and are resolved from node_modules at run time:
// tfjs backends locate their .wasm/.node files relative to their own package folder, and every backend must share
// one tfjs-core instance (its kernel and gradient registries). The packaged extension ships these packages' Node
// entry files in dist/node_modules (scripts/package.mjs); tfjs-node(-gpu) and webgpu are optional and are found
// only where they are installed (an rtune checkout named by the `rtune.workerPath` setting).
const nodeExternals = ['@tensorflow/*', 'webgpu', 'vscode'];

/** @type {{name: string, entry: string, out: string, platform: 'node'|'browser', format: 'cjs'|'iife'}[]} */
const targets = [
  { name: 'cli', entry: 'cli/main.ts', out: 'dist/cli.js', platform: 'node', format: 'cjs' },
  { name: 'worker', entry: 'worker/main.ts', out: 'dist/worker.js', platform: 'node', format: 'cjs' },
  { name: 'server', entry: 'server/main.ts', out: 'dist/server.js', platform: 'node', format: 'cjs' },
  { name: 'extension', entry: 'client/extension.ts', out: 'dist/extension.js', platform: 'node', format: 'cjs' },
  // Webview panels (webview/README.md): one iife bundle per panel; the CSS it imports lands beside it as
  // dist/webview/<panel>.css. Lines are drawn with uPlot (~50 KB): fast canvas rendering, axes, log scales, a
  // synced hover cursor and drag-zoom, which hand-drawn canvas would have to rebuild; the panel decimates to
  // min/max per pixel column before handing data to it. Heatmaps are plain canvas ImageData.
  { name: 'webview-loss-curves', entry: 'webview/loss-curves/main.ts', out: 'dist/webview/loss-curves.js', platform: 'browser', format: 'iife' },
  { name: 'webview-heatmap', entry: 'webview/heatmap/main.ts', out: 'dist/webview/heatmap.js', platform: 'browser', format: 'iife' },
  { name: 'webview-leaderboard', entry: 'webview/leaderboard/main.ts', out: 'dist/webview/leaderboard.js', platform: 'browser', format: 'iife' },
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
