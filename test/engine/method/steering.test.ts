/**
 * The steering grid on a small random model: every multiplier runs as +k and -k, `combine` splits k over the
 * layers (v·k / n each), `units` (scale norm) multiplies k by each layer's unit, and the mean block-output norm
 * is read at the requested position.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { normalizeHfConfig } from '../../../model/config';
import type { Model } from '../../../engine/model/forward';
import { randomModel } from '../../../engine/model/load';
import { addTap } from '../../../engine/model/taps';
import { captureActivations } from '../../../engine/method/extract';
import { norm } from '../../../engine/method/directions';
import { abEvaluate, meanOutputNorms, steeringConditions, steeringGrid, type AbItem } from '../../../engine/method/evaluate';
import { testBackend } from '../../helpers';

const CONFIG = {
  model_type: 'llama',
  vocab_size: 40,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  tie_word_embeddings: false,
  max_position_embeddings: 32,
  eos_token_id: 2,
};

let model: Model;
const items: AbItem[] = [
  { ids: [1, 5, 9, 12, 7], gold: 'A' },
  { ids: [1, 6, 3], gold: 'B' },
  { ids: [1, 8, 8, 4, 11, 13], gold: 'A' },
  { ids: [1, 10, 14, 15], gold: 'B' },
];
const dirs = new Map([1, 2].map((l) => [l, Float32Array.from({ length: 16 }, (_, i) => Math.cos(i * (l + 1)) / 2)]));

before(async () => {
  await testBackend();
  model = randomModel(normalizeHfConfig(CONFIG, 'config.json'), 5, 0.3);
});

describe('steering conditions', () => {
  it('runs each distinct |k| as +k then -k, per layer; 0 and repeats add nothing', () => {
    const c = steeringConditions([1, 2], [4, -4, 0, 8], { combine: false });
    assert.deepEqual(
      c.map((x) => [x.layers, x.multiplier, x.scales]),
      [
        [[1], 4, [4]],
        [[1], -4, [-4]],
        [[1], 8, [8]],
        [[1], -8, [-8]],
        [[2], 4, [4]],
        [[2], -4, [-4]],
        [[2], 8, [8]],
        [[2], -8, [-8]],
      ],
    );
  });

  it('combine adds v·k / (number of layers) at each layer; units scale k per layer', () => {
    assert.deepEqual(
      steeringConditions([1, 2], [6], { combine: true }).map((x) => [x.layers, x.scales]),
      [
        [
          [1, 2],
          [3, 3],
        ],
        [
          [1, 2],
          [-3, -3],
        ],
      ],
    );
    const units = new Map([
      [1, 10],
      [2, 20],
    ]);
    assert.deepEqual(
      steeringConditions([1, 2], [6], { combine: true, units }).map((x) => x.scales),
      [
        [30, 60],
        [-30, -60],
      ],
    );
    assert.deepEqual(
      steeringConditions([2], [0.5], { combine: false, units }).map((x) => x.scales),
      [[10], [-10]],
    );
  });
});

describe('steering grid', () => {
  it('evaluates the control once, then each condition with exactly its scaled vectors', async () => {
    const k = 3;
    const grid = await steeringGrid(model, items, 20, 21, dirs, steeringConditions([1, 2], [k], { combine: true }), {});
    assert.deepEqual(
      grid.map((c) => c.multiplier),
      [0, k, -k],
    );
    const manual = async (scale: number) => {
      const vecs = [1, 2].map((l) => tf.tensor1d(dirs.get(l) as Float32Array));
      try {
        return await abEvaluate(model, items, 20, 21, { taps: [1, 2].map((l, i) => addTap(l, 'output', vecs[i] as tf.Tensor1D, scale)) });
      } finally {
        tf.dispose(vecs);
      }
    };
    assert.deepEqual(grid[0]!.metrics, await abEvaluate(model, items, 20, 21));
    assert.deepEqual(grid[1]!.metrics, await manual(k / 2));
    assert.deepEqual(grid[2]!.metrics, await manual(-k / 2));
    // Not the same as adding k·v at both layers, nor as +k alone.
    assert.notEqual(grid[1]!.metrics.pA, (await manual(k)).pA);
    assert.notEqual(grid[1]!.metrics.pA, grid[2]!.metrics.pA);
  });

  it("measures the mean block-output norm at each prompt's requested position", async () => {
    const req = items.map((it) => ({ ids: it.ids, positions: [it.ids.length - 2] }));
    const norms = await meanOutputNorms(model, req, [1, 2]);
    const acts = await captureActivations(model, req, [1, 2]);
    for (const l of [1, 2]) {
      const rows = acts.get(l)![0]!;
      const want = rows.reduce((a, x) => a + norm(x), 0) / rows.length;
      assert.ok(Math.abs(norms.get(l)! - want) < 1e-9 * want, `layer ${l}: ${norms.get(l)} vs ${want}`);
    }
    const last = await meanOutputNorms(
      model,
      items.map((it) => ({ ids: it.ids, positions: [it.ids.length - 1] })),
      [1],
    );
    assert.notEqual(last.get(1), norms.get(1));
  });
});
