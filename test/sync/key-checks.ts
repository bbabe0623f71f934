/**
 * How each key of the `.rtune` schema is shown to do what its hover says. Every key the schema declares (except
 * those it marks `editorOnly`, with a reason) has exactly one entry here, and the sync test fails on a key with
 * neither:
 * - a `run` check: the experiment of experiment.ts run twice, differing only in that key (set to `value`, or
 *   removed when `value` is undefined), must differ as documented: by default, what the section's run left
 *   (results, summary, numeric events, files written, where) differs; `expect` states the documented difference
 *   where it is narrower.
 * - a `test` reference: a named test elsewhere that shows the key's effect (when the experiment cannot: another
 *   model format, a tokenizer file); the sync test checks that the file has a test of that name.
 */
import * as assert from 'node:assert/strict';
import type { Outcome } from './experiment';

export interface RunCheck {
  /** Section of the experiment the key is set in (undefined: a root key). */
  section?: string;
  value: string | undefined;
  /** Sections to run (their prerequisites run too). Default: [section]. */
  run?: string[];
  /** Whose run to compare. Default: section. */
  compare?: string;
  expect?: (base: Outcome, changed: Outcome, compare: string) => void;
}
export interface TestRef {
  test: string;
  name: string;
}
export type KeyCheck = RunCheck | TestRef;

type Run = Record<string, unknown> & {
  events?: Array<Record<string, unknown>>;
  logs?: string[];
  metrics?: Record<string, number>;
  result?: Record<string, unknown>;
};
const run = (o: Outcome, name: string): Run => (o.runs[name] ?? assert.fail(`no run of ${name}`)) as Run;
const count = (o: Outcome, type: string, job?: string): number =>
  o.events.filter((e) => e.type === type && (job === undefined || ('job' in e && e.job === job))).length;

/** The same numbers, but batched differently: the number of progress events changes. */
const batching =
  (job: string) =>
  (a: Outcome, b: Outcome, compare: string): void => {
    assert.notEqual(count(a, 'progress', job), count(b, 'progress', job), 'progress events per batch');
    const m = (o: Outcome) => run(o, compare).metrics ?? {};
    for (const [k, v] of Object.entries(m(a)))
      assert.ok(Math.abs(v - (m(b)[k] ?? NaN)) <= 1e-4 * Math.max(1, Math.abs(v)), `${k}: ${v} vs ${m(b)[k]} (batching must not change results)`);
  };

const logsMention =
  (word: string) =>
  (_a: Outcome, b: Outcome, compare: string): void => {
    assert.ok(
      (run(b, compare).logs ?? []).some((l) => l.toLowerCase().includes(word.toLowerCase())),
      `a log line of ${compare} names ${word}`,
    );
  };

