/**
 * Validation: one caret-marked fixture per diagnostic kind (`⟦…⟧` marks where each expected diagnostic must
 * be), cross-field rules, model-aware checks against fixture config.json files and real llama2.c / HF
 * checkpoints in ../shared/data, and the lowered RunConfig (defaults from the schema, absolute paths, frozen).
 */

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { DiagnosticCode } from '../../language/text';
import { enumerateBlockSets } from '../../model/block-sets';
import { familyBlocks, resolveBlocks, slicesKey } from '../../model/blocks';
import { normalizeHfConfig } from '../../model/config';
import { PREAMBLE, check, env, fixturesDir, marked, sharedData, summarize } from './helpers';

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
    assert.deepEqual(a.diagnostics.map((d) => d.span), m.spans);
  });

  it('model (unsupported architecture, unreadable config.json, not a llama2.c file)', () => {
    expectDiagnostics(`model p {\n  path ⟦"phi"⟧\n}\n`, 'model', /config\.json: unsupported model_type "phi". Supported: gpt2, llama, mistral, qwen2/);
    expectDiagnostics(`model b {\n  path ⟦"broken"⟧\n}\n`, 'model', /not valid JSON/);
    expectDiagnostics(`model c {\n  path ⟦"facts.csv"⟧\n}\n`, 'model', /invalid llama2\.c header .*not a legacy llama2\.c checkpoint/);
  });

  it('layer-depth: layers beyond the model\'s depth', () => {
    expectDiagnostics(
      `${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers [1, ⟦4⟧, ⟦9..12⟧]\n}\neval e {\n  tuned t\n  steering { direction honesty  layers [⟦7⟧]  multipliers [4] }\n}\n`,
      'layer-depth',
      /beyond the depth of model `demo`: Llama with 4 layers \(0..3\)/,
    );
  });

  it('block-arch: blocks the architecture lacks, and names from the other family', () => {
    const gpt2 = `model g {\n  path "${path.join(sharedData, 'hf-tiny-gpt2-random')}"\n}\nprompts train {\n  data "facts.csv"\n  template "{statement}"\n}\n`;
    expectDiagnostics(`${gpt2}tune t {\n  prompts train\n  layers 0..1\n  token_loss { blocks [⟦gate⟧, up, ⟦v_proj⟧, attn.c_proj] }\n}\n`, 'block-arch');
    expectDiagnostics(`${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers 1\n  projection_loss { blocks [⟦attn.c_proj⟧, v_proj] }\n}\n`, 'block-arch', /GPT-2 name/);
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

  it('template braces that form no placeholder are errors on the key\'s line, with a fix', () => {
    // The shape the prompts snippet used to expand to: {persona never closed, so it would be rendered as text.
    const body = 'prompts p {\n  data "facts.csv"\n  template "⟦{persona⟧ Is it true? \\"{statement}\\"\\n\\nAnswer: {label}⟦}⟧"\n  positive { persona "a" }\n  negative { persona "b" }\n}\n';
    expectDiagnostics(`${PREAMBLE}${body}`, 'rule', /template: .*(not closed|closes no placeholder)/);
    const m = marked(`${PREAMBLE}${body}`);
    const a = check(m.text);
    const line = m.text.slice(0, m.text.indexOf('template "{persona Is')).split('\n').length;
    for (const d of a.diagnostics) assert.equal(m.text.slice(0, d.span.start).split('\n').length, line, 'reported on the template line');
    const [close, lone] = a.diagnostics;
    assert.match(close?.message ?? '', /"\{persona" is not closed: close it with \} .*or write \{\{ for a literal brace/);
    assert.deepEqual([close?.fixes?.[0]?.title, close?.fixes?.[0]?.edit], ['Close {persona with }', { span: { start: m.spans[0]?.end, end: m.spans[0]?.end }, newText: '}' }]);
    assert.match(lone?.message ?? '', /write \}\} for a literal brace/);
    assert.equal(lone?.fixes?.[0]?.edit.newText, '}}');
    // Applying both fixes gives a template with no diagnostics.
    const fixed = `${m.text.slice(0, lone?.span.start)}}}${m.text.slice(lone?.span.end)}`.replace('{persona Is', '{persona} Is');
    assert.deepEqual(summarize(check(fixed).diagnostics, fixed), []);
    expectDiagnostics(`${PREAMBLE}prompts p {\n  data "facts.csv"\n  template "{statement} ⟦{⟧ \\"a\\": 1 }}"\n}\n`, 'rule', /"\{" that starts no placeholder: write \{\{ for a literal brace/);
    expectDiagnostics(`${PREAMBLE}prompts p {\n  data "facts.csv"\n  template "{statement} ⟦{ label }⟧ and ⟦{}⟧"\n}\n`, 'rule', /spaces around it: write \{label\}|empty placeholder/);
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
    const byLabel = check(`${PREAMBLE}prompts moods {\n  data "facts.csv"\n  template "{statement}"\n  pairing by_label\n}\ndirection d {\n  prompts moods\n}\n`);
    assert.deepEqual(summarize(byLabel.diagnostics, byLabel.document.text), []);
    const loop = check(`${PREAMBLE}direction a {\n  prompts contrast\n  project_out b\n}\ndirection b {\n  prompts contrast\n  project_out a\n}\n`);
    assert.equal(loop.diagnostics.filter((d) => /loop/.test(d.message)).length, 2);
  });

  it('tuning: layers and position within the direction, training templates, early stopping, steps', () => {
    const pre = 'direction narrow {\n  prompts contrast\n  layers 1..2\n  positions -1..0\n}\n';
    rule(`${pre}tune t {\n  prompts train\n  direction narrow\n  layers 1..3\n}\n`, /not extracted at layer 3/);
    rule(`${pre}tune t {\n  prompts train\n  direction narrow\n  layers 1\n  position 2\n}\n`, /not among direction `narrow`'s positions/);
    rule(`${pre}tune t {\n  prompts train\n  direction narrow\n  layers 1\n  position [-1, 2, 3]\n}\n`, /position 2, 3 are not among direction `narrow`'s positions \(-1, 0\)/);
    rule('tune t {\n  prompts contrast\n  layers 1\n}\n', /must not use \{persona\}/);
    rule('tune t {\n  prompts train\n  layers 1\n  holdout 0\n}\n', /early stopping needs held-out data/);
    rule('tune t {\n  prompts train\n  layers 1\n  max_steps 10\n  schedule { warmup_steps 10 }\n  early_stopping { enabled false }\n}\n', /warmup \(10 steps\) must be shorter/);
    rule('tune t {\n  prompts train\n  layers 1\n  projection_loss { weight 1 }\n}\n', /`projection_loss` needs a `direction`/);
    rule('tune t {\n  prompts train\n  layers 1\n  early_stopping { metric projection }\n}\n', /`metric projection` needs a `direction`/);
  });

  it('search, eval and export rules', () => {
    rule('tune t {\n  prompts train\n  layers 1\n}\nsearch s {\n  tune t\n  projection_blocks [v]\n}\n', /no direction/);
    rule('tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\nsearch s {\n  tune t\n  sets joint\n  token_blocks all\n  projection_blocks all\n}\nsearch h {\n  tune t\n  eta 2\n}\n', /applies only to `strategy halving`/);
    rule('eval e {\n  model demo\n}\n', /at least one of/);
    rule('eval e {\n  ab { limit 3 }\n}\n', /`ab` needs `prompts`/);
    rule('eval e {\n  projection_cosine { prompts train }\n}\n', /`projection_cosine` needs a `direction`/);
    rule('eval e {\n  projection_cosine { direction honesty }\n}\n', /`projection_cosine` needs `prompts`/);
    rule('eval e {\n  generate { limit 2 }\n}\n', /`generate` needs `prompts`/);
    rule('export x {\n  weights full\n  direction honesty\n}\n', /`weights` needs a `tune`/);
  });

  it('a file with two models requires each section to say which', () => {
    const a = check(`${PREAMBLE}model other {\n  path builtin:demo\n}\n`);
    assert.ok(a.diagnostics.some((d) => d.code === 'rule' && /which model\?/.test(d.message)), summarize(a.diagnostics, a.document.text).join('\n'));
  });

  it('warns about exhaustive searches with too many trials', () => {
    const a = check(`${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\nsearch s {\n  tune t\n  sets joint\n  token_blocks all\n  projection_blocks all\n}\n`);
    assert.deepEqual(a.diagnostics.map((d) => d.severity), []);
    const big = check(`${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\nsearch s {\n  tune t\n  token_blocks all\n  projection_blocks all\n}\n`);
    assert.ok(big.diagnostics.some((d) => d.severity === 'warning' && /261121 trials/.test(d.message)), summarize(big.diagnostics, big.document.text).join('\n'));
  });
});

/** A GPT-2 model (2 layers, fixture config) and prompt sets, like PREAMBLE. */
const GPT2 = PREAMBLE.replace('model demo {\n  path builtin:demo\n}', 'model demo {\n  path "gpt2-2layer"\n}');

describe('search candidates, counted like the engine', () => {
  const searchOf = (model: string, body: string) => check(`${model}tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\nsearch s {\n  tune t\n${body}}\n`);

  it('max_blocks bounds each loss: max_blocks 1 is a valid search, max_blocks 2 over every block counts like the engine', () => {
    const a = searchOf(PREAMBLE, '  max_blocks 1\n');
    assert.deepEqual(summarize(a.diagnostics, a.document.text), []);
    assert.equal(a.config?.searches['s']?.maxBlocks, 1);
    const all = familyBlocks('llama');
    const engine = enumerateBlockSets(all, all, 'separate', 2).length;
    const b = searchOf(PREAMBLE, '  token_blocks all\n  projection_blocks all\n  max_blocks 2\n');
    assert.match(b.diagnostics.find((d) => d.severity === 'warning')?.message ?? '', new RegExp(`runs ${engine} trials`), summarize(b.diagnostics, b.document.text).join('\n'));
  });

  it('settings that leave no candidates are an error naming the key and the fix', () => {
    const m = marked(`${GPT2}tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\nsearch s {\n  tune t\n  token_blocks ⟦[gate]⟧\n}\n`);
    const a = check(m.text);
    const rules = a.diagnostics.filter((d) => d.code === 'rule');
    assert.deepEqual(rules.map((d) => d.span), m.spans, summarize(a.diagnostics, m.text).join('\n'));
    assert.match(rules[0]?.message ?? '', /no candidates: `token_blocks` names no block that model `demo` \(GPT-2\) has; list blocks it has \(q, k, v, o, up, down, attn_norm, mlp_norm\)/);
    assert.ok(a.diagnostics.some((d) => d.code === 'block-arch'), 'and `gate` itself is flagged');
  });

  it('the exhaustive-search warning counts the engine\'s candidates on the model\'s architecture', () => {
    const one = { ...normalizeHfConfig({ model_type: 'gpt2', vocab_size: 64, n_embd: 8, n_head: 2, n_layer: 2, n_positions: 32 }, 'c'), nLayers: 1 };
    const engine = enumerateBlockSets(familyBlocks('gpt2'), familyBlocks('gpt2'), 'separate', undefined, (bs) => slicesKey(one, resolveBlocks(one, bs, [0]))).length;
    const a = searchOf(GPT2, '  token_blocks all\n  projection_blocks all\n');
    const warning = a.diagnostics.find((d) => d.severity === 'warning');
    assert.match(warning?.message ?? '', new RegExp(`runs ${engine} trials`), summarize(a.diagnostics, a.document.text).join('\n'));
  });

  it('a tune with `layers all` matches a direction at every layer of the model', () => {
    const dir = (layers: string) => `direction d {\n  prompts contrast\n  layers ${layers}\n}\ntune t {\n  prompts train\n  direction d\n  layers all\n}\n`;
    const two = check(`${GPT2}${dir('[0, 1]')}`);
    assert.deepEqual(summarize(two.diagnostics, two.document.text), [], 'the 2-layer model: all = [0, 1]');
    const four = check(`${PREAMBLE}${dir('[0, 1]')}`);
    const rules = four.diagnostics.filter((d) => d.code === 'rule');
    assert.equal(rules.length, 1, summarize(four.diagnostics, four.document.text).join('\n'));
    assert.match(rules[0]?.message ?? '', /not extracted at layers 2, 3 \(`all` is layers 0\.\.3 of model `demo`\) \(its layers: 0, 1\)/);
    const unknown = check(`${PREAMBLE.replace('path builtin:demo', 'path "models/not-downloaded"')}${dir('[0, 1]')}`);
    const w = unknown.diagnostics.filter((d) => d.code === 'rule');
    assert.deepEqual(w.map((d) => d.severity), ['warning'], summarize(unknown.diagnostics, unknown.document.text).join('\n'));
    assert.match(w[0]?.message ?? '', /`layers all` tunes every layer of the model, but direction `d` was extracted only at layers 0, 1/);
  });
});

describe('validation: steering and GGUF export positions and layers', () => {
  const wide = 'direction wide {\n  prompts contrast\n  layers 0..3\n  positions [-1, 0]\n}\n';
  const tune = (name: string, position: number, layers = '1..2') => `tune ${name} {\n  prompts train\n  direction wide\n  layers ${layers}\n  position ${position}\n}\n`;
  const steer = (extra = '') => `eval e {\n  ab { prompts train }\n  steering { direction wide  layers [1]  multipliers [4]${extra} }\n}\n`;
  const gguf = (extra = '') => `export x {\n  direction wide\n  direction_formats [gguf]${extra}\n}\n`;
  const lower = (body: string) => {
    const a = check(`${PREAMBLE}${body}`);
    assert.ok(a.config !== undefined, summarize(a.diagnostics, a.document.text).join('\n'));
    return { config: a.config, diagnostics: summarize(a.diagnostics, a.document.text) };
  };

  it('steering and the GGUF take the position a tune of the direction trains, else the direction\'s first; `position` overrides', () => {
    // No `tuned` and no `tune`: the one tune of the direction trains position 0, not the direction's first (-1).
    let c = lower(`${wide}${tune('t', 0)}${steer()}${gguf()}`).config;
    assert.equal(c.evals['e'].steering?.position, 0);
    assert.equal(c.exports['x'].position, 0);
    // The eval's tuned run and the export's tune settle it when the tunes disagree; otherwise the direction's first.
    c = lower(`${wide}${tune('t', 0)}${tune('u', -1)}${steer().replace('eval e {', 'eval e {\n  tuned t')}${gguf().replace('export x {', 'export x {\n  tune t')}eval f {\n  ab { prompts train }\n  steering { direction wide  layers [1]  multipliers [4] }\n}\n`).config;
    assert.equal(c.evals['e'].steering?.position, 0);
    assert.equal(c.exports['x'].position, 0);
    assert.equal(c.evals['f'].steering?.position, -1);
    c = lower(`${wide}${tune('t', 0)}${steer('  position -1')}${gguf('\n  position -1')}`).config;
    assert.equal(c.evals['e'].steering?.position, -1);
    assert.equal(c.exports['x'].position, -1);
  });

  it('the GGUF layers default to the tune\'s, else every extracted layer', () => {
    assert.deepEqual(lower(`${wide}${tune('t', 0)}${gguf().replace('export x {', 'export x {\n  tune t')}`).config.exports['x'].layers, [1, 2]);
    assert.equal(lower(`${wide}${gguf()}`).config.exports['x'].layers, 'all');
    assert.deepEqual(lower(`${wide}${gguf('\n  layers [2, 3]')}`).config.exports['x'].layers, [2, 3]);
  });

  it('positions and layers must be the direction\'s; `position` and `layers` need gguf; layer 0 with a GGUF export warns', () => {
    const one = (body: string, severity: 'error' | 'warning', pattern: RegExp) => {
      const a = check(`${PREAMBLE}${wide}${body}`);
      assert.equal(a.diagnostics.length, 1, summarize(a.diagnostics, a.document.text).join('\n'));
      assert.equal(a.diagnostics[0].severity, severity);
      assert.match(a.diagnostics[0].message, pattern);
    };
    one(steer('  position 2'), 'error', /position 2 is not among direction `wide`'s positions \(-1, 0\)/);
    one(gguf('\n  position 3'), 'error', /position 3 is not among direction `wide`'s positions/);
    one(`direction narrow {\n  prompts contrast\n  layers 1..2\n}\nexport x {\n  direction narrow\n  direction_formats [gguf]\n  layers [2, 3]\n}\n`, 'error', /not extracted at layer 3/);
    one('export x {\n  direction wide\n  position 0\n}\n', 'warning', /`position` shapes only the GGUF control vector/);
    one(`${steer().replace('layers [1]', 'layers [0, 1]')}${gguf()}`, 'warning', /steering at layer 0 cannot be reproduced with the llama.cpp control vector of `export x`/);
    one(`${tune('t', 0, '0..1')}${gguf().replace('export x {', 'export x {\n  tune t')}`, 'warning', /tune `t`'s layers include layer 0, which is left out of direction.gguf/);
    one(gguf('\n  layers [0, 1]'), 'warning', /`layers` include layer 0/);
    // Steering at layer 0 without a GGUF export, and the default (every extracted layer) GGUF, are fine.
    assert.deepEqual(lower(`${wide}${steer().replace('layers [1]', 'layers [0, 1]')}`).diagnostics, []);
    assert.deepEqual(lower(`${wide}${gguf()}`).diagnostics, []);
  });
});

describe('model-aware checks on real checkpoints', () => {
  it('reads the llama2.c header of stories260K (5 layers) and checks layers against it', () => {
    const bin = path.join(sharedData, 'llama2c-stories260K', 'stories260K.bin');
    const text = `model s {\n  path "${bin}"\n  tokenizer "${path.join(sharedData, 'llama2c-stories260K', 'tok512.bin')}"\n}\nprompts train {\n  data "facts.csv"\n  template "{statement}"\n}\ntune t {\n  prompts train\n  layers 3..5\n  token_loss { blocks [q_proj, down] }\n}\n`;
    const a = check(text);
    assert.deepEqual(summarize(a.diagnostics, text).map((s) => s.split(':')[0]), ['layer-depth']);
    const info = a.models.get('s')?.info;
    assert.equal(info?.nLayers, 5);
    assert.equal(info?.hiddenSize, 64);
    assert.equal(info?.parameterCount, 260032);
  });

  it('counts parameters like the published models', () => {
    const count = (dir: string): number | undefined => check(`model m {\n  path "${dir}"\n}\n`).models.get('m')?.info?.parameterCount;
    assert.equal(count('llama-40'), 13015864320); // Llama-2-13b
    assert.equal(count('qwen-small'), 494032768); // Qwen2-0.5B
    assert.equal(count(path.join(sharedData, 'hf-tiny-gpt2-random')), 102714); // 413 KB of f32
  });

  it('skips model-aware checks silently when the model is not on disk', () => {
    const a = check(`model m {\n  path "models/not-downloaded"\n}\nprompts train {\n  data "facts.csv"\n  template "{statement}"\n}\ntune t {\n  prompts train\n  layers 99\n  token_loss { blocks [gate, attn.c_attn] }\n}\n`);
    assert.deepEqual(summarize(a.diagnostics, a.document.text), []);
  });

  it('reads each model file once, however often the document is analysed', () => {
    const dir = path.join(fixturesDir, 'qwen-small');
    const text = `model m {\n  path "${dir}"\n}\n`;
    check(text);
    const reads = env.modelReads;
    for (let i = 0; i < 20; i++) check(text);
    assert.equal(env.modelReads, reads);
  });
});

describe('lowering to RunConfig', () => {
  it('fills schema defaults, resolves paths and references, and freezes the result', () => {
    const a = check(`${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers 2..1\n}\n`);
    assert.equal(a.config, undefined, 'errors mean no config');
    const ok = check(`${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers [2, 1..2]\n}\neval e {\n  tuned t\n  perplexity { data "text.txt" }\n  ab { }\n}\nexport x {\n  tune t\n}\n`);
    const c = ok.config;
    assert.ok(c !== undefined, summarize(ok.diagnostics, ok.document.text).join('\n'));
    const t = c.tunes['t'];
    assert.deepEqual(t.layers, [1, 2]);
    assert.equal(t.model, 'demo');
    assert.equal(t.tokenLoss.weight, 0.01);
    assert.deepEqual(t.projectionLoss?.blocks, ['v', 'o']);
    assert.equal(t.optimizer.lrToken, 1e-6);
    assert.deepEqual(t.optimizer.betas, [0.9, 0.999]);
    assert.equal(t.earlyStopping.minSteps, 80);
    assert.deepEqual([t.earlyStopping.every, t.earlyStopping.window, t.tokenLoss.skipBelow, t.schedule.minLrRatio], [20, 1, undefined, 0]);
    assert.equal(t.output, path.join(fixturesDir, 'runs', 't'));
    assert.equal(c.models['demo'].source.kind, 'builtin');
    assert.equal(c.models['demo'].source.path, path.join(fixturesDir, 'root', 'examples', 'demo-model'));
    assert.equal(c.prompts['train'].data, path.join(fixturesDir, 'facts.csv'));
    assert.equal(c.evals['e'].perplexity?.stride, 512);
    assert.equal(c.evals['e'].ab?.holdout, true);
    assert.equal(c.exports['x'].weights, 'changed');
    assert.equal(c.exports['x'].direction, 'honesty');
    assert.deepEqual(c.directions['honesty'].positions, [0]);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.tunes) && Object.isFrozen(t.optimizer.betas));
    assert.deepEqual(c.order.map((s) => `${s.kind} ${s.name}`), ['model demo', 'prompts contrast', 'prompts train', 'direction honesty', 'tune t', 'eval e', 'export x']);
  });

  it('lowers token_loss.skip_below and early_stopping.every / window as written', () => {
    const a = check(`${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers 1\n  token_loss { target soft  skip_below 0.7 }\n  early_stopping { every 5  window 3  metric token }\n}\n`);
    const t = a.config?.tunes['t'];
    assert.ok(t !== undefined, summarize(a.diagnostics, a.document.text).join('\n'));
    assert.equal(t.tokenLoss.skipBelow, 0.7);
    assert.deepEqual([t.earlyStopping.every, t.earlyStopping.window, t.earlyStopping.metric], [5, 3, 'token']);
  });
});
