/**
 * The checks before compute at run time: `rtune run` (a child process) and the worker (dist/worker.js, as the
 * extension forks it) refuse a run whose selected sections cannot work — a header-only CSV, an output that is
 * a file, an unwritable runs folder, a model that is not there — with every problem at once as
 * `FILE:LINE:COL: error: MESSAGE` naming the data file and the fix, exit code 1 / an `input` failure, and no
 * run folder (nothing was computed). A problem in a section the run does not select does not stop it.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startWorkerJob } from '../../client/worker-process';
import { missingShared, REPO_ROOT, sharedData } from '../helpers';
import { spawnAs, unprivileged } from '../unprivileged';

const DATA = path.join(REPO_ROOT, 'examples', 'demo-model', 'data');

function rtune(args: string[], prefix: readonly string[] = []): { code: number; stdout: string; stderr: string } {
  const r = spawnAs(prefix, process.execPath, [path.join(REPO_ROOT, 'bin', 'rtune.js'), ...args], { ...process.env, RTUNE_BACKEND: 'wasm' });
  return { code: r.status ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** One-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `no line with ${needle}`);
  return i + 1;
}

/** Every file under `dir` (empty when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => d.name);
}

describe('checks before compute at run time', { concurrency: false }, () => {
  let dir: string;
  let demo: string;

  /** The demo file with absolute data paths, runs in `dir/runs`, small prompt sets, edited by `edit`. */
  const experiment = (name: string, edit: (t: string) => string = (t) => t): { file: string; text: string } => {
    const text = edit(
      demo
        .replace(/data "demo-model\/data\/([^"]+)"/g, (_m, f: string) => `data "${path.join(DATA, f)}"`)
        .replace('runs "runs"', `runs "${path.join(dir, 'runs')}"`)
        .replace(/limit \d+/g, 'limit 8'),
    );
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return { file, text };
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-preflight-cli-'));
    fs.chmodSync(dir, 0o755);
    demo = fs.readFileSync(path.join(REPO_ROOT, 'examples', 'demo.rtune'), 'utf8');
    fs.writeFileSync(path.join(dir, 'header.csv'), 'statement,label\n');
    fs.writeFileSync(path.join(dir, 'afile'), 'not a folder\n');
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a header-only CSV and an output that is a file: exit 1, both problems with file:line and fix, no run folder', () => {
    const { file, text } = experiment('two.rtune', (t) =>
      t
        .replace(/(prompts liar \{\n {2}data )"[^"]+"/, `$1"${path.join(dir, 'header.csv')}"`)
        .replace('  seed 123\n', `  seed 123\n  output "${path.join(dir, 'afile')}"\n`),
    );
    const r = rtune(['run', file]);
    assert.equal(r.code, 1, r.stderr);
    const dataLine = lineOf(text, path.join(dir, 'header.csv'));
    const outLine = lineOf(text, `output "${path.join(dir, 'afile')}"`);
    assert.match(r.stderr, /2 problems found before running \(nothing was computed\)/);
    assert.match(r.stderr, new RegExp(`two\\.rtune:${dataLine}:\\d+: error: .*header\\.csv has a header but no rows; add statements`));
    assert.match(
      r.stderr,
      new RegExp(`two\\.rtune:${outLine}:\\d+: error: cannot write the runs of \`tune honest\`: .*afile is a file, not a folder; set \`output\``),
    );
    assert.doesNotMatch(r.stderr, /Cannot read properties|ENOTDIR|EEXIST/);
    assert.deepEqual(filesUnder(path.join(dir, 'runs')), [], 'no run folder: the direction was not extracted');
  });

  it('a model path where nothing exists is refused before compute (a warning in the editor, an error for a run)', () => {
    const { file, text } = experiment('nomodel.rtune', (t) => t.replace('path builtin:demo', `path "${path.join(dir, 'models', 'absent')}"`));
    const r = rtune(['run', file, 'honesty']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`nomodel\\.rtune:${lineOf(text, 'models/absent')}:\\d+: error: model not found: nothing at .*absent; a run stops here`));
    assert.deepEqual(filesUnder(path.join(dir, 'runs')), []);
  });

  it('only the sections a run selects (and what they stand on) are checked: a bad tune output does not stop `rtune run FILE honesty`', () => {
    const { file } = experiment('scope.rtune', (t) => t.replace('  seed 123\n', `  seed 123\n  output "${path.join(dir, 'afile')}"\n`));
    const r = rtune(['run', file, 'honesty', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { runs: { section: string; status: string }[] };
    assert.deepEqual(
      summary.runs.map((s) => [s.section, s.status]),
      [['honesty', 'done']],
    );
    // Asking for the tune pulls in its direction; the tune's output is checked before the direction is computed.
    fs.rmSync(path.join(dir, 'runs'), { recursive: true, force: true });
    const t = rtune(['run', file, 'honest']);
    assert.equal(t.code, 1, t.stderr);
    assert.match(t.stderr, /cannot write the runs of `tune honest`/);
    assert.deepEqual(filesUnder(path.join(dir, 'runs')), []);
  });

  it('an unwritable runs folder (EACCES) is named with its key and fix, as a user who cannot write it', (t) => {
    const ro = path.join(dir, 'readonly');
    fs.mkdirSync(ro);
    fs.chmodSync(ro, 0o555);
    const { file, text } = experiment('ro.rtune', (t) => t.replace(`runs "${path.join(dir, 'runs')}"`, `runs "${path.join(ro, 'runs')}"`));
    const as = unprivileged(`require(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'cli.js'))}); require('fs').readFileSync(${JSON.stringify(file)})`);
    if ('skip' in as) {
      t.skip(as.skip);
      return;
    }
    const r = rtune(['run', file], as.prefix);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `ro\\.rtune:${lineOf(text, 'readonly/runs')}:\\d+: error: cannot write the runs of \`direction honesty\` to .*: the folder .*readonly is not writable, .*set \`runs\` to a folder you can write to`,
      ),
    );
    assert.doesNotMatch(r.stderr, /EACCES/);
  });

  it('a block search that leaves no candidates is refused before compute, on its key', { skip: missingShared('hf-tiny-gpt2-random') }, () => {
    const { file, text } = experiment(
      'search.rtune',
      (t) =>
        t
          .replace('path builtin:demo', `path "${sharedData('hf-tiny-gpt2-random')}"`)
          .replace('layers 1..2', 'layers 1')
          .replace('layers [1, 2]', 'layers [1]') + 'search s {\n  tune honest\n  token_blocks [gate]\n}\n',
    );
    const r = rtune(['run', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`search\\.rtune:${lineOf(text, 'token_blocks [gate]')}:\\d+: error: this search has no candidates: .*list blocks it has`),
    );
    assert.deepEqual(filesUnder(path.join(dir, 'runs')), []);
  });

  it('the worker refuses the same run as an `input` failure with every problem, before any run folder', async () => {
    const { file, text } = experiment('worker.rtune', (t) => t.replace(/(prompts liar \{\n {2}data )"[^"]+"/, `$1"${path.join(dir, 'header.csv')}"`));
    const job = startWorkerJob({
      workerPath: path.join(REPO_ROOT, 'dist', 'worker.js'),
      request: { file, text, sections: ['honest'], backend: 'wasm', threads: 1, builtinRoot: REPO_ROOT, maxMemoryBytes: 0 },
    });
    const outcome = await job.done;
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.message ?? '', new RegExp(`worker\\.rtune:${lineOf(text, 'header.csv')}:\\d+: error: .*has a header but no rows`));
    assert.equal(job.runs.length, 0, 'no run folder was opened');
  });
});
