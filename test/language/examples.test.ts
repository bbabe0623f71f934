/**
 * The example files are valid: no diagnostics at all with the real file system (data files resolve to
 * ../shared/data and examples/data), a complete RunConfig, canonical formatting, and — for the demo — no
 * diagnostics against a demo model shaped like the one scripts/make-demo-model.ts trains (4 layers, context 128),
 * so model-aware checks keep passing once examples/demo-model exists.
 */

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../language/analysis';
import { formatDocument } from '../../language/features/format';
import { env, examplesDir, fixturesDir, readExample, repoRoot, sharedData, summarize } from './helpers';

const EXAMPLES = ['demo.rtune', 'gpt2.rtune', 'llama.rtune', 'hub.rtune'];

describe('examples', () => {
  it('has the data they need', { skip: fs.existsSync(sharedData) ? false : `missing ${sharedData}` }, () => {
    assert.ok(fs.existsSync(path.join(examplesDir, 'data', 'demo-facts.csv')));
  });

  for (const name of EXAMPLES) {
    it(`${name} has no diagnostics and lowers to a RunConfig`, { skip: fs.existsSync(sharedData) ? false : `missing ${sharedData}` }, () => {
      const text = readExample(name);
      const a = analyze(text, { baseDir: examplesDir, builtinRoot: repoRoot, env });
      // The one thing an example may lack is a model it asks you to download (its comment says where): that is a
      // warning until the folder exists, and nothing else may be reported.
      const others = a.diagnostics.filter((d) => !(d.code === 'preflight' && d.severity === 'warning' && d.message.startsWith('model not found')));
      assert.deepEqual(summarize(others, text), []);
      assert.ok(a.config !== undefined);
      // hub.rtune shows a model by Hub id (a direction and a perplexity check), not a tuning experiment.
      if (name !== 'hub.rtune') assert.ok(Object.keys(a.config.tunes).length > 0);
    });

    it(`${name} is formatted canonically`, () => {
      const text = readExample(name);
      assert.equal(formatDocument(analyze(text).document), text);
    });
  }

  it('demo.rtune is valid against a model shaped like the built-in demo model', () => {
    const text = readExample('demo.rtune');
    // The fixture demo model is config.json only: no checks before compute (weights, tokenizer) here.
    const a = analyze(text, { baseDir: examplesDir, builtinRoot: path.join(fixturesDir, 'root'), env, preflight: false });
    assert.equal(a.models.get('demo')?.info?.nLayers, 4, 'the fixture model was read');
    assert.deepEqual(summarize(a.diagnostics, text), []);
  });

  it('llama.rtune mirrors the research setup', () => {
    const a = analyze(readExample('llama.rtune'), { baseDir: examplesDir, builtinRoot: repoRoot, env });
    const t = a.config?.tunes['honest'];
    assert.ok(t !== undefined);
    assert.deepEqual(t.layers, [11, 12, 13, 14, 15, 16, 17]);
    assert.equal(t.tokenLoss.weight, 0.01);
    assert.deepEqual(t.projectionLoss?.blocks, ['v', 'o']);
    assert.equal(t.optimizer.name, 'adamw');
    assert.equal(t.optimizer.lrToken, 1e-6);
    assert.equal(t.optimizer.lrProjection, 1e-5);
    assert.equal(a.config?.prompts['contrast'].anchor, 'B) False\n\n');
    assert.ok(a.config?.prompts['contrast'].template.startsWith('[INST] <<SYS>> {persona} <</SYS>> Question:'));
  });
});
