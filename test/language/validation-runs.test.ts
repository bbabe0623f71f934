/** Validation of search candidates (counted like the engine), steering and GGUF export positions and layers, model-aware checks on real checkpoints, and lowering to RunConfig. */

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { enumerateBlockSets } from '../../model/block-sets';
import { familyBlocks, resolveBlocks, slicesKey } from '../../model/blocks';
import { normalizeHfConfig } from '../../model/config';
import { PREAMBLE, check, env, fixturesDir, marked, sharedData, summarize } from './helpers';

/** Asserts that exactly the marked spans carry diagnostics, all with `code`. */
/** A GPT-2 model (2 layers, fixture config) and prompt sets, like PREAMBLE. */
const GPT2 = PREAMBLE.replace('model demo {\n  path builtin:demo\n}', 'model demo {\n  path "gpt2-2layer"\n}');

describe('search candidates, counted like the engine', () => {
  const searchOf = (model: string, body: string) =>
    check(`${model}tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\nsearch s {\n  tune t\n${body}}\n`);

  it('max_blocks bounds each loss: max_blocks 1 is a valid search, max_blocks 2 over every block counts like the engine', () => {
    const a = searchOf(PREAMBLE, '  max_blocks 1\n');
    assert.deepEqual(summarize(a.diagnostics, a.document.text), []);
    assert.equal(a.config?.searches['s']?.maxBlocks, 1);
    const all = familyBlocks('llama');
    const engine = enumerateBlockSets(all, all, 'separate', 2).length;
    const b = searchOf(PREAMBLE, '  token_blocks all\n  projection_blocks all\n  max_blocks 2\n');
    assert.match(
      b.diagnostics.find((d) => d.severity === 'warning')?.message ?? '',
      new RegExp(`runs ${engine} trials`),
      summarize(b.diagnostics, b.document.text).join('\n'),
    );
  });

  it('settings that leave no candidates are an error naming the key and the fix', () => {
    const m = marked(`${GPT2}tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\nsearch s {\n  tune t\n  token_blocks ⟦[gate]⟧\n}\n`);
    const a = check(m.text);
    const rules = a.diagnostics.filter((d) => d.code === 'rule');
    assert.deepEqual(
      rules.map((d) => d.span),
      m.spans,
      summarize(a.diagnostics, m.text).join('\n'),
    );
    assert.match(
      rules[0]?.message ?? '',
      /no candidates: `token_blocks` names no block that model `demo` \(GPT-2\) has; list blocks it has \(q, k, v, o, up, down, attn_norm, mlp_norm\)/,
    );
    assert.ok(
      a.diagnostics.some((d) => d.code === 'block-arch'),
      'and `gate` itself is flagged',
    );
  });

  it("the exhaustive-search warning counts the engine's candidates on the model's architecture", () => {
    const one = { ...normalizeHfConfig({ model_type: 'gpt2', vocab_size: 64, n_embd: 8, n_head: 2, n_layer: 2, n_positions: 32 }, 'c'), nLayers: 1 };
    const engine = enumerateBlockSets(familyBlocks('gpt2'), familyBlocks('gpt2'), 'separate', undefined, (bs) =>
      slicesKey(one, resolveBlocks(one, bs, [0])),
    ).length;
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
    assert.deepEqual(
      w.map((d) => d.severity),
      ['warning'],
      summarize(unknown.diagnostics, unknown.document.text).join('\n'),
    );
    assert.match(w[0]?.message ?? '', /`layers all` tunes every layer of the model, but direction `d` was extracted only at layers 0, 1/);
  });
});

