/** Early stopping on the smoothed held-out metric, and epochs as seeded shuffled passes without replacement. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { EpochBatches } from '../../../engine/train/batches';
import { EarlyStopping } from '../../../engine/train/early-stopping';

describe('early stopping', () => {
  it('smooths over the last `window` evaluations, counts patience in evaluations and never stops before min_steps', () => {
    const es = new EarlyStopping({ enabled: true, patience: 2, minSteps: 0, window: 3 });
    const values = [4, 2, 3, 5, 1, 6, 7];
    const seen = values.map((v, i) => es.observe(i * 10, v, i * 10 + 1));
    // Means of the last (up to) 3 values.
    assert.deepEqual(
      seen.map((x) => x.smoothed),
      [4, 3, 3, 10 / 3, 3, 4, 14 / 3],
    );
    // Improvement is on the smoothed value: 3 at the second evaluation, equal (not better) at the third and fifth.
    assert.deepEqual(
      seen.map((x) => x.improved),
      [true, true, false, false, false, false, false],
    );
    assert.deepEqual(
      seen.map((x) => x.stop),
      [false, false, false, true, true, true, true],
    );
    assert.equal(es.bestStep, 10);
    assert.equal(es.best, 3);
    // A raw value of 1 at the fifth evaluation would be a new best without smoothing.
    const raw = new EarlyStopping({ enabled: true, patience: 2, minSteps: 0, window: 1 });
    assert.deepEqual(
      values.map((v, i) => raw.observe(i, v, i + 1).improved),
      [true, true, false, false, true, false, false],
    );
    assert.equal(raw.bestStep, 4);
  });

  it('waits for min_steps, and when disabled tracks the best without ever stopping', () => {
    const late = new EarlyStopping({ enabled: true, patience: 1, minSteps: 50, window: 1 });
    assert.deepEqual(
      [1, 2, 3, 4].map((v, i) => late.observe(i * 20, v, i * 20 + 1).stop),
      [false, false, false, true],
    );
    const off = new EarlyStopping({ enabled: false, patience: 1, minSteps: 0, window: 1 });
    assert.deepEqual(
      [1, 2, 3, 0.5].map((v, i) => off.observe(i, v, i + 1)).map((x) => [x.improved, x.stop]),
      [
        [true, false],
        [false, false],
        [false, false],
        [true, false],
      ],
    );
    assert.equal(off.bestStep, 3);
  });
});

describe('epoch batches', () => {
  it('each epoch visits every example exactly once, the last batch smaller, in a new seeded order each epoch', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const b = new EpochBatches(items, 4, 7);
    assert.equal(b.perEpoch, 3);
    const epochs: number[][][] = [];
    for (let e = 0; e < 3; e++) {
      assert.equal(b.epoch, e);
      epochs.push([b.next(), b.next(), b.next()]);
    }
    for (const batches of epochs) {
      assert.deepEqual(
        batches.map((x) => x.length),
        [4, 4, 2],
      );
      assert.deepEqual(
        batches.flat().sort((x, y) => x - y),
        items,
      );
    }
    assert.notDeepEqual(epochs[0]!.flat(), epochs[1]!.flat(), 'a fresh order every epoch');
    assert.notDeepEqual(epochs[0]!.flat(), items, 'shuffled');
    const again = new EpochBatches(items, 4, 7);
    assert.deepEqual([again.next(), again.next(), again.next()], epochs[0], 'the seed reproduces the order');
    const other = new EpochBatches(items, 4, 8);
    assert.notDeepEqual([other.next(), other.next(), other.next()].flat(), epochs[0]!.flat());
    // Mid-epoch, `epoch` is the fraction of the pass already done.
    const c = new EpochBatches(items, 4, 7);
    c.next();
    assert.equal(c.epoch, 0.4);
    assert.throws(() => new EpochBatches([], 4, 1), /no training examples/);
  });

  it('a batch larger than the data is one batch of everything per epoch', () => {
    const b = new EpochBatches(['a', 'b', 'c'], 8, 1);
    assert.equal(b.perEpoch, 1);
    assert.deepEqual(b.next().sort(), ['a', 'b', 'c']);
    assert.deepEqual(b.next().sort(), ['a', 'b', 'c']);
  });
});
