/**
 * GPT-2 fuses q, k and v in `attn.c_attn` (weight [C, 3C], bias [3C]): on a tiny random GPT-2, a q-only run
 * changes only the q columns (weight decay included), everything else stays bit-identical to the base model;
 * q-only, k-only and v-only runs train different numbers and so give different losses; a run that trains q by
 * the token loss and v by the projection loss leaves the k columns untouched.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type * as tf from '@tensorflow/tfjs';
import { tune, type TuneExample, type TuneOptions, type TuneOutcome } from '../../../engine/method/tune';
import { randomModel } from '../../../engine/model/load';
import type { Model } from '../../../engine/model/forward';
import { normalizeHfConfig } from '../../../model/config';
import { Rng } from '../../../engine/util/random';
import { testBackend } from '../../helpers';
import { earlyStopping, optimizer, schedule } from './tune-fixtures';

const CONFIG = normalizeHfConfig({ model_type: 'gpt2', vocab_size: 32, n_embd: 8, n_layer: 2, n_head: 2, n_positions: 16 }, 'gpt2-qkv');
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
  run: 'qkv',
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

/** A fresh copy of the same random model, tuned; returns the outcome and the weights before and after. */
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

/** Flat indices of c_attn's weight ([C, 3C]) or bias ([3C]) in columns [from, to). */
const columns = (name: string, from: number, to: number): number[] => {
  const rows = name.endsWith('weight') ? C : 1;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) for (let c = from; c < to; c++) out.push(r * 3 * C + c);
  return out;
};
const changed = (a: Float32Array, b: Float32Array, idx: number[]): boolean => idx.some((i) => a[i] !== b[i]);
const identical = (a: Float32Array, b: Float32Array, idx: number[]): boolean => idx.every((i) => Object.is(a[i], b[i]));

describe('GPT-2 q, k and v are column slices of attn.c_attn', () => {
  before(async () => {
    await testBackend();
  });

  it('a q-only run changes only the q columns; everything else is bit-identical to the base', async () => {
    const { out, base, tuned } = await run(['q'], ['q']);
    assert.equal(out.status, 'done', out.message);
    const fused = LAYERS.flatMap((l) => [`transformer.h.${l}.attn.c_attn.weight`, `transformer.h.${l}.attn.c_attn.bias`]);
    assert.deepEqual([...out.trained].sort(), [...fused].sort());
    for (const [name, before] of base) {
      const after = tuned.get(name) as Float32Array;
      if (!fused.includes(name)) {
        assert.ok(identical(before, after, [...before.keys()]), `${name} changed`);
        continue;
      }
      assert.ok(identical(before, after, columns(name, C, 3 * C)), `${name}: k or v columns changed (weight decay or gradient outside q)`);
      if (name.endsWith('weight')) assert.ok(changed(before, after, columns(name, 0, C)), `${name}: q columns did not train`);
    }
  });

  it('q-only, k-only and v-only runs give different losses', async () => {
    const final = async (b: string): Promise<number[]> => (await run([b], [b])).out.history.map((h) => h.totalLoss);
    const [q, k, v] = [await final('q'), await final('k'), await final('v')];
    const last = (xs: number[]): number => xs[xs.length - 1] as number;
    assert.notEqual(last(q), last(k));
    assert.notEqual(last(q), last(v));
    assert.notEqual(last(k), last(v));
    assert.equal(q[0], k[0], 'the same base model and batch: step 0 agrees');
  });

  it('a block GPT-2 lacks is refused, naming it', async () => {
    const m = randomModel(CONFIG, 9, 0.3);
    try {
      await assert.rejects(
        tune(m, examples, [], options(['gate', 'up'], ['v'])),
        /token blocks \[gate, up\]: GPT-2 has no `gate` block; remove it from the list/,
      );
    } finally {
      m.dispose();
    }
  });

  it('token loss on q and projection loss on v: both train, k stays untouched', async () => {
    const { out, base, tuned } = await run(['q'], ['v']);
    assert.equal(out.status, 'done', out.message);
    for (const l of LAYERS) {
      const w = `transformer.h.${l}.attn.c_attn.weight`;
      const before = base.get(w) as Float32Array;
      const after = tuned.get(w) as Float32Array;
      assert.ok(changed(before, after, columns(w, 0, C)), `${w}: q`);
      assert.ok(identical(before, after, columns(w, C, 2 * C)), `${w}: k`);
      assert.ok(changed(before, after, columns(w, 2 * C, 3 * C)), `${w}: v`);
    }
  });
});
