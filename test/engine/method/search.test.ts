/**
 * Block search: enumeration counts and order (105 separate, 127 joint, max_blocks per loss), candidates
 * resolved and deduplicated by the parameter slices they train (on a tiny GPT-2: no gate, q and v distinct, no
 * projection candidates without a projection loss), successive-halving arithmetic, and on the built-in demo
 * model: weights restored bit for bit between trials and after the search, resume skips finished trials (and
 * reproduces the rest exactly), cancellation leaves the weights restored.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { type TuneExample } from '../../../engine/method/tune';
import { blockSearch, halvingSchedule, type SearchOptions } from '../../../engine/method/search';
import { enumerateBlockSets } from '../../../model/block-sets';
import { resolveBlocks, slicesKey } from '../../../model/blocks';
import { normalizeHfConfig } from '../../../model/config';
import { randomModel } from '../../../engine/model/load';
import type { Model } from '../../../engine/model/forward';
import { Rng } from '../../../engine/util/random';
import { testBackend } from '../../helpers';
import { earlyStopping, optimizer, schedule } from './tune-fixtures';

const MLP = ['gate', 'up', 'down'];
const ATTN = ['q', 'k', 'v', 'o'];

describe('block sets', () => {
  it('separate: 7 x 15 = 105 pairs in the research order; joint: 127', () => {
    const sep = enumerateBlockSets(MLP, ATTN, 'separate');
    assert.equal(sep.length, 105);
    assert.deepEqual(sep[0], { tokenBlocks: ['gate'], projectionBlocks: ['q'] });
    assert.deepEqual(sep[14], { tokenBlocks: ['gate'], projectionBlocks: ['q', 'k', 'v', 'o'] });
    assert.deepEqual(sep[15], { tokenBlocks: ['up'], projectionBlocks: ['q'] });
    assert.deepEqual(sep[104], { tokenBlocks: ['gate', 'up', 'down'], projectionBlocks: ['q', 'k', 'v', 'o'] });
    // idx = i_tok * 15 + i_proj + 1 (block_search.py): i_tok 3 = [gate, up], i_proj 9 = [v, o]
    assert.deepEqual(sep[3 * 15 + 9], { tokenBlocks: ['gate', 'up'], projectionBlocks: ['v', 'o'] });
    assert.equal(new Set(sep.map((c) => JSON.stringify(c))).size, 105);
    const joint = enumerateBlockSets(MLP, ATTN, 'joint');
    assert.equal(joint.length, 127);
    assert.deepEqual(joint[0], { tokenBlocks: ['gate'], projectionBlocks: ['gate'] });
    assert.deepEqual(joint[126]?.tokenBlocks, ['gate', 'up', 'down', 'q', 'k', 'v', 'o']);
    assert.ok(joint.every((c) => c.tokenBlocks.join() === c.projectionBlocks.join()));
    assert.deepEqual(enumerateBlockSets(MLP, ATTN, 'separate'), sep, 'deterministic');
  });

  it("maxBlocks bounds each loss's subset (separate) or the shared subset (joint)", () => {
    assert.equal(enumerateBlockSets(MLP, ATTN, 'joint', 1).length, 7);
    assert.equal(enumerateBlockSets(MLP, ATTN, 'joint', 2).length, 7 + 21);
    // max_blocks 1 used to bound token + projection together, which left no candidate at all.
    const one = enumerateBlockSets(MLP, ATTN, 'separate', 1);
    assert.deepEqual(
      one.map((c) => `${c.tokenBlocks.join('+')}/${c.projectionBlocks.join('+')}`),
      MLP.flatMap((t) => ATTN.map((p) => `${t}/${p}`)),
    );
    assert.equal(enumerateBlockSets(MLP, ATTN, 'separate', 2).length, (3 + 3) * (4 + 6));
    const three = enumerateBlockSets(MLP, ATTN, 'separate', 3);
    assert.equal(three.length, 7 * (4 + 6 + 4));
    assert.ok(three.every((c) => c.tokenBlocks.length <= 3 && c.projectionBlocks.length <= 3));
    assert.ok(
      three.some((c) => c.tokenBlocks.length + c.projectionBlocks.length === 6),
      'the bound is per loss, not on the pair',
    );
  });
});

describe('candidates resolved on the model', () => {
  it('a subset that trains nothing, or what an earlier subset trains, is not a candidate', () => {
    // `a` and `b` stand for the same tensor, `z` for none: {a}, {c}, {a, c} remain of the 7 subsets of {a, b, c}
    // (`z` alone is dropped; with z the rest repeat).
    const key: Record<string, string> = { a: 'T', b: 'T', c: 'U', z: '' };
    const resolve = (bs: readonly string[]) => [...new Set(bs.map((b) => key[b]).filter((k) => k !== ''))].sort().join(' ');
    const sep = enumerateBlockSets(['a', 'b', 'c', 'z'], ['c'], 'separate', undefined, resolve);
    assert.deepEqual(
      sep.map((c) => c.tokenBlocks.join('+')),
      ['a', 'c', 'a+c'],
    );
    const joint = enumerateBlockSets(['a', 'z'], ['b', 'c'], 'joint', undefined, resolve);
    assert.deepEqual(
      joint.map((c) => c.tokenBlocks.join('+')),
      ['a', 'c', 'a+c'],
    );
    assert.equal(enumerateBlockSets(['z'], ['c'], 'separate', undefined, resolve).length, 0);
  });
});

describe('block search on a tiny GPT-2', () => {
  const config = normalizeHfConfig({ model_type: 'gpt2', vocab_size: 32, n_embd: 8, n_layer: 2, n_head: 2, n_positions: 16 }, 'gpt2-search');
  const layers = [0, 1];
  let model: Model;
  let train: TuneExample[];
  let template: SearchOptions['template'];

  before(async () => {
    await testBackend();
    model = randomModel(config, 4, 0.3);
    const rng = new Rng(8);
    train = Array.from({ length: 8 }, () => ({ ids: Array.from({ length: 6 }, () => rng.int(32)), answer: rng.int(32), positions: [5] }));
    const dir = (seed: number) => Float32Array.from({ length: 8 }, (_, i) => Math.cos(i + seed) / 2);
    template = {
      run: 'gpt2',
      layers,
      directions: new Map(layers.map((l) => [l, dir(l)])),
      mode: 'in',
      flip: false,
      tokenTarget: 'hard',
      tokenWeight: 1,
      projectionWeight: 1,
      optimizer: optimizer({ lrToken: 2e-2, lrProjection: 2e-2, betas: [0.9, 0.99], clipNorm: 1 }),
      schedule: schedule(),
      earlyStopping: earlyStopping({ every: 100 }),
      batch: 4,
      seed: 1,
    };
  });
  after(() => model.dispose());

  it('no two trials train the same parameter slices; `gate`, which GPT-2 lacks, is in none; q and v differ', async () => {
    const r = await blockSearch(model, train, [], {
      template,
      tokenCandidates: ['gate', 'up', 'down'],
      projectionCandidates: ['q', 'v'],
      sets: 'separate',
      strategy: 'exhaustive',
      stepsPerTrial: 2,
      minSteps: 1,
    });
    assert.equal(r.status, 'done', r.message);
    const key = (bs: readonly string[]) => slicesKey(config, resolveBlocks(config, bs, layers));
    const pairs = r.trials.map((t) => `${key(t.tokenBlocks)} | ${key(t.projectionBlocks)}`);
    assert.equal(new Set(pairs).size, pairs.length, pairs.join('\n'));
    assert.deepEqual(
      r.trials.map((t) => `${t.tokenBlocks.join('+')}/${t.projectionBlocks.join('+')}`),
      ['up/q', 'up/v', 'up/q+v', 'down/q', 'down/v', 'down/q+v', 'up+down/q', 'up+down/v', 'up+down/q+v'],
    );
    assert.notEqual(r.trials[0]?.finalProjectionLoss, r.trials[1]?.finalProjectionLoss, 'q and v trials train different numbers');
  });

  it('without a projection loss the projection candidates are ignored: one trial per token subset', async () => {
    const r = await blockSearch(model, train, [], {
      template: { ...template, projectionWeight: 0 },
      tokenCandidates: ['up', 'down'],
      projectionCandidates: ['q', 'v'],
      sets: 'separate',
      strategy: 'exhaustive',
      stepsPerTrial: 1,
      minSteps: 1,
    });
    assert.deepEqual(
      r.trials.map((t) => `${t.tokenBlocks.join('+')}/${t.projectionBlocks.join('+')}`),
      ['up/', 'down/', 'up+down/'],
    );
  });

  it('candidates that train nothing on the model stop the search with the reason', async () => {
    await assert.rejects(
      blockSearch(model, train, [], {
        template,
        tokenCandidates: ['gate'],
        projectionCandidates: ['v'],
        sets: 'separate',
        strategy: 'exhaustive',
        stepsPerTrial: 1,
        minSteps: 1,
      }),
      /no candidates: token blocks \[gate\] and projection blocks \[v\] train no parameters of this GPT-2 model/,
    );
  });
});

describe('successive halving schedule', () => {
  it('105 candidates, eta 3: 105 -> 35 -> 11 -> 3 -> 1, at most 15 full runs', () => {
    const min = 4;
    const { rungs, totalSteps } = halvingSchedule(105, 3, min);
    assert.deepEqual(
      rungs.map((r) => r.candidates),
      [105, 35, 11, 3, 1],
    );
    assert.deepEqual(
      rungs.map((r) => r.steps),
      [4, 12, 36, 108, 324],
    );
    assert.equal(
      rungs.reduce((a, r) => a + r.candidates, 0),
      155,
      'trials in all',
    );
    const full = 324;
    assert.equal(totalSteps, 105 * 4 + 35 * 12 + 11 * 36 + 3 * 108 + 324);
    assert.ok(totalSteps <= 15 * full, `${totalSteps / full} full runs`);
    assert.ok(totalSteps < (105 * full) / 18, 'versus 105 full runs exhaustively');
    // 127 joint sets: 127 -> 42 -> 14 -> 4 -> 1
    const j = halvingSchedule(127, 3, 2);
    assert.deepEqual(
      j.rungs.map((r) => r.candidates),
      [127, 42, 14, 4, 1],
    );
    assert.ok(j.totalSteps <= 15 * 2 * 81);
  });

  it('a budget drops the rungs that do not fit; one candidate runs one rung', () => {
    const b = halvingSchedule(105, 3, 4, 105 * 4 + 35 * 12 + 100);
    assert.deepEqual(
      b.rungs.map((r) => r.candidates),
      [105, 35],
    );
    assert.equal(b.totalSteps, 840);
    assert.deepEqual(halvingSchedule(1, 3, 5).rungs, [{ rung: 0, candidates: 1, steps: 5 }]);
    assert.throws(() => halvingSchedule(10, 1, 5), /eta/);
  });
});
