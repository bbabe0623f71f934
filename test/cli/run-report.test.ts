/**
 * `rtune run`'s report when a section fails: the table and the JSON summary line list every section, the failed
 * and the skipped ones included, and the exit code is 1 (a real child process on the demo model).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers';

/** The demo file with a tune that diverges at its first step (plain SGD at lr 1, huge loss weights, no clip). */
function divergingDemo(dir: string): string {
  const data = (f: string) => path.join(REPO_ROOT, 'examples', 'demo-model', 'data', f);
  const text = fs
    .readFileSync(path.join(REPO_ROOT, 'examples', 'demo.rtune'), 'utf8')
    .replace(/data "demo-model\/data\/([^"]+)"/g, (_m, f: string) => `data "${data(f)}"`)
    .replace(/limit \d+/g, 'limit 32')
    .replace(/name adamw/, 'name sgd\n    clip_norm 0')
    .replace(/lr_token [^\n]+/, 'lr_token 1')
    .replace(/lr_projection [^\n]+/, 'lr_projection 1')
    .replace(/weight 1\n/g, 'weight 1e30\n');
  const file = path.join(dir, 'demo.rtune');
  fs.writeFileSync(file, text);
  return file;
}

const rtune = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtune.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, RTUNE_BACKEND: 'wasm', RTUNE_WASM_THREADS: '1' },
  });

describe('rtune run report', () => {
  it('a diverged tune: exit 1, and the table and the JSON summary show it failed and its dependants skipped', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-report-'));
    const file = divergingDemo(dir);
    const table = rtune('run', file);
    assert.equal(table.status, 1, table.stderr.slice(-600));
    const rows = table.stdout.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| section') && !l.startsWith('| ---'));
    assert.deepEqual(
      rows.map((r) => r.split(' | ').slice(0, 2).join(' | ')),
      ['| direction honesty | done', '| tune honest | failed', '| eval check | skipped', '| search blocks | skipped', '| export release | skipped'],
    );
    assert.match(table.stdout, /\| eval check \| skipped \| skipped: its prerequisite tune honest failed \|/);
    assert.match(table.stderr, /eval check: skipped: its prerequisite tune honest failed/);
    // Only the direction: the sections that need the tune are named with their reason in the JSON line too.
    const json = rtune('run', file, 'check', '--json');
    assert.equal(json.status, 1);
    const last = JSON.parse(json.stdout.trim().split('\n').pop() as string) as {
      type: string;
      runs: Array<{ kind: string; section: string; status: string; headline: string }>;
    };
    assert.equal(last.type, 'summary');
    assert.deepEqual(
      last.runs.map((x) => `${x.kind} ${x.section}: ${x.status}`),
      ['direction honesty: done', 'tune honest: failed', 'eval check: skipped'],
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
