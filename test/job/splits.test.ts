/**
 * Statement splits and option order in runs (the example fixture test/language/fixtures/splits.rtune over
 * ordered.csv, on the demo model): the three prompt sets read disjoint statements; each row's truthful letter
 * follows its option order (tuning targets, A/B gold answers, a direction's {label}); the direction's separation
 * is reported on held-out pairs; a `method random` direction is a seeded unit-vector control a tune can use; and
 * the tune holds out by statement. Plus the CSV reader's order column and its errors.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { holdoutByStatement } from '../../common/split';
import { randomDirectionSet } from '../../engine/method/direction-set';
import { norm } from '../../engine/method/directions';
import { parseStatementsCsv } from '../../engine/method/prompts';
import { readDirectionsSafetensors } from '../../engine/export';
import { Rng } from '../../engine/util/random';
import { readDirection } from '../../job/checkpoint';
import { goldOf, letterFor, readRows, render, renderSide } from '../../job/prompting';
import { runConfig } from '../../job/runner';
import { analyze, loadRunConfig } from '../../language/analysis';
import { createNodeEnv } from '../../language/node-env';
import type { JobEvent } from '../../protocol/job';
import { REPO_ROOT } from '../helpers';
import { load } from './run-experiment';

const FIXTURES = path.join(REPO_ROOT, 'test', 'language', 'fixtures');

function fixtureDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-splits-'));
  for (const f of ['splits.rtune', 'ordered.csv']) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  return dir;
}

describe('statement splits and option order', () => {
  it('reads the order column, naming the line of a bad value and a missing column', () => {
    const csv = 'statement,label,order\n"7 is even.",0,TF\n"8 is even.",1, FT \n';
    assert.deepEqual(parseStatementsCsv(csv, 'x.csv', { order: 'order' }), [
      { statement: '7 is even.', truth: false, order: 'TF' },
      { statement: '8 is even.', truth: true, order: 'FT' },
    ]);
    assert.throws(
      () => parseStatementsCsv('statement,label,order\na,1,TF\nb,0,tf\n', 'x.csv', { order: 'order' }),
      /x\.csv:3: column "order" must be TF .* or FT .*found "tf"/,
    );
    assert.throws(() => parseStatementsCsv('statement,label\na,1\n', 'x.csv', { order: 'order' }), /x\.csv:1: the header has no column "order"/);
    // Without order_column the column is not read (the old CSVs keep working).
    assert.deepEqual(parseStatementsCsv('statement,label\na,1\n', 'x.csv'), [{ statement: 'a', truth: true }]);
  });

  it('the example fixture has no diagnostics, and its three sets read disjoint statements that cover the CSV', () => {
    const dir = fixtureDir();
    const text = fs.readFileSync(path.join(dir, 'splits.rtune'), 'utf8');
    const a = analyze(text, { baseDir: dir, builtinRoot: REPO_ROOT, env: createNodeEnv() });
    assert.deepEqual(
      a.diagnostics.map((d) => d.message),
      [],
    );
    const c = a.config;
    assert.ok(c);
    const sets = ['contrast', 'train', 'heldout'].map((n) => readRows(c.prompts[n] as NonNullable<(typeof c.prompts)[string]>));
    const all = parseStatementsCsv(fs.readFileSync(path.join(dir, 'ordered.csv'), 'utf8'), 'ordered.csv', { order: 'order' });
    assert.equal(
      sets.reduce((n, s) => n + s.length, 0),
      all.length,
    );
    const names = sets.map((s) => new Set(s.map((r) => r.statement)));
    for (let i = 0; i < 3; i++) for (let j = i + 1; j < 3; j++) for (const x of names[i] as Set<string>) assert.ok(!(names[j] as Set<string>).has(x), x);
    // The per-row letter: true_label is the first option line, so an FT row's True is B.
    const p = c.prompts['heldout'] as NonNullable<(typeof c.prompts)[string]>;
    const ft = { statement: '8 is even.', truth: true, order: 'FT' as const };
    const tf = { ...ft, order: 'TF' as const };
    assert.equal(letterFor(p, ft, true), 'B');
    assert.equal(letterFor(p, tf, true), 'A');
    assert.equal(goldOf(p, ft), 'B');
    assert.equal(goldOf(p, { ...ft, truth: false }), 'A');
    assert.match(render(p, ft, undefined, undefined), /A\) False\nB\) True\nAnswer:$/);
    assert.match(render(p, tf, undefined, undefined), /A\) True\nB\) False\nAnswer:$/);
    const q = c.prompts['contrast'] as NonNullable<(typeof c.prompts)[string]>;
    // The honest side of a true FT statement answers B (True is the second option), the dishonest side A.
    assert.match(renderSide(q, { row: ft, persona: 'positive', label: 'true' }), /A\) False\nB\) True\nAnswer: B$/);
    assert.match(renderSide(q, { row: ft, persona: 'negative', label: 'false' }), /Answer: A$/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the fixture: held-out separation, a random control the tune uses, and a clean A/B evaluation with per-row gold letters', async () => {
    const dir = fixtureDir();
    const { config, file } = load(dir, fs.readFileSync(path.join(dir, 'splits.rtune'), 'utf8'));
    const events: JobEvent[] = [];
    const summaries = await runConfig(config, ['honesty', 'control', 'placebo', 'clean'], { file, emit: (e) => events.push(e) });
    assert.ok(summaries.length === 5 && summaries.every((s) => s.status === 'done'), summaries.map((s) => `${s.status}: ${s.headline}`).join('\n'));
    const bySection = (name: string) => {
      const run = events.find((e) => e.type === 'run' && e.section === name);
      assert.ok(run && run.type === 'run', `a run folder for ${name}`);
      return run.dir;
    };
    // The direction: estimated without its held-out pairs, its diagnostics on them, labelled.
    const honesty = JSON.parse(fs.readFileSync(path.join(bySection('honesty'), 'result.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(honesty['separationOn'], 'held-out');
    const n = readRows(config.prompts['contrast'] as NonNullable<(typeof config.prompts)[string]>).length;
    assert.equal((honesty['pairsEstimated'] as number) + (honesty['pairsHeldOut'] as number), n);
    assert.ok((honesty['pairsHeldOut'] as number) > 0);
    assert.deepEqual((honesty['heldOut'] as { separation: number[][] }).separation, honesty['separation']);
    const titles = events.filter((e) => e.type === 'heatmap' && e.job === 'direction').map((e) => (e as { title: string }).title);
    assert.ok(titles.some((t) => t.startsWith('held-out separation')) && titles.some((t) => t.startsWith('in-sample separation')), titles.join('; '));
    // The held-out separation of the demo model's honesty direction stays high (the demo model answers by persona).
    const best = Math.max(...(honesty['separation'] as number[][]).flat());
    assert.ok(best >= 0.8, `held-out separation ${best}`);
    // The random control: unit vectors of the model's width, reproducible from its seed, marked random.
    const control = readDirection(bySection('control'));
    assert.equal(control.metadata['method'], 'random');
    assert.equal(control.metadata['random'], 'true');
    const width = (control.vectors.get(0) as Float32Array[])[0]?.length ?? 0;
    assert.ok(width > 0);
    for (const vs of control.vectors.values()) for (const v of vs) assert.ok(Math.abs(norm(v) - 1) < 1e-6);
    const rng = new Rng(1);
    const again = randomDirectionSet(control.layers, control.offsets, width, () => rng.normal());
    for (const l of control.layers) assert.deepEqual(again.vectors.get(l), control.vectors.get(l));
    assert.equal(readDirectionsSafetensors(path.join(bySection('control'), 'direction.safetensors')).metadata['random'], 'true');
    // The placebo tune trained toward it.
    assert.ok(events.some((e) => e.type === 'step' && e.run.endsWith('placebo')));
    // The clean A/B evaluation: every row of the evaluation split, gold letters per row.
    const clean = JSON.parse(fs.readFileSync(path.join(bySection('clean'), 'result.json'), 'utf8')) as {
      ab: { base: { n: number; perGold: { A: { n: number } } } };
    };
    const heldout = readRows(config.prompts['heldout'] as NonNullable<(typeof config.prompts)[string]>);
    assert.equal(clean.ab.base.n, heldout.length);
    assert.equal(clean.ab.base.perGold.A.n, heldout.filter((r) => r.truth === (r.order === 'TF')).length);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a row whose order is neither TF nor FT refuses the run before compute, naming the CSV line, on `order_column`', async () => {
    const dir = fixtureDir();
    const csv = path.join(dir, 'ordered.csv');
    const lines = fs.readFileSync(csv, 'utf8').split('\n');
    lines[4] = (lines[4] as string).replace(/,(TF|FT)$/, ',TT');
    fs.writeFileSync(csv, lines.join('\n'));
    const text = fs.readFileSync(path.join(dir, 'splits.rtune'), 'utf8');
    const file = path.join(dir, 'splits.rtune');
    const r = loadRunConfig(text, { baseDir: dir, builtinRoot: REPO_ROOT, env: createNodeEnv() });
    assert.ok('config' in r);
    await assert.rejects(
      runConfig(r.config, ['honesty'], { file, source: { text, analysis: r.analysis } }),
      (e: Error) => e.name === 'PreflightError' && /splits\.rtune:\d+:\d+: error: .*ordered\.csv:5: column "order" must be TF .*found "TT"/s.test(e.message),
    );
    assert.ok(!fs.existsSync(path.join(dir, 'runs')), 'no run folder was opened');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the tune's holdout splits by statement: no statement on both sides", () => {
    const rows = ['a', 'b', 'a', 'c', 'b', 'd', 'a', 'e'].map((statement, i) => ({ statement, i }));
    const { held, rest } = holdoutByStatement(new Rng(3).shuffle(rows), (r) => r.statement, 0.4);
    const h = new Set(held.map((r) => r.statement));
    assert.equal(h.size, 2, 'round(5 distinct × 0.4) statements held out');
    assert.ok(rest.every((r) => !h.has(r.statement)));
    assert.equal(held.length + rest.length, rows.length);
  });
});
