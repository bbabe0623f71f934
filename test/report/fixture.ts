/**
 * Real run folders for the report tests, made once per process by a tiny experiment on the demo model
 * (test/job/run-experiment.ts, 4 tuning steps, an eval with perplexity, A/B, steering, projection and
 * generations, an exhaustive 2-trial block search), plus a failed export folder and a never-run export, so the
 * report has a section of each state.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runConfig } from '../../job/runner';
import { experiment, load } from '../job/run-experiment';

export interface Fixture {
  dir: string;
  file: string;
  text: string;
}

let made: Promise<Fixture> | undefined;

const EVAL_PARTS = `  ab {
    holdout true
  }
  steering {
    direction honesty
    layers [1]
    multipliers [2]
    max_new_tokens 3
  }
  projection_cosine {
    limit 8
  }
  generate {
    limit 2
    max_new_tokens 3
  }
`;

export function reportFixture(): Promise<Fixture> {
  made ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-report-'));
    const text = experiment(dir, 4)
      .replace('  ab {\n    holdout true\n  }\n', EVAL_PARTS)
      .replace('strategy exhaustive\n  steps_per_trial 3', 'strategy exhaustive\n  steps_per_trial 2')
      .replace('projection_blocks [v, o]\n  strategy', 'projection_blocks [v]\n  strategy');
    const { config, file } = load(dir, text);
    const summaries = await runConfig(config, ['honesty', 'truthful', 'check', 'blocks'], { file, threads: 1 });
    const bad = summaries.filter((s) => s.status !== 'done');
    if (bad.length > 0) throw new Error(`fixture runs did not finish: ${bad.map((s) => `${s.section} ${s.status} ${s.headline}`).join('; ')}`);
    // A failed export run folder (as a crash marked by the extension leaves it) for `again`; `release` never ran.
    const failed = path.join(dir, 'exports', 'release', '2026-01-01T00-00-00Z');
    fs.mkdirSync(failed, { recursive: true });
    fs.writeFileSync(
      path.join(failed, 'events.jsonl'),
      `${JSON.stringify({ type: 'run', run: path.basename(failed), section: 'again', kind: 'export', dir: failed })}\n`,
    );
    fs.writeFileSync(path.join(failed, 'status.json'), JSON.stringify({ status: 'failed', message: 'failed: the worker exited (code 1)' }));
    return { dir, file, text };
  })();
  return made;
}

/** The value at `FILE#a.b.0.c` inside run folder `dir`. */
export function valueAt(dir: string, src: string): unknown {
  const [file, p] = src.split('#') as [string, string];
  let v: unknown = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  for (const k of p.split('.')) v = (v as Record<string, unknown>)[k];
  return v;
}

/** The numbers a cell's text shows, in order, each with half a unit of its last digit (what rounding allows). */
export function shownNumbers(text: string): Array<{ value: number; tol: number }> {
  const out: Array<{ value: number; tol: number }> = [];
  for (const m of text.replace(/−/g, '-').matchAll(/[-+]?\d+(?:\.(\d+))?(?:e([-+]?\d+))?/g)) {
    const decimals = m[1]?.length ?? 0;
    const exp = m[2] !== undefined ? Number(m[2]) : 0;
    out.push({ value: Number(m[0]), tol: 0.5 * 10 ** (exp - decimals) });
  }
  return out;
}

/** Checks a cell: every number it names is the folder's value, and every shown number rounds it. Returns problems. */
export function checkCell(dir: string, text: string, nums: Array<{ src: string; value: number; pct?: boolean }>): string[] {
  const problems: string[] = [];
  const shown = shownNumbers(text);
  if (shown.length !== nums.length) return [`"${text}": shows ${shown.length} numbers, names ${nums.length}`];
  nums.forEach((n, i) => {
    const actual = valueAt(dir, n.src);
    if (actual !== n.value) problems.push(`${n.src}: the report says ${n.value}, the folder has ${String(actual)}`);
    const s = shown[i] as { value: number; tol: number };
    const want = (n.pct ? 100 : 1) * (actual as number);
    if (Math.abs(s.value - want) > s.tol * (1 + 1e-9) + 1e-12) problems.push(`${n.src}: shown "${text}" (${s.value}) is not ${want} rounded`);
  });
  return problems;
}
