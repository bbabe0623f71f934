/**
 * Fault injection on the real `rtune run` (child processes on a faster copy of examples/demo.rtune): SIGKILL at
 * several points — during extraction, tuning, evaluation and export, each detected from the streamed --json
 * events — and check that every folder left behind reads (readRunState, as every reader reads it) as cancelled,
 * interrupted or done, never running, that every JSON file in it parses, and that the next run completes and
 * cleans up dead writers' temp files. Then Ctrl-C once (graceful: the section stops, keeps what it finished and
 * reads cancelled) and twice (every open folder is marked cancelled before the process exits).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readRunState } from '../../common/run-status';
import type { JobEvent } from '../../protocol/job';
import { REPO_ROOT } from '../helpers';

/** The demo file cut to a few seconds: fewer prompts and steps, a shorter perplexity text, no steering or search. */
function fastDemo(dir: string): string {
  const data = (f: string) => path.join(REPO_ROOT, 'examples', 'demo-model', 'data', f);
  let text = fs
    .readFileSync(path.join(REPO_ROOT, 'examples', 'demo.rtune'), 'utf8')
    .replace(/data "demo-model\/data\/([^"]+)"/g, (_m, f: string) => `data "${data(f)}"`)
    .replace(/limit \d+/g, 'limit 32')
    .replace(/max_steps \d+/, 'max_steps 8')
    .replace(/max_tokens \d+/, 'max_tokens 800')
    .replace(/bootstrap \d+/, 'bootstrap 50');
  const cut = (from: RegExp): void => {
    const i = text.search(from);
    assert.ok(i >= 0, `the demo file has ${String(from)}`);
    let depth = 0;
    let j = text.indexOf('{', i);
    for (; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) break;
    }
    text = text.slice(0, i) + text.slice(j + 1);
  };
  cut(/\n {2}steering \{/);
  cut(/\nsearch \w+ \{/);
  const file = path.join(dir, 'demo.rtune');
  fs.writeFileSync(file, text);
  return file;
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: JobEvent[];
  stderr: string;
}

/**
 * Runs `rtune run FILE --json`; `at(e, events)` is asked after each streamed event and may return a signal (or
 * a list, sent 25 ms apart) to send the process, once.
 */
function run(file: string, at?: (e: JobEvent, seen: JobEvent[]) => NodeJS.Signals | NodeJS.Signals[] | undefined): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtune.js'), 'run', file, '--json'], {
      env: { ...process.env, RTUNE_BACKEND: 'wasm', RTUNE_WASM_THREADS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: JobEvent[] = [];
    let buf = '';
    let stderr = '';
    let sent = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let e: JobEvent;
        try {
          e = JSON.parse(line) as JobEvent;
        } catch {
          continue; // the summary line is not an event; parsed again by the caller
        }
        events.push(e);
        const sig = !sent && at ? at(e, events) : undefined;
        if (sig === undefined) continue;
        sent = true;
        const list = Array.isArray(sig) ? sig : [sig];
        list.forEach((s, i) => setTimeout(() => child.kill(s), 25 * i));
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, events, stderr }));
  });
}

/** Every run folder under `root` (section folders, then run folders), skipping `latest` files. */
function runFolders(root: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(root)) return out;
  for (const sec of fs.readdirSync(root)) {
    const s = path.join(root, sec);
    if (!fs.statSync(s).isDirectory()) continue;
    for (const r of fs.readdirSync(s)) if (fs.statSync(path.join(s, r)).isDirectory() && !r.startsWith('.')) out.push(path.join(s, r));
  }
  return out;
}

/** Asserts every folder reads as one of `allowed` and every JSON file in it is whole; returns dir → status. */
function checkFolders(dir: string, allowed: readonly string[]): Map<string, string> {
  const states = new Map<string, string>();
  for (const f of [...runFolders(path.join(dir, 'runs')), ...runFolders(path.join(dir, 'exports'))]) {
    const st = readRunState(f);
    assert.ok(allowed.includes(st.status), `${f} reads ${st.status} (${st.message ?? ''})`);
    for (const name of fs.readdirSync(f))
      if (name.endsWith('.json')) assert.doesNotThrow(() => JSON.parse(fs.readFileSync(path.join(f, name), 'utf8')), `${f}/${name} is whole`);
    states.set(f, st.status);
  }
  return states;
}

const tmpFiles = (dir: string): string[] => (fs.readdirSync(dir, { recursive: true }) as string[]).filter((p) => /\.tmp-\d+-/.test(path.basename(p)));