describe('validation: steering and GGUF export positions and layers', () => {
  const wide = 'direction wide {\n  prompts contrast\n  layers 0..3\n  positions [-1, 0]\n}\n';
  const tune = (name: string, position: number, layers = '1..2') =>
    `tune ${name} {\n  prompts train\n  direction wide\n  layers ${layers}\n  position ${position}\n}\n`;
  const steer = (extra = '') => `eval e {\n  ab { prompts train }\n  steering { direction wide  layers [1]  multipliers [4]${extra} }\n}\n`;
  const gguf = (extra = '') => `export x {\n  direction wide\n  direction_formats [gguf]${extra}\n}\n`;
  const lower = (body: string) => {
    const a = check(`${PREAMBLE}${body}`);
    assert.ok(a.config !== undefined, summarize(a.diagnostics, a.document.text).join('\n'));
    return { config: a.config, diagnostics: summarize(a.diagnostics, a.document.text) };
  };

  it("steering and the GGUF take the position a tune of the direction trains, else the direction's first; `position` overrides", () => {
    // No `tuned` and no `tune`: the one tune of the direction trains position 0, not the direction's first (-1).
    let c = lower(`${wide}${tune('t', 0)}${steer()}${gguf()}`).config;
    assert.equal(c.evals['e'].steering?.position, 0);
    assert.equal(c.exports['x'].position, 0);
    // The eval's tuned run and the export's tune settle it when the tunes disagree; otherwise the direction's first.
    c = lower(
      `${wide}${tune('t', 0)}${tune('u', -1)}${steer().replace('eval e {', 'eval e {\n  tuned t')}${gguf().replace('export x {', 'export x {\n  tune t')}eval f {\n  ab { prompts train }\n  steering { direction wide  layers [1]  multipliers [4] }\n}\n`,
    ).config;
    assert.equal(c.evals['e'].steering?.position, 0);
    assert.equal(c.exports['x'].position, 0);
    assert.equal(c.evals['f'].steering?.position, -1);
    c = lower(`${wide}${tune('t', 0)}${steer('  position -1')}${gguf('\n  position -1')}`).config;
    assert.equal(c.evals['e'].steering?.position, -1);
    assert.equal(c.exports['x'].position, -1);
  });

  it("the GGUF layers default to the tune's, else every extracted layer", () => {
    assert.deepEqual(lower(`${wide}${tune('t', 0)}${gguf().replace('export x {', 'export x {\n  tune t')}`).config.exports['x'].layers, [1, 2]);
    assert.equal(lower(`${wide}${gguf()}`).config.exports['x'].layers, 'all');
    assert.deepEqual(lower(`${wide}${gguf('\n  layers [2, 3]')}`).config.exports['x'].layers, [2, 3]);
  });

  it("positions and layers must be the direction's; `position` and `layers` need gguf; layer 0 with a GGUF export warns", () => {
    const one = (body: string, severity: 'error' | 'warning', pattern: RegExp) => {
      const a = check(`${PREAMBLE}${wide}${body}`);
      assert.equal(a.diagnostics.length, 1, summarize(a.diagnostics, a.document.text).join('\n'));
      assert.equal(a.diagnostics[0].severity, severity);
      assert.match(a.diagnostics[0].message, pattern);
    };
    one(steer('  position 2'), 'error', /position 2 is not among direction `wide`'s positions \(-1, 0\)/);
    one(gguf('\n  position 3'), 'error', /position 3 is not among direction `wide`'s positions/);
    one(
      `direction narrow {\n  prompts contrast\n  layers 1..2\n}\nexport x {\n  direction narrow\n  direction_formats [gguf]\n  layers [2, 3]\n}\n`,
      'error',
      /not extracted at layer 3/,
    );
    one('export x {\n  direction wide\n  position 0\n}\n', 'warning', /`position` shapes only the GGUF control vector/);
    one(
      `${steer().replace('layers [1]', 'layers [0, 1]')}${gguf()}`,
      'warning',
      /steering at layer 0 cannot be reproduced with the llama.cpp control vector of `export x`/,
    );
    one(
      `${tune('t', 0, '0..1')}${gguf().replace('export x {', 'export x {\n  tune t')}`,
      'warning',
      /tune `t`'s layers include layer 0, which is left out of direction.gguf/,
    );
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
    assert.deepEqual(
      summarize(a.diagnostics, text).map((s) => s.split(':')[0]),
      ['layer-depth'],
    );
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
    const a = check(
      `model m {\n  path "models/not-downloaded"\n}\nprompts train {\n  data "facts.csv"\n  template "{statement}"\n}\ntune t {\n  prompts train\n  layers 99\n  token_loss { blocks [gate, attn.c_attn] }\n}\n`,
    );
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
    const ok = check(
      `${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers [2, 1..2]\n}\neval e {\n  tuned t\n  perplexity { data "text.txt" }\n  ab { }\n}\nexport x {\n  tune t\n}\n`,
    );
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
    assert.deepEqual(
      c.order.map((s) => `${s.kind} ${s.name}`),
      ['model demo', 'prompts contrast', 'prompts train', 'direction honesty', 'tune t', 'eval e', 'export x'],
    );
  });

  it('lowers token_loss.skip_below and early_stopping.every / window as written', () => {
    const a = check(
      `${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers 1\n  token_loss { target soft  skip_below 0.7 }\n  early_stopping { every 5  window 3  metric token }\n}\n`,
    );
    const t = a.config?.tunes['t'];
    assert.ok(t !== undefined, summarize(a.diagnostics, a.document.text).join('\n'));
    assert.equal(t.tokenLoss.skipBelow, 0.7);
    assert.deepEqual([t.earlyStopping.every, t.earlyStopping.window, t.earlyStopping.metric], [5, 3, 'token']);
  });
});
