/**
 * Validation: one caret-marked fixture per diagnostic kind (`⟦…⟧` marks where each expected diagnostic must
 * be), cross-field rules, model-aware checks against fixture config.json files and real llama2.c / HF
 * checkpoints in ../shared/data, and the lowered RunConfig (defaults from the schema, absolute paths, frozen).
 */

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { DiagnosticCode } from '../../language/text';
import { PREAMBLE, check, fixturesDir, marked, sharedData, summarize } from './helpers';

/** Asserts that exactly the marked spans carry diagnostics, all with `code`. */
function expectDiagnostics(source: string, code: DiagnosticCode, messagePattern?: RegExp): void {
  const m = marked(source);
  const a = check(m.text);
  const got = a.diagnostics.map((d) => ({ start: d.span.start, end: d.span.end }));
  assert.deepEqual(got, m.spans, summarize(a.diagnostics, m.text).join('\n'));
  for (const d of a.diagnostics) {
    assert.equal(d.code, code, summarize([d], m.text)[0]);
    if (messagePattern !== undefined) assert.match(d.message, messagePattern);
  }
}

describe('validation: one fixture per diagnostic code', () => {
  it('syntax', () => expectDiagnostics(`${PREAMBLE}tune t {\n  prompts train\n  layers 1 ⟦2⟧\n}\n`, 'syntax'));

  it('unknown-section (did you mean)', () => {
    expectDiagnostics(`${PREAMBLE}⟦tunes⟧ t {\n}\n`, 'unknown-section', /Did you mean `tune`/);
    const a = check(`${PREAMBLE}tunes t {\n}\n`);
    assert.equal(a.diagnostics[0].fixes?.[0].edit.newText, 'tune');
  });

  it('unknown-key (did you mean, and where a misplaced key belongs)', () => {
    expectDiagnostics(`${PREAMBLE}tune t {\n  prompts train\n  layers 1\n  ⟦bach⟧ 4\n}\n`, 'unknown-key', /Did you mean `batch`/);
    expectDiagnostics(`${PREAMBLE}tune t {\n  prompts train\n  layers 1\n  ⟦lr_token⟧ 1e-5\n}\n`, 'unknown-key', /belongs inside `optimizer \{ \}`/);
    expectDiagnostics(`${PREAMBLE}⟦seeed⟧ 3\n`, 'unknown-key', /top-level key/);
  });

  it('duplicate-key and duplicate-section', () => {
    expectDiagnostics(`${PREAMBLE}tune t {\n  prompts train\n  layers 1\n  batch 4\n  ⟦batch⟧ 8\n}\n`, 'duplicate-key');
    expectDiagnostics(`${PREAMBLE}prompts ⟦train⟧ {\n  data "facts.csv"\n  template "{statement}"\n}\n`, 'duplicate-section');
  });

  it('missing-key (required keys and section names)', () => {
    expectDiagnostics(`${PREAMBLE}⟦tune t⟧ {\n  prompts train\n}\n`, 'missing-key', /needs `layers`/);
    expectDiagnostics(`${PREAMBLE}⟦tune⟧ {\n  prompts train\n  layers 1\n}\n`, 'missing-key', /needs a name/);
  });

  it('type', () => {
    expectDiagnostics(`${PREAMBLE}tune t {\n  prompts train\n  layers 1\n  batch ⟦"four"⟧\n  epochs ⟦2.5⟧\n  flip ⟦yes⟧\n}\n`, 'type');
  });

  it('range (out of range values and backwards ranges)', () => {
    expectDiagnostics(`${PREAMBLE}tune t {\n  prompts train\n  layers ⟦3..1⟧\n  holdout ⟦0.95⟧\n  optimizer { lr_token ⟦0⟧  betas [0.9, ⟦1⟧] }\n}\n`, 'range');
    const a = check(`${PREAMBLE}tune t {\n  prompts train\n  layers 3..1\n}\n`);
    assert.equal(a.diagnostics[0].fixes?.[0].edit.newText, '1..3');
  });

  it('enum (with did you mean)', () => {
    expectDiagnostics(`${PREAMBLE}direction d {\n  prompts contrast\n  method ⟦pcaa⟧\n}\n`, 'enum', /Did you mean `pca`/);
    expectDiagnostics(`${PREAMBLE}tune t {\n  prompts train\n  layers 1\n  token_loss { blocks [v, ⟦gatee⟧] }\n}\n`, 'enum', /unknown block/);
    expectDiagnostics(`model x {\n  path ⟦builtin:tiny⟧\n}\n`, 'enum');
  });

  it('unresolved-ref (with did you mean)', () => {
    expectDiagnostics(`${PREAMBLE}tune t {\n  prompts train\n  direction ⟦honsty⟧\n  layers 1\n}\n`, 'unresolved-ref', /Did you mean `honesty`/);
    expectDiagnostics(`${PREAMBLE}search s {\n  tune ⟦nothing⟧\n}\n`, 'unresolved-ref');
  });

  it('missing-file, with the resolved path', () => {
    const m = marked(`${PREAMBLE}prompts p {\n  data ⟦"nope/missing.csv"⟧\n  template "{statement}"\n}\n`);
    const a = check(m.text);
    assert.deepEqual(summarize(a.diagnostics, m.text).length, 1);
    assert.equal(a.diagnostics[0].code, 'missing-file');
    assert.ok(a.diagnostics[0].message.includes(path.join(fixturesDir, 'nope', 'missing.csv')), a.diagnostics[0].message);
    assert.deepEqual(
      a.diagnostics.map((d) => d.span),
      m.spans,
    );
  });

  it('model (unsupported architecture, unreadable config.json, not a llama2.c file)', () => {
    expectDiagnostics(`model p {\n  path ⟦"phi"⟧\n}\n`, 'model', /config\.json: unsupported model_type "phi". Supported: gpt2, llama, mistral, qwen2/);
    expectDiagnostics(`model b {\n  path ⟦"broken"⟧\n}\n`, 'model', /not valid JSON/);
    expectDiagnostics(`model c {\n  path ⟦"facts.csv"⟧\n}\n`, 'model', /invalid llama2\.c header .*not a legacy llama2\.c checkpoint/);
  });

  it("layer-depth: layers beyond the model's depth", () => {
    expectDiagnostics(
      `${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers [1, ⟦4⟧, ⟦9..12⟧]\n}\neval e {\n  tuned t\n  steering { direction honesty  layers [⟦7⟧]  multipliers [4] }\n}\n`,
      'layer-depth',
      /beyond the depth of model `demo`: Llama with 4 layers \(0..3\)/,
    );
  });

  it('block-arch: blocks the architecture lacks, and names from the other family', () => {
    const gpt2 = `model g {\n  path "${path.join(sharedData, 'hf-tiny-gpt2-random')}"\n}\nprompts train {\n  data "facts.csv"\n  template "{statement}"\n}\n`;
    expectDiagnostics(`${gpt2}tune t {\n  prompts train\n  layers 0..1\n  token_loss { blocks [⟦gate⟧, up, ⟦v_proj⟧, attn.c_proj] }\n}\n`, 'block-arch');
    expectDiagnostics(
      `${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers 1\n  projection_loss { blocks [⟦attn.c_proj⟧, v_proj] }\n}\n`,
      'block-arch',
      /GPT-2 name/,
    );
  });

  it('rule', () => {
    expectDiagnostics(`${PREAMBLE}eval e {\n  perplexity { data "text.txt"  max_length 100  stride ⟦120⟧ }\n}\n`, 'rule', /must not exceed `max_length`/);
    expectDiagnostics(`${PREAMBLE}tune t {\n  prompts train\n  layers 1\n  ⟦flip⟧ true\n}\n`, 'rule', /needs a `direction`/);
  });
});

