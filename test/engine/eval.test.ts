/** Taps, generation and perplexity on small random models: hand-checkable cases and reference comparisons. */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { normalizeHfConfig, type ModelConfig } from '../../model/config';
import { forward, type Model } from '../../engine/model/forward';
import { modelToTensors, randomModel } from '../../engine/model/load';
import { addTap, captureTap, projectOutTap } from '../../engine/model/taps';
import { generate, sampleToken } from '../../engine/generate';
import { perplexity, slidingWindows } from '../../engine/eval/perplexity';
import { referenceLogits, type Weights64 } from '../reference/transformer64';
import { maxRelDiff, testBackend } from '../helpers';
import { Rng } from '../../engine/util/random';

const LLAMA = {
  model_type: 'llama',
  vocab_size: 50,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  tie_word_embeddings: false,
  max_position_embeddings: 64,
  eos_token_id: 2,
};

let config: ModelConfig;
let model: Model;

before(async () => {
  await testBackend();
  config = normalizeHfConfig(LLAMA, 'config.json');
  model = randomModel(config, 3, 0.3);
});

describe('taps', () => {
  it('capture at block output equals the reference hidden state effect; add tap matches reference steering', async () => {
    const host = await modelToTensors(model);
    const ws: Weights64 = new Map([...host].map(([k, v]) => [k, Float64Array.from(v.data)]));
    const ids = [1, 7, 9, 11, 13];
    const vec = Float64Array.from({ length: config.hiddenSize }, (_, i) => Math.sin(i));
    const ref = referenceLogits(config, ws, ids, { layer: 1, vector: vec });
    const got = tf.tidy(() => forward(model, [ids], { taps: [addTap(1, 'output', tf.tensor1d(Float32Array.from(vec)))] }).logits as tf.Tensor3D);
    assert.ok(
      maxRelDiff(
        await got.data(),
        ref.flatMap((r) => Array.from(r)),
        1e-2,
      ) < 1e-4,
    );
    got.dispose();
  });

  it('capture returns [B, P, C] at the requested positions, and output of layer L is input of layer L+1', async () => {
    const into: Record<string, tf.Tensor> = {};
    const kept = tf.tidy(() => {
      forward(
        model,
        [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
        ],
        {
          taps: [
            captureTap(
              0,
              'output',
              [
                [1, 3],
                [0, 2],
              ],
              into,
              'out0',
            ),
            captureTap(
              1,
              'input',
              [
                [1, 3],
                [0, 2],
              ],
              into,
              'in1',
            ),
          ],
          logits: 'none',
        },
      );
      return { out0: into['out0'] as tf.Tensor, in1: into['in1'] as tf.Tensor };
    });
    assert.deepEqual(kept.out0.shape, [2, 2, config.hiddenSize]);
    assert.deepEqual(await kept.out0.data(), await kept.in1.data());
    tf.dispose([kept.out0, kept.in1]);
  });

  it('project-out removes the component along the direction at the chosen positions only', async () => {
    const dir = tf.tensor1d(Float32Array.from({ length: config.hiddenSize }, (_, i) => (i % 3) - 1));
    const into: Record<string, tf.Tensor> = {};
    const out = tf.tidy(() => {
      forward(model, [[1, 2, 3]], {
        taps: [projectOutTap(0, 'output', dir, [[1]]), captureTap(0, 'output', 'all', into, 'h')],
        logits: 'none',
      });
      const u = tf.div(dir, tf.norm(dir));
      return tf.sum(tf.mul(into['h'] as tf.Tensor, u), -1);
    });
    const proj = await out.data();
    assert.ok(Math.abs(proj[1] as number) < 1e-5, `position 1 projection ${proj[1]}`);
    assert.ok(Math.abs(proj[0] as number) > 1e-3 && Math.abs(proj[2] as number) > 1e-3);
    tf.dispose([out, dir]);
  });
});

