// Runs every compiled test file (out/test/**/*.test.js) with node:test. Node 20's `--test DIR` would also run
// helpers under a `test` folder as if they were tests, so the files are listed explicitly.
// Usage: node scripts/test.mjs [substring ...]   (only files whose path contains one of the substrings)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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
const files = collect('out/test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0 && !(filters.length === 1 && filters[0] === 'e2e')) {
  console.error('no test files found under out/test (run `npm run pretest` first)');
  process.exit(1);
}
const reporter = process.env.RTUNE_TEST_REPORTER ?? 'spec';
if (files.length > 0) {
  const r = spawnSync(process.execPath, ['--test', `--test-reporter=${reporter}`, ...files], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// The full run ends with the end-to-end test in a real VS Code (code-server; test/e2e/run.mjs): it packages the
// .vsix, installs code-server on first use (npm registry only) and needs apt chromium, libkrb5-dev and ripgrep.
// RTUNE_E2E=0 skips it; a filtered run never includes it unless a filter is "e2e".
if (process.env.RTUNE_E2E !== '0' && (filters.length === 0 || filters.includes('e2e'))) {
  const e = spawnSync(process.execPath, ['test/e2e/run.mjs'], { stdio: 'inherit' });
  process.exit(e.status ?? 1);
}
process.exit(0);