describe('validation: cross-field rules', () => {
  const rule = (body: string, pattern: RegExp): void => {
    const a = check(`${PREAMBLE}${body}`);
    const rules = a.diagnostics.filter((d) => d.code === 'rule');
    assert.equal(rules.length, 1, summarize(a.diagnostics, a.document.text).join('\n'));
    assert.match(rules[0].message, pattern);
  };

  it('steering.max_ppl_increase needs perplexity; ab and compare take lists of sections, each once and each existing', () => {
    rule(
      'direction d {\n  prompts contrast\n  layers [1]\n}\neval e {\n  ab { prompts train }\n  steering { direction d  layers [1]  multipliers [1]  max_ppl_increase 0.1 }\n}\n',
      /`max_ppl_increase` bounds the perplexity cost/,
    );
    const two = check(`${PREAMBLE}eval e {\n  ab { prompts [train, contrast] }\n}\ncompare c {\n  evals [e]\n}\n`);
    assert.deepEqual(summarize(two.diagnostics, two.document.text), []);
    assert.deepEqual(two.config?.evals['e']?.ab?.prompts, ['train', 'contrast']);
    assert.deepEqual(two.config?.compares['c']?.evals, ['e']);
    expectDiagnostics(`${PREAMBLE}eval e {\n  ab { prompts [train, ⟦trian⟧] }\n}\n`, 'unresolved-ref', /Did you mean `train`/);
    expectDiagnostics(`${PREAMBLE}eval e {\n  ab { prompts ⟦[train, train]⟧ }\n}\n`, 'type', /twice/);
    expectDiagnostics(`${PREAMBLE}eval e {\n  ab { prompts train }\n}\ncompare c {\n  evals [e, ⟦f⟧]\n}\n`, 'unresolved-ref');
  });

  it('template placeholders, personas, anchors and labels', () => {
    rule('prompts p {\n  data "facts.csv"\n  template "{statement} {statment}"\n}\n', /unknown placeholder \{statment\}/);
    rule('prompts p {\n  data "facts.csv"\n  template "{persona} {statement}"\n  positive { persona "a" }\n}\n', /`negative \{ persona/);
    rule('prompts p {\n  data "facts.csv"\n  template "{statement} Answer:"\n  anchor "Reply:"\n}\n', /does not occur in the template/);
    rule('prompts p {\n  data "facts.csv"\n  template "{statement}"\n  false_label "A"\n}\n', /must differ/);
    const braces = check('prompts p {\n  data "facts.csv"\n  template "{{json}} {statement} Answer:"\n  anchor "Answer:"\n}\n');
    assert.deepEqual(summarize(braces.diagnostics, braces.document.text), [], '{{ and }} are literal braces');
    rule('prompts p {\n  data "facts.csv"\n  template "{statement} Answer:"\n  anchor "statement"\n}\n', /outside placeholders/);
    rule('prompts p {\n  data "facts.csv"\n  template "{statement} Answer:"\n  correct_only true\n}\n', /`correct_only`.*needs a \{label\} placeholder/);
  });

  it("template braces that form no placeholder are errors on the key's line, with a fix", () => {
    // The shape the prompts snippet used to expand to: {persona never closed, so it would be rendered as text.
    const body =
      'prompts p {\n  data "facts.csv"\n  template "⟦{persona⟧ Is it true? \\"{statement}\\"\\n\\nAnswer: {label}⟦}⟧"\n  positive { persona "a" }\n  negative { persona "b" }\n}\n';
    expectDiagnostics(`${PREAMBLE}${body}`, 'rule', /template: .*(not closed|closes no placeholder)/);
    const m = marked(`${PREAMBLE}${body}`);
    const a = check(m.text);
    const line = m.text.slice(0, m.text.indexOf('template "{persona Is')).split('\n').length;
    for (const d of a.diagnostics) assert.equal(m.text.slice(0, d.span.start).split('\n').length, line, 'reported on the template line');
    const [close, lone] = a.diagnostics;
    assert.match(close?.message ?? '', /"\{persona" is not closed: close it with \} .*or write \{\{ for a literal brace/);
    assert.deepEqual(
      [close?.fixes?.[0]?.title, close?.fixes?.[0]?.edit],
      ['Close {persona with }', { span: { start: m.spans[0]?.end, end: m.spans[0]?.end }, newText: '}' }],
    );
    assert.match(lone?.message ?? '', /write \}\} for a literal brace/);
    assert.equal(lone?.fixes?.[0]?.edit.newText, '}}');
    // Applying both fixes gives a template with no diagnostics.
    const fixed = `${m.text.slice(0, lone?.span.start)}}}${m.text.slice(lone?.span.end)}`.replace('{persona Is', '{persona} Is');
    assert.deepEqual(summarize(check(fixed).diagnostics, fixed), []);
    expectDiagnostics(
      `${PREAMBLE}prompts p {\n  data "facts.csv"\n  template "{statement} ⟦{⟧ \\"a\\": 1 }}"\n}\n`,
      'rule',
      /"\{" that starts no placeholder: write \{\{ for a literal brace/,
    );
    expectDiagnostics(
      `${PREAMBLE}prompts p {\n  data "facts.csv"\n  template "{statement} ⟦{ label }⟧ and ⟦{}⟧"\n}\n`,
      'rule',
      /spaces around it: write \{label\}|empty placeholder/,
    );
  });

  it('template escapes are decoded before placeholders are read', () => {
    const text = `${PREAMBLE}prompts p {\n  data "facts.csv"\n  template "\\u{263A} {statement} \\u{1F600}\\tAnswer:"\n  anchor "Answer:"\n}\n`;
    const a = check(text);
    assert.deepEqual(summarize(a.diagnostics, text), []);
    assert.equal(a.config?.prompts['p']?.template, '☺ {statement} 😀\tAnswer:');
    // A brace problem after escapes is still reported at the characters that were written.
    expectDiagnostics(`${PREAMBLE}prompts p {\n  data "facts.csv"\n  template "\\u{263A}\\u{1F600} {statement} ⟦{persona⟧"\n}\n`, 'rule', /not closed/);
  });

  it('directions: component only with pca, project_out loops, prompts that cannot contrast', () => {
    rule('direction d {\n  prompts contrast\n  component pc2\n}\n', /ignored with `method meandiff`/);
    rule('direction d {\n  prompts contrast\n  project_out d\n}\n', /cannot project out itself/);
    rule('direction d {\n  prompts train\n}\n', /neither \{persona\} nor \{label\}/);
    // by_label pairs differ in their rows, so a template with neither placeholder is fine there.
    const byLabel = check(
      `${PREAMBLE}prompts moods {\n  data "facts.csv"\n  template "{statement}"\n  pairing by_label\n}\ndirection d {\n  prompts moods\n}\n`,
    );
    assert.deepEqual(summarize(byLabel.diagnostics, byLabel.document.text), []);
    const loop = check(`${PREAMBLE}direction a {\n  prompts contrast\n  project_out b\n}\ndirection b {\n  prompts contrast\n  project_out a\n}\n`);
    assert.equal(loop.diagnostics.filter((d) => /loop/.test(d.message)).length, 2);
  });

  it('tuning: layers and position within the direction, training templates, early stopping, steps', () => {
    const pre = 'direction narrow {\n  prompts contrast\n  layers 1..2\n  positions -1..0\n}\n';
    rule(`${pre}tune t {\n  prompts train\n  direction narrow\n  layers 1..3\n}\n`, /not extracted at layer 3/);
    rule(`${pre}tune t {\n  prompts train\n  direction narrow\n  layers 1\n  position 2\n}\n`, /not among direction `narrow`'s positions/);
    rule(
      `${pre}tune t {\n  prompts train\n  direction narrow\n  layers 1\n  position [-1, 2, 3]\n}\n`,
      /position 2, 3 are not among direction `narrow`'s positions \(-1, 0\)/,
    );
    rule('tune t {\n  prompts contrast\n  layers 1\n}\n', /must not use \{persona\}/);
    rule('tune t {\n  prompts train\n  layers 1\n  holdout 0\n}\n', /early stopping needs held-out data/);
    rule(
      'tune t {\n  prompts train\n  layers 1\n  max_steps 10\n  schedule { warmup_steps 10 }\n  early_stopping { enabled false }\n}\n',
      /warmup \(10 steps\) must be shorter/,
    );
    rule('tune t {\n  prompts train\n  layers 1\n  projection_loss { weight 1 }\n}\n', /`projection_loss` needs a `direction`/);
    rule('tune t {\n  prompts train\n  layers 1\n  early_stopping { metric projection }\n}\n', /`metric projection` needs a `direction`/);
  });

  it('search, eval and export rules', () => {
    rule('tune t {\n  prompts train\n  layers 1\n}\nsearch s {\n  tune t\n  projection_blocks [v]\n}\n', /no direction/);
    rule(
      'tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\nsearch s {\n  tune t\n  sets joint\n  token_blocks all\n  projection_blocks all\n}\nsearch h {\n  tune t\n  eta 2\n}\n',
      /applies only to `strategy halving`/,
    );
    rule('eval e {\n  model demo\n}\n', /at least one of/);
    rule('eval e {\n  ab { limit 3 }\n}\n', /`ab` needs `prompts`/);
    rule('eval e {\n  projection_cosine { prompts train }\n}\n', /`projection_cosine` needs a `direction`/);
    rule('eval e {\n  projection_cosine { direction honesty }\n}\n', /`projection_cosine` needs `prompts`/);
    rule('eval e {\n  generate { limit 2 }\n}\n', /`generate` needs `prompts`/);
    rule('export x {\n  weights full\n  direction honesty\n}\n', /`weights` needs a `tune`/);
  });

  it('a file with two models requires each section to say which', () => {
    const a = check(`${PREAMBLE}model other {\n  path builtin:demo\n}\n`);
    assert.ok(
      a.diagnostics.some((d) => d.code === 'rule' && /which model\?/.test(d.message)),
      summarize(a.diagnostics, a.document.text).join('\n'),
    );
  });

  it('warns about exhaustive searches with too many trials', () => {
    const a = check(
      `${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\nsearch s {\n  tune t\n  sets joint\n  token_blocks all\n  projection_blocks all\n}\n`,
    );
    assert.deepEqual(
      a.diagnostics.map((d) => d.severity),
      [],
    );
    const big = check(
      `${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\nsearch s {\n  tune t\n  token_blocks all\n  projection_blocks all\n}\n`,
    );
    assert.ok(
      big.diagnostics.some((d) => d.severity === 'warning' && /261121 trials/.test(d.message)),
      summarize(big.diagnostics, big.document.text).join('\n'),
    );
  });
});
