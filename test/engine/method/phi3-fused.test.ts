/**
 * Phi-3 fuses q, k, v in `self_attn.qkv_proj` and gate, up in `mlp.gate_up_proj`: on a tiny random Phi-3 (with
 * GQA, so the k and v slices are narrower than q), a run that trains k by the token loss and up by the projection
 * loss changes only those columns of the fused tensors (memory layout [in, out]; weight decay included) and
 * leaves every other number bit-identical; k-only and v-only runs train different numbers.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type * as tf from '@tensorflow/tfjs';
import { tune, type TuneExample, type TuneOptions, type TuneOutcome } from '../../../engine/method/tune';
import { randomModel } from '../../../engine/model/load';
import type { Model } from '../../../engine/model/forward';
import { sliceColumns } from '../../../model/blocks';
import { normalizeHfConfig } from '../../../model/config';
import { Rng } from '../../../engine/util/random';
import { testBackend } from '../../helpers';
import { earlyStopping, optimizer, schedule } from './tune-fixtures';

const CONFIG = normalizeHfConfig(
  {
    model_type: 'phi3',
    vocab_size: 32,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  },
  'phi3-fused',
);
const C = CONFIG.hiddenSize;
const LAYERS = [0, 1];

const rng = new Rng(5);
const examples: TuneExample[] = Array.from({ length: 8 }, () => ({
  ids: Array.from({ length: 6 }, () => rng.int(CONFIG.vocabSize)),
  answer: rng.int(CONFIG.vocabSize),
  positions: [5],
}));
const unit = (seed: number): Float32Array => {
  const v = Float32Array.from({ length: C }, (_, i) => Math.sin(1.3 * i + seed));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

const options = (tokenBlocks: string[], projectionBlocks: string[]): TuneOptions => ({
  run: 'phi3',
  layers: LAYERS,
  directions: new Map(LAYERS.map((l) => [l, unit(l)])),
  mode: 'in',
  flip: false,
  tokenTarget: 'hard',
  tokenWeight: 1,
  projectionWeight: 1,
  tokenBlocks,
  projectionBlocks,
  optimizer: optimizer({ lrProjection: 2e-2, lrToken: 1e-2, weightDecay: 0.1, betas: [0.9, 0.99], clipNorm: 1 }),
  schedule: schedule(),
  earlyStopping: earlyStopping({ every: 100 }),
  steps: 6,
  batch: 4,
  seed: 2,
});

async function weights(m: Model): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, v] of m.params) out.set(n, Float32Array.from((await (v as tf.Variable).data()) as Float32Array));
  return out;
}

async function run(
  tokenBlocks: string[],
  projectionBlocks: string[],
): Promise<{ out: TuneOutcome; base: Map<string, Float32Array>; tuned: Map<string, Float32Array> }> {
  const m = randomModel(CONFIG, 9, 0.3);
  try {
    const base = await weights(m);
    const out = await tune(m, examples, [], options(tokenBlocks, projectionBlocks));
    return { out, base, tuned: await weights(m) };
  } finally {
    m.dispose();
  }
}

/** Flat indices, in memory layout [C, width], of the columns inside (or outside) [from, to). */
const columns = (width: number, [from, to]: readonly [number, number], inside: boolean): number[] => {
  const out: number[] = [];
  for (let r = 0; r < C; r++) for (let c = 0; c < width; c++) if (c >= from && c < to ? inside : !inside) out.push(r * width + c);
  return out;
};
const identical = (a: Float32Array, b: Float32Array, idx: number[]): boolean => idx.every((i) => Object.is(a[i], b[i]));
const changed = (a: Float32Array, b: Float32Array, idx: number[]): boolean => idx.some((i) => a[i] !== b[i]);

describe('Phi-3 q, k, v and gate, up are column slices of its fused projections', () => {
  before(async () => {
    await testBackend();
  });

  it('k (token loss) and up (projection loss) change only their columns; everything else is bit-identical', async () => {
    const { out, base, tuned } = await run(['k'], ['up']);
    assert.equal(out.status, 'done', out.message);
    const qkvWidth = (CONFIG.nHeads + 2 * CONFIG.nKvHeads) * CONFIG.headDim;
    const slices = new Map<string, { width: number; cols: readonly [number, number] }>();
    for (const l of LAYERS) {
      slices.set(`model.layers.${l}.self_attn.qkv_proj.weight`, { width: qkvWidth, cols: sliceColumns(CONFIG, 'k') });
      slices.set(`model.layers.${l}.mlp.gate_up_proj.weight`, { width: 2 * CONFIG.intermediateSize, cols: sliceColumns(CONFIG, 'up') });
    }
    assert.deepEqual([...out.trained].sort(), [...slices.keys()].sort());
    for (const [name, before] of base) {
      const after = tuned.get(name) as Float32Array;
      const s = slices.get(name);
      if (s === undefined) {
        assert.ok(identical(before, after, [...before.keys()]), `${name} changed`);
        continue;
      }
      assert.ok(identical(before, after, columns(s.width, s.cols, false)), `${name}: columns outside [${s.cols.join(', ')}) changed`);
      assert.ok(changed(before, after, columns(s.width, s.cols, true)), `${name}: columns [${s.cols.join(', ')}) did not train`);
    }
  });

  it('k-only and v-only runs train different numbers', async () => {
    const last = async (b: string): Promise<number> => (await run([b], [b])).out.history.map((h) => h.totalLoss).pop() as number;
    assert.notEqual(await last('k'), await last('v'));
  });
});
