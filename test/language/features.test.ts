/**
 * Editor features as pure functions over caret-marked fixtures (`‸` = cursor): hover, completion, CodeLens,
 * outline, folding, formatting (idempotent), go to definition, and the inline-results helpers.
 */

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { RtuneCommands } from '../../protocol/lsp';
import { codeLenses } from '../../language/features/codelens';
import { complete } from '../../language/features/completion';
import { definition } from '../../language/features/definition';
import { formatDocument } from '../../language/features/format';
import { hover } from '../../language/features/hover';
import { latestFor, parseRunSummary, resultFolders, resultTitle } from '../../language/features/results';
import { foldingRanges, outline } from '../../language/features/symbols';
import { parse } from '../../language/parser';
import { PREAMBLE, check, fixturesDir, marked, sharedData } from './helpers';

function at(source: string): { a: ReturnType<typeof check>; offset: number } {
  const m = marked(source);
  return { a: check(m.text), offset: m.carets[0] ?? 0 };
}

const labels = (source: string): string[] => {
  const { a, offset } = at(source);
  return complete(a, offset).map((i) => i.label);
};

const hoverText = (source: string): string => {
  const { a, offset } = at(source);
  return hover(a, offset)?.markdown ?? '';
};

describe('hover', () => {
  it('documents section keywords, keys, nested keys and enum values from the schema', () => {
    assert.match(hoverText(`${PREAMBLE}tu‸ne t {\n}\n`), /\*\*tune\*\* section[\s\S]*Rules/);
    assert.match(hoverText(`${PREAMBLE}tune t {\n  ba‸tch 4\n}\n`), /\*\*tune › batch\*\* — integer, >= 1 and <= 4096 · default `4`/);
    assert.match(hoverText(`${PREAMBLE}tune t {\n  optimizer { lr_to‸ken 1e-5 }\n}\n`), /tune › optimizer › lr_token[\s\S]*default `1e-6`/);
    assert.match(
      hoverText(`${PREAMBLE}direction d {\n  method pca-d‸iff\n}\n`),
      /\*\*pca-diff\*\* \(`method`\): Principal component of the centred per-pair differences/,
    );
    assert.match(hoverText(`ru‸ns "x"\n`), /\*\*runs\*\*/);
  });

  it('describes the model behind a model path: architecture, layers, hidden size, parameters', () => {
    const md = hoverText(`model m {\n  path "llama‸-40"\n}\n`);
    assert.match(md, /\*\*Llama\*\* · 40 layers · hidden 5120 · 13.02B parameters/);
    assert.match(md, /\| parameters \| 13,015,864,320 \|/);
    assert.match(hoverText(`model m {\n  path "not‸-here"\n}\n`), /Not found: `.*not-here`[\s\S]*Model-aware checks/);
    assert.match(hoverText(`model m {\n  path builtin:de‸mo\n}\n`), /4 layers · hidden 64/);
  });

  it('resolves references, data paths, block names and layer selections', () => {
    assert.match(hoverText(`${PREAMBLE}tune t {\n  direction hon‸esty\n}\n`), /\*\*direction honesty\*\* \(line 14\)/);
    assert.equal(
      hoverText(`${PREAMBLE}tune t {\n  prompts train\n  direction honesty\n  layers 1\n  projection_loss { blocks [v, o‸] }\n}\n`).split('\n')[0],
      '**o** — attention output projection',
    );
    assert.match(hoverText(`${PREAMBLE}tune t {\n  token_loss { blocks [attn.c_a‸ttn] }\n}\n`), /GPT-2 name\) = `q`, `k`, `v`/);
    assert.match(hoverText(`${PREAMBLE}tune t {\n  layers 1..‸3\n}\n`), /3 layers: 1, 2, 3 \(the model has 4: 0..3/);
    assert.ok(hoverText(`prompts p {\n  data "fac‸ts.csv"\n}\n`).includes(path.join(fixturesDir, 'facts.csv')));
    assert.match(hoverText(`${PREAMBLE}direction ho‸nesty2 {\n  prompts contrast\n}\ntune t { direction honesty2 }\n`), /referenced 1 time/);
  });

  it('returns nothing for comments, whitespace and unknown keys', () => {
    assert.equal(hoverText('# a co‸mment\n'), '');
    assert.equal(hoverText('tune t {\n ‸ \n}\n'), '');
    assert.equal(hoverText('tune t {\n  bo‸gus 1\n}\n'), '');
  });
});