describe('rtune run under faults', () => {
  it('SIGKILL during extraction, tuning, evaluation and export leaves only cancelled, interrupted or done folders; the next run completes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-faults-'));
    const file = fastDemo(dir);
    const points: Array<[string, (e: JobEvent) => boolean]> = [
      ['extraction', (e) => e.type === 'progress' && e.job === 'direction' && e.done > 0],
      ['tuning', (e) => e.type === 'step' && e.step === 2],
      ['evaluation', (e) => e.type === 'progress' && e.job === 'perplexity'],
      ['export', (e) => e.type === 'run' && e.kind === 'export'],
    ];
    for (const [what, when] of points) {
      const r = await run(file, (e) => (when(e) ? 'SIGKILL' : undefined));
      assert.equal(r.signal, 'SIGKILL', `killed during ${what} (exit ${String(r.code)}): ${r.stderr.slice(-400)}`);
      const states = checkFolders(dir, ['cancelled', 'interrupted', 'done']);
      assert.ok([...states.values()].includes('interrupted'), `the folder of the ${what} it killed reads interrupted`);
      if (what === 'tuning') {
        // `rtune status` reads it the same way: the newest tune folder is interrupted, the direction before it done.
        const st = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtune.js'), 'status', file, '--json'], { encoding: 'utf8' });
        assert.equal(st.status, 0, st.stderr);
        const rows = (JSON.parse(st.stdout) as { runs: Array<{ kind: string; section: string; status: string; message?: string }> }).runs;
        assert.deepEqual(
          rows.map((x) => `${x.kind} ${x.section}: ${x.status}`),
          ['direction honesty: done', 'tune honest: interrupted'],
        );
        assert.match(rows[1]?.message ?? '', /the process that wrote it \(pid \d+\) is gone/);
      }
    }
    const ok = await run(file);
    assert.equal(ok.code, 0, ok.stderr.slice(-800));
    const last = ok.events[ok.events.length - 1] as unknown as { type: string; runs: Array<{ status: string }> };
    assert.equal(last.type, 'summary');
    assert.deepEqual(
      last.runs.map((x) => x.status),
      ['done', 'done', 'done', 'done'],
    );
    checkFolders(dir, ['interrupted', 'done']);
    assert.deepEqual(tmpFiles(dir), [], 'no temp file of a killed writer is left');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('Ctrl-C once stops gracefully (the eval keeps its base perplexity); twice marks the open folders cancelled at once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-faults-'));
    const file = fastDemo(dir);
    // Once, during the eval's tuned perplexity pass.
    const once = await run(file, (e) => (e.type === 'progress' && e.job === 'perplexity' && /^tuned/.test(e.message ?? '') ? 'SIGINT' : undefined));
    assert.equal(once.code, 130, once.stderr.slice(-800));
    const states = checkFolders(dir, ['cancelled', 'done']);
    const evalDir = [...states.keys()].find((d) => d.includes(`${path.sep}check${path.sep}`)) as string;
    assert.equal(states.get(evalDir), 'cancelled');
    const result = JSON.parse(fs.readFileSync(path.join(evalDir, 'result.json'), 'utf8')) as { perplexity?: { base?: number } };
    assert.ok(Number.isFinite(result.perplexity?.base), 'the finished base perplexity is kept');
    assert.ok(!fs.existsSync(path.join(dir, 'exports')) || runFolders(path.join(dir, 'exports')).length === 0, 'nothing after the cancel ran');
    fs.rmSync(path.join(dir, 'runs'), { recursive: true, force: true });
    // Twice while the first section loads the model (no batch boundary yet, so the first Ctrl-C cannot finish it):
    // the second marks its open folder cancelled and exits at once. When the model loads faster than the two
    // signals arrive, the first Ctrl-C finishes the folder gracefully instead (also cancelled, checked the same
    // way); a few tries make sure the second-Ctrl-C path itself ran.
    let hard = false;
    for (let attempt = 0; attempt < 4 && !hard; attempt++) {
      const twice = await run(file, (e) => (e.type === 'run' ? ['SIGINT', 'SIGINT'] : undefined));
      assert.equal(twice.code, 130, twice.stderr.slice(-800));
      const after = checkFolders(dir, ['cancelled', 'done']);
      const marked = [...after.entries()].filter(([, st]) => st === 'cancelled').map(([d]) => d);
      assert.equal(marked.length, 1);
      assert.match(marked[0] ?? '', /honesty/);
      hard = /stopped \(a second Ctrl-C\); 1 run folder\(s\) marked cancelled/.test(twice.stderr);
      if (hard) assert.match(readRunState(marked[0] as string).message ?? '', /^cancelled: a second Ctrl-C/);
      fs.rmSync(path.join(dir, 'runs'), { recursive: true, force: true });
    }
    assert.ok(hard, 'a second Ctrl-C reached the process while a folder was open, and marked it');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