describe('generation', () => {
  it('greedy generation equals repeated full forward argmax, batched with left padding', async () => {
    const prompts = [
      [1, 5, 9],
      [1, 4],
    ];
    const res = await generate(model, prompts, { maxNewTokens: 6, stopIds: [] });
    for (let b = 0; b < prompts.length; b++) {
      const seq = [...(prompts[b] as number[])];
      for (let i = 0; i < 6; i++) {
        const l = tf.tidy(() => forward(model, [seq], { logits: 'last' }).logits as tf.Tensor3D);
        const row = await l.data();
        l.dispose();
        let best = 0;
        for (let v = 1; v < row.length; v++) if ((row[v] as number) > (row[best] as number)) best = v;
        seq.push(best);
      }
      assert.deepEqual(res.tokens[b], seq.slice((prompts[b] as number[]).length));
    }
  });

  it('sampling is reproducible with a seed and respects top-p', async () => {
    const a = await generate(model, [[1, 2]], { maxNewTokens: 8, temperature: 1, seed: 42, stopIds: [] });
    const b = await generate(model, [[1, 2]], { maxNewTokens: 8, temperature: 1, seed: 42, stopIds: [] });
    assert.deepEqual(a.tokens, b.tokens);
    const rng = new Rng(1);
    const row = [0, 10, 9.9, -5];
    for (let i = 0; i < 200; i++) {
      const t = sampleToken(row, 1, 0.5, rng);
      assert.equal(t, 1, 'top-p 0.5 keeps only the top token here');
    }
  });

  it('stops at a stop id and reports why', async () => {
    const first = await generate(model, [[1, 2, 3]], { maxNewTokens: 1, stopIds: [] });
    const stopId = first.tokens[0]?.[0] as number;
    const res = await generate(model, [[1, 2, 3]], { maxNewTokens: 5, stopIds: [stopId] });
    assert.deepEqual(res.tokens[0], []);
    assert.equal(res.finish[0], 'stop');
  });

  it('does not leak tensors', async () => {
    await generate(model, [[1, 2]], { maxNewTokens: 3, stopIds: [] });
    const before = tf.memory().numTensors;
    await generate(model, [[1, 2], [3]], { maxNewTokens: 4, stopIds: [] });
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('perplexity', () => {
  it('windows score every token after the first exactly once', () => {
    for (const [n, L, s] of [
      [100, 16, 8],
      [100, 16, 16],
      [7, 16, 4],
      [33, 10, 1],
      [64, 8, 3],
    ] as const) {
      const counts = new Array<number>(n).fill(0);
      for (const w of slidingWindows(n, L, s)) {
        assert.ok(w.end - w.begin <= L);
        for (let p = w.scoreFrom; p < w.end; p++) counts[p] = (counts[p] as number) + 1;
      }
      if (s < L) assert.deepEqual(counts, [0, ...new Array<number>(n - 1).fill(1)], `n=${n} L=${L} s=${s}`);
      else assert.ok(counts.every((c) => c <= 1));
    }
    assert.throws(() => slidingWindows(10, 4, 5), /stride/);
  });

  it('a uniform model has perplexity equal to the vocabulary size', async () => {
    const m = randomModel(config, 5, 0.3);
    (m.params.get('lm_head.weight') as tf.Variable).assign(tf.zeros([config.hiddenSize, config.vocabSize]));
    const ids = Array.from({ length: 40 }, (_, i) => (i * 7) % config.vocabSize);
    const r = await perplexity(m, ids, { maxLength: 16, stride: 8, batch: 3 });
    assert.ok(Math.abs(r.perplexity - config.vocabSize) < 1e-3 * config.vocabSize, `ppl ${r.perplexity}`);
    assert.equal(r.scoredTokens, 39);
    m.dispose();
  });

  it('each scored token NLL equals the reference with exactly its window context; batching does not change it', async () => {
    const host = await modelToTensors(model);
    const ws: Weights64 = new Map([...host].map(([k, v]) => [k, Float64Array.from(v.data)]));
    const rng = new Rng(8);
    const ids = Array.from({ length: 13 }, () => rng.int(config.vocabSize));
    const r1 = await perplexity(model, ids, { maxLength: 6, stride: 3, batch: 1 });
    const r4 = await perplexity(model, ids, { maxLength: 6, stride: 3, batch: 4 });
    assert.ok(maxRelDiff(r1.tokenNll, r4.tokenNll) < 1e-4);
    let k = 0;
    let total = 0;
    for (const w of r1.windows) {
      const logits = referenceLogits(config, ws, ids.slice(w.begin, w.end));
      for (let p = w.scoreFrom; p < w.end; p++) {
        const row = logits[p - 1 - w.begin] as Float64Array;
        const m = Math.max(...row);
        const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
        const nll = -((row[ids[p] as number] as number) - m - Math.log(z));
        assert.ok(Math.abs(nll - (r1.tokenNll[k++] as number)) < 1e-4, `token ${p}`);
        total += nll;
      }
    }
    assert.equal(k, 12);
    assert.ok(Math.abs(Math.exp(total / 12) - r1.perplexity) < 1e-3 * r1.perplexity);
  });
});