describe('completion', () => {
  it('offers sections and top-level keys at the top level', () => {
    const l = labels('‸');
    for (const k of ['model', 'prompts', 'direction', 'tune', 'search', 'eval', 'export', 'runs', 'version']) assert.ok(l.includes(k), k);
    const { a, offset } = at('‸');
    const tune = complete(a, offset).find((i) => i.label === 'tune');
    assert.ok(tune?.snippet === true && tune.insertText.startsWith('tune ${1:honest} {'));
  });

  it('offers the keys valid in the block at the cursor, minus those already written', () => {
    const l = labels(`${PREAMBLE}tune t {\n  batch 4\n  ‸\n}\n`);
    assert.ok(l.includes('layers') && l.includes('optimizer') && l.includes('early_stopping'));
    assert.ok(!l.includes('batch'), 'batch is already set');
    assert.ok(!l.includes('method'), 'method belongs to direction');
    const nested = labels(`${PREAMBLE}tune t {\n  optimizer {\n    lr_token 1e-5\n    ‸\n  }\n}\n`);
    assert.deepEqual(nested.sort(), ['betas', 'clip_norm', 'eps', 'lr_projection', 'name', 'weight_decay']);
    const inline = labels(`${PREAMBLE}tune t {\n  projection_loss { weight 1  ‸ }\n}\n`);
    assert.deepEqual(inline.sort(), ['blocks', 'margin']);
  });

  it('offers enum values, booleans and section names for references', () => {
    assert.deepEqual(labels(`${PREAMBLE}direction d {\n  method ‸\n}\n`), ['meandiff', 'pca', 'pca-diff', 'random']);
    assert.deepEqual(labels(`${PREAMBLE}direction d {\n  method p‸\n}\n`), ['meandiff', 'pca', 'pca-diff', 'random']);
    assert.deepEqual(labels(`${PREAMBLE}tune t {\n  flip ‸\n}\n`), ['true', 'false']);
    assert.deepEqual(labels(`${PREAMBLE}tune t {\n  prompts ‸\n}\n`), ['contrast', 'train']);
    assert.deepEqual(labels(`${PREAMBLE}tune t {\n  direction ‸\n}\n`), ['honesty']);
  });

  it("offers block names for the model's architecture and layer ranges sized to it", () => {
    const llama = labels(`${PREAMBLE}tune t {\n  token_loss { blocks [v, ‸] }\n}\n`);
    assert.ok(llama.includes('gate') && llama.includes('mlp.gate_proj') && !llama.includes('attn.c_attn'));
    const gpt2 = labels(`model g {\n  path "${path.join(sharedData, 'hf-tiny-gpt2-random')}"\n}\ntune t {\n  token_loss { blocks ‸ }\n}\n`);
    assert.ok(!gpt2.includes('gate') && gpt2.includes('attn.c_attn') && gpt2.includes('up'));
    const layers = labels(`${PREAMBLE}tune t {\n  layers ‸\n}\n`);
    assert.deepEqual(layers.slice(0, 3), ['all', '0..3', '1..2']);
    assert.ok(layers.includes('3') && !layers.includes('4'));
  });

  it('completes file paths relative to the .rtune file, inside strings', () => {
    const files = labels('prompts p {\n  data "‸"\n}\n');
    assert.ok(files.includes('facts.csv') && files.includes('llama-40/') && !files.includes('text.txt'), files.join(' '));
    const nested = labels('model m {\n  path "root/examples/‸"\n}\n');
    assert.deepEqual(nested, ['demo-model/']);
    const models = labels('model m {\n  path ‸\n}\n');
    assert.equal(models[0], 'builtin:demo');
  });

  it('offers nothing inside comments or section names', () => {
    assert.deepEqual(labels('# tu‸\n'), []);
    assert.deepEqual(labels('tune hon‸'), []);
  });
});

describe('CodeLens', () => {
  it('puts the right command on each runnable section header', () => {
    const text = `${PREAMBLE}tune t {\n  prompts train\n  layers 1\n}\nsearch s {\n  tune t\n}\neval e {\n  perplexity { data "text.txt" }\n  ab { prompts train }\n}\nexport x {\n  tune t\n}\n`;
    const a = check(text);
    const lenses = codeLenses(a).map((l) => `${l.command} ${text.slice(l.span.start, l.span.end)}`);
    assert.deepEqual(lenses, [
      `${RtuneCommands.extractDirection} direction honesty`,
      `${RtuneCommands.runTuning} tune t`,
      `${RtuneCommands.runBlockSearch} search s`,
      `${RtuneCommands.computePerplexity} eval e`,
      `${RtuneCommands.runEvaluation} eval e`,
      `${RtuneCommands.runExport} export x`,
    ]);
  });
});

