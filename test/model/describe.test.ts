/**
 * One model description: for every fixture config under test/language/fixtures, the demo model and the shared
 * data models, the language server's view (model metadata from the Node environment, block-name completion)
 * equals the engine's (readHfConfig / the llama2.c header, block resolution, and the tensors a real checkpoint
 * loads), including the configs both must refuse with the same message. And model/ imports nothing outside
 * itself, so language/ may import it without pulling in tfjs.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { readLlama2cHeader } from '../../engine/io/llama2c';
import { loadModel, readHfConfig } from '../../engine/model/load';
import { complete } from '../../language/features/completion';
import { BLOCK_NAMES, expandBlocks, genericBlocks, mergeSlices, resolveBlocks, slicesKey } from '../../model/blocks';
import { normalizeHfConfig, type ModelConfig } from '../../model/config';
import { llama2cConfig } from '../../model/llama2c';
import { paramSpecs, parameterCount } from '../../model/params';
import { createNodeEnv } from '../../language/node-env';
import { REPO_ROOT, SHARED_DATA, sharedData, testBackend } from '../helpers';
import { check, fixturesDir, marked } from '../language/helpers';

/** Every folder under the language fixtures that holds a config.json. */
function fixtureModels(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(fs.existsSync(path.join(p, 'config.json')) ? [p] : []), ...fixtureModels(p));
  }
  return out;
}

const SHARED = [sharedData('hf-tiny-gpt2-random'), sharedData('llama2c-stories260K', 'stories260K.bin')].filter((p) => fs.existsSync(p));
const DEMO = path.join(REPO_ROOT, 'examples', 'demo-model');
const MODELS = [...fixtureModels(fixturesDir), DEMO, ...SHARED];

