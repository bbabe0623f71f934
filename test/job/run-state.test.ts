/**
 * How every reader decides a run folder's state (common/run-status.ts `readRunState`): the summary is final, a
 * `running` status needs a live writer (its pid on this host, a fresh heartbeat anywhere), and the temp files of
 * dead writers are removed on the next run. Also what RunFolder writes for that: pid, host, heartbeat, and the
 * second-Ctrl-C path (`closeOpenRuns`).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanOutputFolder, deadWriter, HEARTBEAT_MS, readRunState, STALE_AFTER_MS } from '../../common/run-status';
import { buildFolderAtomic } from '../../engine/export/atomic';
import { closeOpenRuns, markRunFailed, RunFolder, runStatusOf } from '../../job/run-folder';
import { resultTitle } from '../../language/features/results';
import { interruptedSummary } from '../../server/results-reader';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-state-'));
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function write(dir: string, name: string, value: unknown): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), JSON.stringify(value));
}

describe('run folder state', () => {
  it('summary.json is final: "done" beside a status.json still saying running reads done', () => {
    const dir = tmp();
    write(dir, 'status.json', { status: 'running', pid: deadPid(), host: os.hostname(), updated: new Date().toISOString() });
    write(dir, 'summary.json', { status: 'done', headline: 'exported', finished: new Date().toISOString() });
    const st = readRunState(dir);
    assert.equal(st.status, 'done');
    assert.equal(st.from, 'summary');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('running with a dead pid on this host reads interrupted; with a live pid, running', () => {
    const dir = tmp();
    const now = new Date().toISOString();
    const pid = deadPid();
    write(dir, 'status.json', { status: 'running', pid, host: os.hostname(), updated: now });
    const st = readRunState(dir);
    assert.equal(st.status, 'interrupted');
    assert.match(st.message ?? '', new RegExp(`pid ${pid}\\) is gone`));
    write(dir, 'status.json', { status: 'running', pid: process.pid, host: os.hostname(), updated: now });
    assert.equal(readRunState(dir).status, 'running');
    assert.equal(runStatusOf(dir).status, 'running');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('another host: the heartbeat decides (fresh: running; older than STALE_AFTER_MS: interrupted)', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    const st = { status: 'running', pid: 1, host: 'elsewhere' };
    assert.equal(deadWriter({ ...st, updated: new Date(now - 5000).toISOString() }, { now }), undefined);
    assert.match(deadWriter({ ...st, updated: new Date(now - STALE_AFTER_MS - 1000).toISOString() }, { now }) ?? '', /no heartbeat for 121 s/);
    // Same host, live pid, but silent past the bound (a reused pid, a hung writer): interrupted too.
    assert.ok(deadWriter({ ...st, host: 'here', updated: new Date(now - STALE_AFTER_MS - 1).toISOString() }, { now, host: 'here', alive: () => true }));
    assert.match(deadWriter({ status: 'running' }, { now }) ?? '', /no heartbeat/);
  });

  it('a folder without a readable status.json reads interrupted, never running', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'status.json'), '{"status": "runn');
    assert.equal(readRunState(dir).status, 'interrupted');
    assert.equal(runStatusOf(dir).status, 'interrupted');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('RunFolder writes its pid, host and a heartbeat; finish writes summary then status; closeOpenRuns marks the open ones', async () => {
    const out = tmp();
    const a = new RunFolder(out, 'honest', 'tune', undefined, { a: 1 });
    const b = new RunFolder(out, 'check', 'eval', undefined, { b: 1 });
    const st0 = JSON.parse(fs.readFileSync(a.path('status.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(st0['status'], 'running');
    assert.equal(st0['pid'], process.pid);
    assert.equal(st0['host'], os.hostname());
    assert.deepEqual(
      fs.readdirSync(out).filter((n) => n.includes('.tmp-')),
      [],
      'the folder is built aside and renamed',
    );
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS + 600));
    const st1 = JSON.parse(fs.readFileSync(a.path('status.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(Date.parse(String(st1['updated'])) > Date.parse(String(st0['updated'])), 'the heartbeat moved');
    a.finish('done', 'fine');
    assert.deepEqual(closeOpenRuns('cancelled', 'cancelled: a second Ctrl-C'), [b.dir], 'only the folder still open');
    assert.equal(readRunState(a.dir).status, 'done');
    for (const f of ['status.json', 'summary.json']) assert.equal((JSON.parse(fs.readFileSync(b.path(f), 'utf8')) as { status: string }).status, 'cancelled');
    assert.deepEqual(closeOpenRuns('cancelled', 'again'), []);
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('a finish whose result cannot be written leaves the folder open, so the failure path can still finish it', () => {
    const out = tmp();
    const f = new RunFolder(out, 'honest', 'tune', undefined, {});
    // A non-empty folder where result.json belongs: the rename fails, even as root.
    fs.mkdirSync(f.path('result.json', 'x'), { recursive: true });
    assert.throws(() => f.finish('done', 'fine', { result: { a: 1 } }));
    assert.equal(readRunState(f.dir).status, 'running', 'not final yet: no summary was written');
    f.finish('failed', 'failed: cannot write result.json');
    assert.equal(readRunState(f.dir).status, 'failed');
    assert.deepEqual(closeOpenRuns('cancelled', 'x'), []);
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('the extension marks a folder its killed worker left: cancelled after a cancel, failed after a crash; never over a summary', () => {
    const out = tmp();
    const a = new RunFolder(out, 'a', 'tune', undefined, {});
    const b = new RunFolder(out, 'b', 'eval', undefined, {});
    const c = new RunFolder(out, 'c', 'eval', undefined, {});
    c.finish('done', 'fine');
    assert.equal(markRunFailed(a.dir, { section: 'a', kind: 'tune', message: 'the worker did not stop within the cancel timeout', status: 'cancelled' }), true);
    assert.equal(markRunFailed(b.dir, { section: 'b', kind: 'eval', message: 'the worker process exited unexpectedly' }), true);
    assert.equal(markRunFailed(c.dir, { section: 'c', kind: 'eval', message: 'late' }), false);
    assert.deepEqual(
      [a, b, c].map((f) => runStatusOf(f.dir).status),
      ['cancelled', 'failed', 'done'],
    );
    assert.match(runStatusOf(a.dir).message ?? '', /^cancelled: the worker did not stop/);
    a.finish('cancelled', 'x');
    b.finish('failed', 'x');
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('the next run removes the temp files of dead writers only (an export left .model.tmp-<pid>-*)', async () => {
    const out = tmp();
    const pid = deadPid();
    const run = path.join(out, '2026-12-01T10-00-00Z');
    fs.mkdirSync(path.join(run, `.model.tmp-${pid}-abc123`, 'x'), { recursive: true });
    fs.writeFileSync(path.join(run, `summary.json.tmp-${pid}-zz`), '{');
    fs.writeFileSync(path.join(out, `latest.tmp-${pid}-q`), '');
    fs.writeFileSync(path.join(run, `status.json.tmp-${process.pid}-live`), '');
    write(path.join(out, 'other-host'), 'status.json', { status: 'running', host: 'elsewhere', pid });
    fs.writeFileSync(path.join(out, 'other-host', `x.tmp-${pid}-a`), '');
    const removed = cleanOutputFolder(out)
      .map((p) => path.relative(out, p))
      .sort();
    assert.deepEqual(
      removed,
      [`2026-12-01T10-00-00Z/.model.tmp-${pid}-abc123`, `2026-12-01T10-00-00Z/summary.json.tmp-${pid}-zz`, `latest.tmp-${pid}-q`].sort(),
    );
    assert.ok(fs.existsSync(path.join(run, `status.json.tmp-${process.pid}-live`)), 'a live writer keeps its temp file');
    assert.ok(fs.existsSync(path.join(out, 'other-host', `x.tmp-${pid}-a`)), "another host's pids are not ours to judge");
    // The export's folder temp carries the writer's pid, so the rule above applies to it.
    let seen = '';
    await buildFolderAtomic(path.join(out, 'model'), 'm.json', (t) => {
      seen = path.basename(t);
      fs.writeFileSync(path.join(t, 'm.json'), '{}');
    });
    assert.match(seen, new RegExp(`^\\.model\\.tmp-${process.pid}-`));
    fs.rmSync(out, { recursive: true, force: true });
  });
});

describe('inline results of a killed run', () => {
  it('the language server shows a folder left running by a dead process as interrupted, named by its run event', () => {
    const out = tmp();
    const run = path.join(out, '20261201T100000Z-honest');
    const started = new Date(Date.now() - 60_000).toISOString();
    write(run, 'status.json', { status: 'running', started, updated: started, pid: deadPid(), host: os.hostname() });
    const opened = { type: 'run', run: path.basename(run), section: 'honest', kind: 'tune', dir: run, file: '/x/demo.rtune' };
    fs.writeFileSync(path.join(run, 'events.jsonl'), `${JSON.stringify(opened)}\n{"type":"step","ru`);
    const s = interruptedSummary(run);
    assert.equal(s?.status, 'interrupted');
    assert.equal(s?.section, 'honest');
    assert.equal(s?.kind, 'tune');
    assert.equal(s?.file, '/x/demo.rtune');
    assert.equal(
      s ? resultTitle(s) : '',
      `✗ interrupted: the process that wrote it (pid ${String((JSON.parse(fs.readFileSync(path.join(run, 'status.json'), 'utf8')) as { pid: number }).pid)}) is gone`,
    );
    // While its writer lives there is nothing to show yet.
    write(run, 'status.json', { status: 'running', started, updated: new Date().toISOString(), pid: process.pid, host: os.hostname() });
    assert.equal(interruptedSummary(run), undefined);
    fs.rmSync(out, { recursive: true, force: true });
  });
});
