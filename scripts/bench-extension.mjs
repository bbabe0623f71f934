// Extension benchmark (a script, not a test): activation time of the packaged extension and the memory of the
// extension host with two panels open, measured inside a real VS Code (code-server 4.100.3) by the in-host part
// of the end-to-end test (test/e2e/run.mjs --no-ui). Prints a table. Webview frame times: scripts/bench-webview.ts.
//   node scripts/bench-extension.mjs [--runs N]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const runs = process.argv.includes('--runs') ? Number(process.argv[process.argv.indexOf('--runs') + 1]) : 3;
const rows = [];
for (let i = 0; i < runs; i++) {
  execFileSync(process.execPath, [path.join(root, 'test', 'e2e', 'run.mjs'), '--no-ui', ...(i > 0 ? ['--no-package'] : [])], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  rows.push(JSON.parse(fs.readFileSync(path.join(root, '.test-output', 'e2e', 'exthost-metrics.json'), 'utf8')));
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const vsix = fs.statSync(path.join(root, '.test-output', 'rtune-e2e.vsix')).size;
console.log(`\nExtension benchmark, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, VS Code ${rows[0].vscode} (code-server), ${runs} runs\n`);
console.log('| metric | median | runs |');
console.log('| --- | --- | --- |');
console.log(`| activation (activate() incl. language server start) | ${med(rows.map((r) => r.activationMs))} ms | ${rows.map((r) => r.activationMs).join(', ')} |`);
console.log(`| extension host RSS, two panels open, ${rows[0].statePoints} points held | ${med(rows.map((r) => r.hostRssMB)).toFixed(0)} MB | ${rows.map((r) => r.hostRssMB.toFixed(0)).join(', ')} |`);
console.log(`| extension host JS heap used | ${med(rows.map((r) => r.hostHeapUsedMB)).toFixed(0)} MB | ${rows.map((r) => r.hostHeapUsedMB.toFixed(0)).join(', ')} |`);
console.log(`| .vsix size | ${(vsix / 2 ** 20).toFixed(1)} MiB | |`);
console.log('\nThe extension host is shared with every other extension (here only the built-in ones); jobs run in separate worker processes and are not counted.');
