/**
 * The language side of statement splits and option order: the keys lower with their defaults, `{option_a}` /
 * `{option_b}` need `order_column` (and it needs them), `split_fractions` must sum to 1, a `method random`
 * direction needs no prompts, an eval's `ab { prompts X }` reads X's rows by default, and two prompt sets over one
 * CSV whose splits overlap across a direction and a tune or an A/B evaluation get a warning.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { check, summarize } from './helpers';

const MODEL = 'model demo {\n  path builtin:demo\n}\n';
const CONTRAST = (extra = '') =>
  `prompts contrast {\n  data "facts.csv"\n  template "{persona} {statement} Answer: {label}"\n  positive { persona "honest" }\n  negative { persona "liar" }${extra}\n}\n`;
const TRAIN = (extra = '', name = 'train') => `prompts ${name} {\n  data "facts.csv"\n  template "{statement} Answer:"${extra}\n}\n`;
const USES = 'direction honesty {\n  prompts contrast\n}\ntune t {\n  prompts train\n  direction honesty\n  layers 1\n}\n';

const messages = (text: string, severity?: 'error' | 'warning'): string[] =>
  check(text)
    .diagnostics.filter((d) => severity === undefined || d.severity === severity)
    .map((d) => d.message);

describe('splits and option order in the language', () => {
  it('lowers the keys with their defaults', () => {
    const a = check(`${MODEL}${CONTRAST()}${TRAIN('\n  split tuning\n  split_fractions [0.5, 0.25, 0.25]')}${USES}`);
    assert.ok(a.config, summarize(a.diagnostics, a.document.text).join('\n'));
    const c = a.config.prompts['contrast'];
    assert.deepEqual([c?.split, c?.splitFractions, c?.orderColumn, c?.trueText, c?.falseText], ['all', [0.4, 0.3, 0.3], undefined, 'True', 'False']);
    assert.deepEqual([a.config.prompts['train']?.split, a.config.prompts['train']?.splitFractions], ['tuning', [0.5, 0.25, 0.25]]);
    const d = a.config.directions['honesty'];
    assert.deepEqual([d?.holdout, d?.seed, d?.prompts], [0.2, 0, 'contrast']);
  });

  it('{option_a}/{option_b} need order_column, and order_column needs both', () => {
    const options = '\n  template "{statement} A) {option_a} B) {option_b} Answer:"';
    assert.ok(
      messages(`${MODEL}prompts p {\n  data "facts.csv"${options}\n}\n`, 'error').some((m) => /uses \{option_a\} and \{option_b\}.*set `order_column`/.test(m)),
    );
    assert.ok(
      messages(`${MODEL}prompts p {\n  data "facts.csv"\n  template "{statement} A) True B) False Answer:"\n  order_column "order"\n}\n`, 'error').some((m) =>
        /`order_column` puts the options in each row's order/.test(m),
      ),
    );
    assert.deepEqual(messages(`${MODEL}prompts p {\n  data "facts.csv"${options}\n  order_column "order"\n  true_text "Yes"\n  false_text "No"\n}\n`), []);
    assert.ok(messages(`${MODEL}${TRAIN('\n  true_text "Yes"', 'p')}`, 'warning').some((m) => /`true_text` is shown only through/.test(m)));
  });

  it('split_fractions must be three numbers summing to 1', () => {
    assert.ok(
      messages(`${MODEL}${TRAIN('\n  split tuning\n  split_fractions [0.5, 0.3, 0.3]', 'p')}`, 'error').some((m) => /must sum to 1.*sums to 1\.1/.test(m)),
    );
    assert.ok(messages(`${MODEL}${TRAIN('\n  split tuning\n  split_fractions [0.5, 0.5]', 'p')}`, 'error').length > 0);
    assert.ok(messages(`${MODEL}${TRAIN('\n  split evaluation\n  split_fractions [0.7, 0.2, 0.1]', 'p')}`, 'error').length === 0);
  });

  it('a random direction needs no prompts; any other does', () => {
    const a = check(`${MODEL}direction r {\n  method random\n  seed 5\n}\n`);
    assert.deepEqual(summarize(a.diagnostics, a.document.text), []);
    assert.deepEqual([a.config?.directions['r']?.method, a.config?.directions['r']?.prompts, a.config?.directions['r']?.seed], ['random', undefined, 5]);
    assert.ok(
      messages(`${MODEL}direction d {\n  method meandiff\n}\n`, 'error').some((m) => /needs `prompts`.*unless it is a `method random` control/.test(m)),
    );
    assert.ok(
      messages(`${MODEL}${CONTRAST()}direction d {\n  prompts contrast\n  seed 3\n}\n`, 'warning').some((m) =>
        /`seed` applies only to `method random`/.test(m),
      ),
    );
  });

  it("an eval's ab { prompts X } evaluates X's rows by default; without prompts, the tuned run's held-out statements", () => {
    const text = (ab: string) => `${MODEL}${CONTRAST()}${TRAIN()}${TRAIN('\n  split evaluation', 'heldout')}${USES}eval e {\n  tuned t\n  ab { ${ab} }\n}\n`;
    assert.equal(check(text('prompts heldout')).config?.evals['e']?.ab?.holdout, false);
    assert.equal(check(text('')).config?.evals['e']?.ab?.holdout, true);
    assert.equal(check(text('prompts heldout  holdout true')).config?.evals['e']?.ab?.holdout, true);
  });

  it('warns when prompt sets over one CSV share statements across a direction and a tune or an A/B evaluation', () => {
    const warn = (contrast: string, train: string, more = '') => messages(`${MODEL}${CONTRAST(contrast)}${TRAIN(train)}${USES}${more}`, 'warning');
    assert.deepEqual(warn('\n  split direction', '\n  split tuning'), []);
    assert.deepEqual(warn('', ''), [], 'files without any split are not warned about');
    const all = warn('', '\n  split evaluation');
    assert.equal(all.length, 1);
    assert.match(all[0] as string, /^prompt sets `contrast` and `train` share statements \(both read facts\.csv\); give them different `split`s/);
    assert.equal(warn('\n  split direction', '\n  split direction').length, 1, 'both direction');
    assert.match(warn('\n  split direction', '\n  split tuning\n  split_fractions [0.5, 0.25, 0.25]')[0] ?? '', /their `split_fractions` differ/);
    // The A/B evaluation's set against the direction's.
    const ab = (contrast: string) =>
      warn(contrast, '\n  split tuning', `${TRAIN('\n  split evaluation', 'heldout')}eval e {\n  tuned t\n  ab { prompts heldout }\n}\n`);
    assert.deepEqual(ab('\n  split direction'), []);
    assert.ok(ab('').some((m) => /`contrast` and `heldout` share statements/.test(m)));
    // One set feeding both a direction and a tune.
    const same = messages(
      `${MODEL}${CONTRAST('\n  split direction')}direction d {\n  prompts contrast\n}\ndirection e {\n  prompts train\n}\n${TRAIN('\n  split tuning')}eval x {\n  ab { prompts contrast }\n}\n`,
      'warning',
    );
    assert.ok(
      same.some((m) => /prompt set `contrast` feeds both direction `d` and eval `x`'s ab/.test(m)),
      same.join('\n'),
    );
  });
});