export const KEY_CHECKS: Readonly<Record<string, KeyCheck>> = {
  runs: { value: '"elsewhere"', run: ['honesty'], compare: 'honesty' },

  'model.path': { test: 'test/job/run.test.ts', name: 'runs direction, tune, eval and export into complete run folders, and the tuned model lies less' },
  'model.tokenizer': {
    test: 'test/engine/tokenizer/llama2c.test.ts',
    name: 'loadTokenizer finds tok<vocab>.bin next to a llama2.c model and reads the vocab size from it',
  },
  'model.revision': {
    test: 'test/hub/run.test.ts',
    name: 'two runs differing only in `revision` resolve to different snapshots, record their commits and extract different directions',
  },
  'model.backend': { section: 'demo', value: 'cpu', run: ['honesty'], compare: 'honesty', expect: logsMention('cpu') },

  'prompts.data': { section: 'contrast', value: '"facts2.csv"', run: ['honesty'], compare: 'honesty' },
  'prompts.text_column': { section: 'contrast', value: '"claim"', run: ['honesty'], compare: 'honesty' },
  'prompts.label_column': { section: 'contrast', value: '"truth"', run: ['honesty'], compare: 'honesty' },
  'prompts.template': {
    section: 'contrast',
    value: '"Question. {persona}\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer: {label}"',
    run: ['honesty'],
    compare: 'honesty',
  },
  'prompts.true_label': { section: 'contrast', value: '"T"', run: ['honesty'], compare: 'honesty' },
  'prompts.false_label': { section: 'contrast', value: '"F"', run: ['honesty'], compare: 'honesty' },
  'prompts.positive.persona': { section: 'contrast', value: '"Pretend you are a truthful person."', run: ['honesty'], compare: 'honesty' },
  'prompts.negative.persona': { section: 'contrast', value: '"Pretend you are a lying person."', run: ['honesty'], compare: 'honesty' },
  'prompts.pairing': { section: 'contrast', value: 'unpaired', run: ['honesty'], compare: 'honesty' },
  'prompts.anchor': { section: 'contrast', value: '"claim"', run: ['honesty'], compare: 'honesty' },
  'prompts.anchor_offset': { section: 'contrast', value: '-1', run: ['honesty'], compare: 'honesty' },
  'prompts.limit': { section: 'contrast', value: '12', run: ['honesty'], compare: 'honesty' },
  'prompts.correct_only': { section: 'contrast', value: 'true', run: ['honesty'], compare: 'honesty' },
  'prompts.split': {
    section: 'contrast',
    value: 'tuning',
    run: ['honesty'],
    compare: 'honesty',
    expect: (a, b) => assert.notDeepEqual(run(b, 'honesty').result, run(a, 'honesty').result, 'another split extracts from other statements'),
  },
  'prompts.split_fractions': { section: 'contrast2', value: '[0.6, 0.2, 0.2]', run: ['second'], compare: 'second' },
  'prompts.order_column': { section: 'ordered', value: '"order2"', run: ['ordered_dir'], compare: 'ordered_dir' },
  'prompts.true_text': { section: 'ordered', value: '"Yes"', run: ['ordered_dir'], compare: 'ordered_dir' },
  'prompts.false_text': { section: 'ordered', value: '"No"', run: ['ordered_dir'], compare: 'ordered_dir' },

  'direction.model': { section: 'honesty', value: 'demo2', expect: logsMention('cpu') },
  'direction.prompts': { section: 'honesty', value: 'contrast2' },
  'direction.method': { section: 'honesty', value: 'pca' },
  'direction.component': { section: 'second', value: 'pc2' },
  'direction.layers': { section: 'honesty', value: '[0, 1, 2, 3]' },
  'direction.positions': { section: 'honesty', value: '[-2, -1, 0]' },
  'direction.normalise': { section: 'honesty', value: 'false' },
  'direction.project_out': { section: 'second', value: 'honesty', run: ['honesty', 'second'] },
  'direction.batch': { section: 'honesty', value: '4', expect: batching('direction') },
  'direction.output': { section: 'honesty', value: '"out/honesty"' },
  'direction.holdout': {
    section: 'honesty',
    value: '0',
    expect: (a, b) => {
      const ra = run(a, 'honesty').result ?? {};
      const rb = run(b, 'honesty').result ?? {};
      assert.equal(ra['separationOn'], 'held-out', 'the default holdout 0.2 reports held-out separation');
      assert.ok((ra['pairsHeldOut'] as number) > 0, `${String(ra['pairsEstimated'])} pairs estimate it, ${String(ra['pairsHeldOut'])} held out`);
      assert.equal((ra['pairsEstimated'] as number) + (ra['pairsHeldOut'] as number), 24);
      assert.equal(rb['separationOn'], 'in-sample', 'holdout 0 reports in-sample separation only');
      assert.equal(rb['pairsEstimated'], 24, 'holdout 0 estimates from every pair');
      assert.notDeepEqual(run(b, 'honesty').files, run(a, 'honesty').files, 'the vectors change with the pairs they are estimated from');
    },
  },
  'direction.seed': {
    section: 'control',
    value: '7',
    expect: (a, b) => assert.notDeepEqual(run(b, 'control').files, run(a, 'control').files, 'another seed draws other vectors'),
  },

  'tune.model': { section: 'truthful', value: 'demo2', expect: logsMention('cpu') },
  'tune.prompts': { section: 'truthful', value: 'other' },
  'tune.direction': { section: 'truthful', value: 'second' },
  'tune.mode': { section: 'truthful', value: 'out' },
  'tune.flip': { section: 'truthful', value: 'true' },
  'tune.layers': { section: 'truthful', value: '2' },
  'tune.position': { section: 'truthful', value: '0' },
  'tune.labels': { section: 'truthful', value: 'dishonest' },
  'tune.token_loss.target': { section: 'truthful', value: 'soft' },
  'tune.token_loss.weight': { section: 'truthful', value: '0.5' },
  'tune.token_loss.skip_below': { section: 'truthful', value: '100' },
  'tune.token_loss.blocks': { section: 'truthful', value: '[up]' },
  'tune.projection_loss.weight': { section: 'truthful', value: '0.3' },
  'tune.projection_loss.blocks': { section: 'truthful', value: '[o]' },
  'tune.projection_loss.margin': { section: 'truthful', value: '0.2' },
  'tune.optimizer.name': { section: 'truthful', value: 'sgd' },
  'tune.optimizer.lr_token': { section: 'truthful', value: '1e-3' },
  'tune.optimizer.lr_projection': { section: 'truthful', value: '1e-3' },
  'tune.optimizer.betas': { section: 'truthful', value: '[0.5, 0.9]' },
  'tune.optimizer.eps': { section: 'truthful', value: '1e-2' },
  'tune.optimizer.weight_decay': { section: 'truthful', value: '0.9' },
  'tune.optimizer.clip_norm': { section: 'truthful', value: '0.05' },
  'tune.schedule.warmup_steps': { section: 'truthful', value: '4' },
  'tune.schedule.warmup_fraction': { section: 'truthful', value: '0.5' },
  'tune.schedule.decay': { section: 'truthful', value: 'linear' },
  'tune.schedule.min_lr_ratio': { section: 'truthful', value: '0.5' },
  'tune.batch': { section: 'truthful', value: '4' },
  'tune.epochs': {
    section: 'other_tune',
    value: '2',
    expect: (a, b) => assert.ok(count(b, 'step', 'tune') > count(a, 'step', 'tune'), 'two epochs train more steps than one'),
  },
  'tune.max_steps': {
    section: 'truthful',
    value: '3',
    expect: (a, b) => assert.equal(count(b, 'step', 'tune'), 3, `max_steps 3 trains 3 steps (base ${count(a, 'step', 'tune')})`),
  },
  'tune.early_stopping.enabled': { section: 'truthful', value: 'false' },
  'tune.early_stopping.patience': {
    section: 'stall',
    value: '100',
    expect: (a, b) =>
      assert.ok(count(b, 'step', 'tune') > count(a, 'step', 'tune'), `patience 100 trains longer than patience 1 (${count(a, 'step', 'tune')} steps)`),
  },
  'tune.early_stopping.min_steps': {
    section: 'stall',
    value: '6',
    expect: (a, b) =>
      assert.ok(
        count(b, 'step', 'tune') >= 6 && count(a, 'step', 'tune') < 6,
        `no stop before min_steps (${count(a, 'step', 'tune')} → ${count(b, 'step', 'tune')} steps)`,
      ),
  },
  'tune.early_stopping.every': {
    section: 'truthful',
    value: '2',
    expect: (a, b) => assert.ok(count(b, 'eval', 'tune') > count(a, 'eval', 'tune'), 'evaluating every 2 steps evaluates more often'),
  },
  'tune.early_stopping.window': { section: 'truthful', value: '1' },
  'tune.early_stopping.metric': { section: 'truthful', value: 'token' },
  'tune.holdout': { section: 'truthful', value: '0.5' },
  'tune.seed': { section: 'truthful', value: '7' },
  'tune.output': { section: 'truthful', value: '"out/tune"' },

  'search.tune': { section: 'blocks', value: 'other_tune' },
  'search.token_blocks': { section: 'blocks', value: '[up, down]' },
  'search.projection_blocks': { section: 'blocks', value: '[v]' },
  'search.sets': { section: 'blocks', value: 'joint' },
  'search.strategy': { section: 'blocks', value: 'halving' },
  'search.max_blocks': { section: 'blocks', value: '1' },
  'search.steps_per_trial': { section: 'blocks', value: '3' },
  'search.eta': { section: 'halve', value: '3' },
  'search.min_steps': { section: 'halve', value: '2' },
  'search.budget': { section: 'blocks', value: '4' },
  'search.layers': { section: 'blocks', value: '2' },
  'search.rank_by': { section: 'blocks', value: 'token' },
  'search.sample_prompt': { section: 'blocks', value: '"Answer:"' },
  'search.sample_tokens': { section: 'blocks', value: '2' },
  'search.output': { section: 'blocks', value: '"out/search"' },

  'eval.model': { section: 'plain', value: 'demo2', expect: logsMention('cpu') },
  'eval.tuned': { section: 'check', value: 'other_tune' },
  'eval.perplexity.data': { section: 'plain', value: '"text2.txt"' },
  'eval.perplexity.max_length': { section: 'plain', value: '32' },
  'eval.perplexity.stride': { section: 'plain', value: '16' },
  'eval.perplexity.batch': { section: 'plain', value: '1', expect: batching('perplexity') },
  'eval.perplexity.bootstrap': { section: 'check', value: '50' },
  'eval.perplexity.seed': { section: 'check', value: '7' },
  'eval.perplexity.newlines': { section: 'plain', value: 'raw' },
  'eval.perplexity.max_tokens': { section: 'plain', value: '120' },
  'eval.ab.prompts': {
    section: 'check',
    value: '[liar, other]',
    expect: (_a, b, c) => {
      const sets = (run(b, c).result?.['ab'] as { sets: Array<{ prompts: string; base: { n: number } }> }).sets;
      assert.deepEqual(
        sets.map((x) => x.prompts),
        ['liar', 'other'],
        'one A/B row per prompt set, in order',
      );
      assert.ok(run(b, c).metrics?.['honestBase:other'] !== undefined, 'metrics per set');
    },
  },
  'eval.perplexity.bootstrap_unit': {
    section: 'check',
    value: 'documents',
    expect: (a, b, c) => {
      const cmp = (o: Outcome) =>
        (run(o, c).result?.['perplexity'] as { comparison: { unit: string; units: number; deltaPct: number; ciPct: number[] } }).comparison;
      assert.equal(cmp(a).unit, 'windows');
      assert.equal(cmp(b).unit, 'documents');
      assert.notEqual(cmp(a).units, cmp(b).units, 'documents and windows are different units');
      assert.notDeepEqual(cmp(a).ciPct, cmp(b).ciPct, 'a different unit gives a different interval');
    },
  },
  'eval.ab.holdout': { section: 'check', value: 'false' },
  'eval.ab.limit': { section: 'check', value: '4' },
  'eval.steering.direction': { section: 'check', value: 'second' },
  'eval.steering.layers': { section: 'check', value: '[1]' },
  'eval.steering.multipliers': { section: 'check', value: '[3]' },
  'eval.steering.combine': { section: 'check', value: 'true' },
  'eval.steering.scale': { section: 'check', value: 'norm' },
  'eval.steering.prompts': { section: 'check', value: 'other' },
  'eval.steering.position': { section: 'check', value: '0' },
  'eval.steering.max_new_tokens': { section: 'check', value: '2' },
  'eval.steering.max_ppl_increase': {
    section: 'check',
    value: '0',
    expect: (a, b, c) => {
      type St = { maxPplIncrease: number; best: number | null; cells: Array<{ multiplier: number; metrics: { honest: number }; ppl: { deltaPct: number } }> };
      const st = (o: Outcome) => run(o, c).result?.['steering'] as St;
      assert.equal(st(a).maxPplIncrease, 0.1, 'the default bound with perplexity is 0.10');
      assert.equal(st(b).maxPplIncrease, 0);
      for (const [o, bound] of [
        [a, 10],
        [b, 0],
      ] as const) {
        const s = st(o);
        assert.ok(
          s.cells.every((x) => x.ppl !== undefined),
          'every cell has a perplexity cost',
        );
        const ok = s.cells.filter((x) => x.ppl.deltaPct <= bound);
        const top = Math.max(...ok.map((x) => x.metrics.honest));
        assert.ok(s.best !== null && (s.cells[s.best]?.ppl.deltaPct ?? Infinity) <= bound, 'the best cell is within the bound');
        assert.equal(s.cells[s.best]?.metrics.honest, top, 'and has the highest honest rate among those');
      }
    },
  },
  'eval.projection_cosine.direction': { section: 'check', value: 'second' },
  'eval.projection_cosine.layers': { section: 'check', value: '[1]' },
  'eval.projection_cosine.position': { section: 'check', value: '0' },
  'eval.projection_cosine.prompts': { section: 'check', value: 'other' },
  'eval.projection_cosine.limit': { section: 'check', value: '4' },
  'eval.generate.prompts': { section: 'check', value: 'other' },
  'eval.generate.limit': { section: 'check', value: '1' },
  'eval.generate.max_new_tokens': { section: 'check', value: '2' },
  'eval.generate.batch': {
    section: 'check',
    value: '1',
    expect: (a, b, compare) => {
      assert.notEqual(count(a, 'progress', 'generate'), count(b, 'progress', 'generate'), 'a progress event per batch');
      assert.deepEqual(run(b, compare).result?.['generate'], run(a, compare).result?.['generate'], 'the same greedy texts, batched or not');
    },
  },
  'eval.generate.score.lexicon': {
    section: 'check',
    value: '"lexicon2.txt"',
    expect: (a, b, compare) => {
      const scores = (o: Outcome) =>
        (run(o, compare).result?.['score'] as { base: { scores: number[] }; tuned: { scores: number[] } }) ?? assert.fail('no score');
      assert.notDeepEqual([scores(b).base.scores, scores(b).tuned.scores], [scores(a).base.scores, scores(a).tuned.scores], 'other words, other scores');
      assert.deepEqual(run(b, compare).result?.['generate'], run(a, compare).result?.['generate'], 'the same generations (greedy: deterministic)');
      assert.match(
        String(run(b, compare).headline),
        /score [+-]\d+\.\d\d → [+-]\d+\.\d\d \(change .*95% CI/,
        'the headline (the inline result) shows the score',
      );
      assert.match(String(run(b, compare).detail), /\| score > 0 \|/, 'the detail (the hover) has the score table');
    },
  },
  'eval.output': { section: 'plain', value: '"out/eval"' },
  'compare.evals': {
    section: 'table',
    value: '[check, plain]',
    expect: (a, b, c) => {
      const evals = (o: Outcome) => (run(o, c).result?.['evals'] as Array<{ name: string }>).map((e) => e.name);
      assert.deepEqual(evals(a), ['check']);
      assert.deepEqual(evals(b), ['check', 'plain']);
      assert.ok(run(b, 'plain').status === 'done', 'the listed evals run first');
    },
  },
  'compare.output': { section: 'table', value: '"out/table"', expect: (a, b, c) => assert.notEqual(run(a, c).where, run(b, c).where) },

  'export.tune': { section: 'release', value: 'other_tune' },
  'export.direction': { section: 'release', value: 'second' },
  'export.weights': { section: 'release', value: 'full' },
  'export.dtype': { section: 'release', value: 'f16' },
  'export.direction_formats': { section: 'release', value: '[gguf]' },
  'export.position': { section: 'release', value: '0' },
  'export.layers': { section: 'release', value: '[2]' },
  'export.output': { section: 'release', value: '"exports/other"' },
};
