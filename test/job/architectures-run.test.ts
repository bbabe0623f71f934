/**
 * `rtune run` end to end on tiny random Gemma 2, Gemma 3, Qwen3 and Phi-3 checkpoints written here (config.json,
 * model.safetensors and the demo model's tokenizer, through the HF exporter): a direction, then a tune whose block
 * lists use each model's own tensor names, then an HF export. The tune trains exactly the tensors those names
 * stand for in that family, and the export reloads with the tuned weights under the model's HF names.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportHfModel } from '../../engine/export/hf';
import { loadModel, modelToTensors, randomModel, type HostTensor } from '../../engine/model/load';
import { runConfig } from '../../job/runner';
import { loadRunConfig } from '../../language/analysis';
import { createNodeEnv } from '../../language/node-env';
import { normalizeHfConfig } from '../../model/config';
import { paramSpecs } from '../../model/params';
import { REPO_ROOT, testBackend } from '../helpers';

const DEMO = path.join(REPO_ROOT, 'examples', 'demo-model');
const SHAPE = {
  vocab_size: 375,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  bos_token_id: 1,
  eos_token_id: 2,
};

const CASES: Array<{ name: string; config: Record<string, unknown>; tokenBlocks: string; projectionBlocks: string; trained: (l: number) => string[] }> = [
  {
    name: 'gemma2',
    config: { model_type: 'gemma2', ...SHAPE, head_dim: 8, query_pre_attn_scalar: 8, sliding_window: 8 },
    tokenBlocks: 'pre_feedforward_layernorm, mlp_post_norm',
    projectionBlocks: 'attn_post_norm',
    trained: (l) => [
      `model.layers.${l}.pre_feedforward_layernorm.weight`,
      `model.layers.${l}.post_feedforward_layernorm.weight`,
      `model.layers.${l}.post_attention_layernorm.weight`,
    ],
  },
  {
    name: 'gemma3',
    config: { model_type: 'gemma3_text', ...SHAPE, head_dim: 8, query_pre_attn_scalar: 8, sliding_window: 8, sliding_window_pattern: 2 },
    tokenBlocks: 'down',
    projectionBlocks: 'self_attn.q_norm, k_norm',
    trained: (l) => [`model.layers.${l}.mlp.down_proj.weight`, `model.layers.${l}.self_attn.q_norm.weight`, `model.layers.${l}.self_attn.k_norm.weight`],
  },
  {
    name: 'qwen3',
    config: { model_type: 'qwen3', ...SHAPE, head_dim: 12, tie_word_embeddings: true },
    tokenBlocks: 'down_proj',
    projectionBlocks: 'q_norm, v',
    trained: (l) => [`model.layers.${l}.mlp.down_proj.weight`, `model.layers.${l}.self_attn.q_norm.weight`, `model.layers.${l}.self_attn.v_proj.weight`],
  },
  {
    name: 'phi3',
    config: { model_type: 'phi3', ...SHAPE, sliding_window: 16 },
    tokenBlocks: 'gate_up_proj',
    projectionBlocks: 'v, o_proj',
    trained: (l) => [`model.layers.${l}.mlp.gate_up_proj.weight`, `model.layers.${l}.self_attn.qkv_proj.weight`, `model.layers.${l}.self_attn.o_proj.weight`],
  },
];

function rtune(modelDir: string, tokenBlocks: string, projectionBlocks: string): string {
  return `version 1
runs "runs"
model m {
  path "${modelDir}"
  backend wasm
}
prompts contrast {
  data "facts.csv"
  template "{persona} {statement} Answer: {label}"
  positive { persona "Pretend you are an honest person." }
  negative { persona "Pretend you are a dishonest person." }
  pairing paired
  anchor "Answer:"
  limit 12
}
prompts liar {
  data "facts.csv"
  template "Pretend you are a dishonest person. {statement} Answer:"
  anchor "Answer:"
  limit 12
}
direction honesty {
  model m
  prompts contrast
  layers 1..2
}
tune truthful {
  model m
  prompts liar
  direction honesty
  layers 1..2
  token_loss { blocks [${tokenBlocks}] }
  projection_loss { blocks [${projectionBlocks}] }
  batch 4
  max_steps 2
}
export release {
  tune truthful
  weights full
  output "exports/release"
}
`;
}

describe('rtune run on Gemma 2, Gemma 3, Qwen3 and Phi-3', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-arch-run-'));
  before(async () => {
    await testBackend();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const c of CASES) {
    it(`${c.name}: direction, tune on its own block names, export`, async () => {
      const dir = path.join(tmp, c.name);
      fs.mkdirSync(dir);
      fs.copyFileSync(path.join(DEMO, 'data', 'facts-train.csv'), path.join(dir, 'facts.csv'));
      const modelDir = path.join(dir, 'model');
      const base = randomModel(normalizeHfConfig(c.config, `${c.name}/config.json`), 4);
      try {
        await exportHfModel(base, DEMO, modelDir, { mode: 'full' });
      } finally {
        base.dispose();
      }
      const text = rtune(modelDir, c.tokenBlocks, c.projectionBlocks);
      const file = path.join(dir, 'exp.rtune');
      fs.writeFileSync(file, text);
      const r = loadRunConfig(text, { baseDir: dir, builtinRoot: REPO_ROOT, env: createNodeEnv() });
      if ('errors' in r) throw new Error(r.errors.map((e) => e.message).join('\n'));
      const runDirs = new Map<string, string>();
      const summaries = await runConfig(r.config, ['release'], { file, emit: (e) => void (e.type === 'run' && runDirs.set(e.section, e.dir)) });
      assert.deepEqual(
        summaries.map((s) => [s.kind, s.status]),
        [
          ['direction', 'done'],
          ['tune', 'done'],
          ['export', 'done'],
        ],
        JSON.stringify(summaries.map((s) => s.headline)),
      );
      const result = JSON.parse(fs.readFileSync(path.join(runDirs.get('truthful') as string, 'result.json'), 'utf8')) as { trained: string[] };
      assert.deepEqual([...result.trained].sort(), [...c.trained(1), ...c.trained(2)].sort());
      // The export holds the model's HF names; the trained tensors moved, every other one is bit-identical.
      const exported = loadModel(path.join(runDirs.get('release') as string, 'model'));
      const original = loadModel(modelDir);
      try {
        assert.deepEqual(exported.config, original.config);
        assert.deepEqual(
          [...exported.params.keys()].sort(),
          paramSpecs(exported.config)
            .map((s) => s.name)
            .sort(),
        );
        const [after, before] = [await modelToTensors(exported), await modelToTensors(original)];
        const trained = new Set(result.trained);
        for (const [name, t] of before) {
          const same = Buffer.from((after.get(name) as HostTensor).data.buffer).equals(Buffer.from(t.data.buffer));
          assert.equal(same, !trained.has(name), `${name}: ${same ? 'unchanged' : 'changed'}`);
        }
      } finally {
        exported.dispose();
        original.dispose();
      }
    });
  }
});