function engineView(p: string): { ok: true; config: ModelConfig } | { ok: false; message: string } {
  try {
    return { ok: true, config: fs.statSync(p).isDirectory() ? readHfConfig(p) : llama2cConfig(readLlama2cHeader(p)) };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}

/** Generic blocks the completion offers in a block list for a model at `p`. */
function completedBlocks(p: string): string[] {
  const m = marked(`model m {\n  path "${p}"\n}\ntune t {\n  token_loss { blocks [‸] }\n}\n`);
  const a = check(m.text);
  return complete(a, m.carets[0] as number)
    .map((i) => i.label)
    .filter((l) => (BLOCK_NAMES as readonly string[]).includes(l));
}

describe('the language server and the engine see the same model', () => {
  before(async () => {
    await testBackend();
  });

  it('covers the fixtures that once disagreed', () => {
    const names = MODELS.map((p) => path.basename(p));
    for (const n of ['gpt2-aliases', 'llama-no-intermediate', 'llama-attention-bias', 'gpt2-2layer', 'llama-40', 'qwen-small', 'phi', 'broken'])
      assert.ok(names.includes(n), n);
  });

  for (const p of MODELS) {
    it(p.startsWith(SHARED_DATA) ? `shared data: ${path.relative(SHARED_DATA, p)}` : path.relative(REPO_ROOT, p), () => {
      const engine = engineView(p);
      const lang = createNodeEnv().modelInfo(p);
      if (!engine.ok) {
        assert.equal(lang.ok, false, `the engine refuses it (${engine.message}) but the language server accepts it`);
        if (!lang.ok) assert.ok(engine.message.endsWith(lang.reason.replace(/^config\.json: /, '')), `engine: ${engine.message}\nlanguage: ${lang.reason}`);
        return;
      }
      assert.ok(lang.ok, `the engine accepts it but the language server says: ${lang.ok ? '' : lang.reason}`);
      const info = lang.info;
      const c = engine.config;
      assert.deepEqual(info.config, c);
      assert.deepEqual(
        [info.family, info.nLayers, info.hiddenSize, info.intermediateSize, info.nHeads, info.nKvHeads, info.vocabSize, info.tiedEmbeddings, info.maxPositions],
        [c.arch, c.nLayers, c.hiddenSize, c.intermediateSize, c.nHeads, c.nKvHeads, c.vocabSize, c.tieWordEmbeddings, c.maxPositions],
      );
      assert.equal(
        info.parameterCount,
        paramSpecs(c).reduce((n, s) => n + s.shape.reduce((x, y) => x * y, 1), 0),
      );
      // Blocks: the completion offers exactly the generic blocks that resolve to parameters in the engine.
      const engineBlocks = BLOCK_NAMES.filter((b) => resolveBlocks(c, [b], [0]).length > 0);
      assert.deepEqual(completedBlocks(p), engineBlocks);
    });
  }

  it('the blocks resolve to tensors the real checkpoints load, and counts match them', () => {
    for (const p of [DEMO, ...SHARED]) {
      const model = loadModel(p);
      try {
        const layers = Array.from({ length: model.config.nLayers }, (_, i) => i);
        const names = resolveBlocks(model.config, BLOCK_NAMES, layers).map((s) => s.name);
        assert.ok(names.length > 0);
        for (const n of names) assert.ok(model.params.has(n), `${p}: ${n} is not loaded`);
        const loaded = [...model.params.values()].reduce((n, v) => n + v.size, 0);
        assert.equal(parameterCount(model.config), loaded, p);
      } finally {
        model.dispose();
      }
    }
  });

  it('Llama attention_bias gives o_proj a bias, counted by both', () => {
    const c = readHfConfig(path.join(fixturesDir, 'llama-attention-bias'));
    assert.ok(paramSpecs(c).some((s) => s.name === 'model.layers.0.self_attn.o_proj.bias'));
    const qwen = readHfConfig(path.join(fixturesDir, 'qwen-small'));
    assert.ok(!paramSpecs(qwen).some((s) => s.name.endsWith('o_proj.bias')) && paramSpecs(qwen).some((s) => s.name.endsWith('q_proj.bias')));
  });

  it('GPT-2 spellings of one setting that disagree, and a Llama config without intermediate_size, are refused by both', () => {
    const aliases = engineView(path.join(fixturesDir, 'gpt2-aliases'));
    assert.ok(!aliases.ok && /"n_layer" is 2 but "num_hidden_layers" is 3; they name the same setting: keep one/.test(aliases.message));
    const noInter = engineView(path.join(fixturesDir, 'llama-no-intermediate'));
    assert.ok(!noInter.ok && /missing numeric field "intermediate_size"/.test(noInter.message));
    const a = check(`model m {\n  path "llama-no-intermediate"\n}\n`);
    assert.ok(
      a.diagnostics.some((d) => d.code === 'model' && /intermediate_size/.test(d.message)),
      a.diagnostics.map((d) => d.message).join('\n'),
    );
  });
});

describe('block resolution', () => {
  const gpt2 = normalizeHfConfig({ model_type: 'gpt2', vocab_size: 16, n_embd: 4, n_layer: 2, n_head: 2, n_positions: 8 }, 'c');

  it('GPT-2 q, k and v are the three column ranges of attn.c_attn; together (attn.c_attn) the whole tensor', () => {
    const cols = (b: string) => resolveBlocks(gpt2, [b], [1]).map((x) => `${x.name}${x.columns ? `[${x.columns.join(':')}]` : ''}`);
    assert.deepEqual(cols('q'), ['transformer.h.1.attn.c_attn.weight[0:4]', 'transformer.h.1.attn.c_attn.bias[0:4]']);
    assert.deepEqual(cols('k'), ['transformer.h.1.attn.c_attn.weight[4:8]', 'transformer.h.1.attn.c_attn.bias[4:8]']);
    assert.deepEqual(cols('v'), ['transformer.h.1.attn.c_attn.weight[8:12]', 'transformer.h.1.attn.c_attn.bias[8:12]']);
    assert.deepEqual(
      [...mergeSlices(gpt2, resolveBlocks(gpt2, ['attn.c_attn'], [1]))],
      [
        ['transformer.h.1.attn.c_attn.weight', undefined],
        ['transformer.h.1.attn.c_attn.bias', undefined],
      ],
    );
    assert.equal(slicesKey(gpt2, resolveBlocks(gpt2, ['q', 'k', 'v'], [1])), slicesKey(gpt2, resolveBlocks(gpt2, ['attn.c_attn'], [1])));
    assert.notEqual(slicesKey(gpt2, resolveBlocks(gpt2, ['q'], [1])), slicesKey(gpt2, resolveBlocks(gpt2, ['k'], [1])));
  });

  it('`all` is every block of the architecture, norms included; other-family and unknown names say what to write', () => {
    assert.deepEqual(expandBlocks('all', 'gpt2'), ['q', 'k', 'v', 'o', 'up', 'down', 'attn_norm', 'mlp_norm']);
    assert.deepEqual(expandBlocks('all', 'llama'), ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'attn_norm', 'mlp_norm']);
    assert.deepEqual(expandBlocks('all', 'gemma3'), [...BLOCK_NAMES]);
    assert.deepEqual(resolveBlocks(gpt2, ['gate'], [0]), []);
    assert.throws(() => genericBlocks('gpt2', 'v_proj'), /`v_proj` is a Llama-family block name; this model is GPT-2: write v/);
    assert.throws(() => genericBlocks('llama', 'qq'), /unknown block `qq`/);
  });
});

describe('model/ is free of tfjs, editor and Node imports', () => {
  it('imports only its own files and the contract', () => {
    const dir = path.join(REPO_ROOT, 'model');
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      for (const m of text.matchAll(/^(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
        assert.match(m[1] as string, /^(\.\/[\w-]+|\.\.\/protocol\/contract)$/, `model/${f} imports ${m[1]}`);
      }
    }
  });
});