describe('outline and folding', () => {
  it('lists sections with nested blocks and keys', () => {
    const doc = parse('tune honest {\n  batch 4\n  optimizer {\n    lr_token 1e-5\n  }\n}\n');
    const [tune] = outline(doc);
    assert.equal(tune.name, 'tune honest');
    assert.equal(tune.kind, 'section');
    assert.deepEqual(
      tune.children.map((c) => `${c.kind}:${c.name}:${c.detail}`),
      ['key:batch:4', 'block:optimizer:'],
    );
    assert.equal(tune.children[1].children[0].name, 'lr_token');
  });

  it('folds multi-line blocks, lists and comment runs, keeping closing brackets visible', () => {
    const doc = parse('# a\n# b\ntune t {\n  l [\n    1,\n  ]\n  one { x 1 }\n}\n');
    assert.deepEqual(foldingRanges(doc), [
      { startLine: 2, endLine: 6, kind: 'region' },
      { startLine: 3, endLine: 4, kind: 'region' },
      { startLine: 0, endLine: 1, kind: 'comment' },
    ]);
  });
});

describe('formatting', () => {
  it('indents, normalises spacing and collapses blank lines', () => {
    const text = 'tune   t{\nlayers   11 .. 17\n\n\n\n  blocks [ v ,o ]   # keep me\n   optimizer {lr_token 1e-5   eps 1e-8}\n}';
    assert.equal(formatDocument(parse(text)), 'tune t {\n  layers 11..17\n\n  blocks [v, o]   # keep me\n  optimizer { lr_token 1e-5  eps 1e-8 }\n}\n');
  });

  it('is idempotent and leaves broken files parseable the same way', () => {
    for (const text of ['tune t {\n  x "unterminated\n  y [1, 2\n}}\n', 'a\r\nb {\r\n c 1\r\n}\r\n', '@ # = !\n{[', '']) {
      const once = formatDocument(parse(text));
      assert.equal(formatDocument(parse(once)), once, JSON.stringify(text));
    }
  });
});

describe('go to definition', () => {
  it('jumps from a reference to the section name and from a path to the file', () => {
    const m = marked(`${PREAMBLE}tune t {\n  direction hon‸esty\n}\nprompts q {\n  data "fa‸cts.csv"\n}\nmodel x {\n  path "llama‸-40"\n}\n`);
    const a = check(m.text);
    const ref = definition(a, m.carets[0]);
    assert.ok(ref?.kind === 'section');
    assert.equal(m.text.slice(ref.target.start, ref.target.end), 'honesty');
    const file = definition(a, m.carets[1]);
    assert.ok(file?.kind === 'file');
    assert.equal(file.path, path.join(fixturesDir, 'facts.csv'));
    assert.equal(m.text.slice(file.origin.start, file.origin.end), '"facts.csv"');
    const model = definition(a, m.carets[2]);
    assert.ok(model?.kind === 'file' && model.path.endsWith(path.join('llama-40', 'config.json')));
  });
});

describe('inline results helpers', () => {
  it('parses summaries defensively and picks the newest finished run of a section', () => {
    assert.equal(parseRunSummary('{'), undefined);
    assert.equal(parseRunSummary('{"section":"t","kind":"tune","status":"weird","finished":"x","headline":"h"}'), undefined);
    const old = parseRunSummary(
      '{"section":"e","kind":"eval","status":"done","finished":"2026-01-01T00:00:00Z","headline":"perplexity 25.31 → 25.90","metrics":{"a":1,"b":"x"}}',
    );
    const newer = parseRunSummary('{"section":"e","kind":"eval","status":"failed","finished":"2026-02-01T00:00:00Z","headline":"out of memory"}');
    assert.ok(old !== undefined && newer !== undefined);
    assert.deepEqual(old.metrics, { a: 1 });
    const a = check(`${PREAMBLE}eval e {\n  perplexity { data "text.txt" }\n}\n`);
    const [folder] = resultFolders(a).filter((f) => f.section.name === 'e');
    assert.equal(folder.dir, path.join(fixturesDir, 'runs', 'e'));
    const pick = latestFor(
      folder.section,
      [
        { runDir: 'r1', summary: old },
        { runDir: 'r2', summary: newer },
      ],
      undefined,
    );
    assert.equal(pick?.runDir, 'r2');
    assert.equal(resultTitle(old), '✓ perplexity 25.31 → 25.90');
    assert.equal(resultTitle(newer), '✗ failed: out of memory');
  });
});
