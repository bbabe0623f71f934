/**
 * Cancellation is typed: every engine loop that stops on its AbortSignal without a partial result rejects with a
 * CancelledError (engine/util/cancel.ts), so callers tell it from a failure with `instanceof`. Non-finite inputs
 * to the statistics are NumericsErrors (still RangeErrors), and job/failure.ts classifies all of them by type.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { BackendError } from '../../engine/backend';
import { perplexity } from '../../engine/eval/perplexity';
import { generate } from '../../engine/generate';
import { abRows } from '../../engine/method/evaluate';
import { captureActivations } from '../../engine/method/extract';
import { openModel, type Session } from '../../engine/session';
import { abMetrics } from '../../engine/stats/ab';
import { pairedBootstrap } from '../../engine/stats/bootstrap';
import { CancelledError, throwIfCancelled } from '../../engine/util/cancel';
import { NumericsError } from '../../engine/util/numerics';
import { failureKind } from '../../job/failure';
import { REPO_ROOT, testBackend } from '../helpers';

const DEMO = path.join(REPO_ROOT, 'examples', 'demo-model');

function isCancelled(e: unknown): boolean {
  assert.ok(e instanceof CancelledError, `expected a CancelledError, got ${String(e)}`);
  assert.equal(failureKind(e), 'cancelled');
  return true;
}

describe('typed cancellation and failure kinds', () => {
  let s: Session;
  const aborted = AbortSignal.abort();
  before(async () => {
    await testBackend();
    s = openModel(DEMO);
  });
  after(() => s.dispose());

  it('throwIfCancelled throws only once the signal has fired', () => {
    const ctl = new AbortController();
    throwIfCancelled(undefined);
    throwIfCancelled(ctl.signal);
    ctl.abort();
    assert.throws(() => throwIfCancelled(ctl.signal), isCancelled);
  });

  it('generate, perplexity, activation capture and A/B scoring reject with a CancelledError', async () => {
    const ids = s.tokenizer.encode('Is this claim true or false? 4 is even.\nAnswer:');
    await assert.rejects(generate(s.model, [ids], { maxNewTokens: 4, signal: aborted }), isCancelled);
    await assert.rejects(perplexity(s.model, ids, { maxLength: 8, stride: 4, batch: 2, signal: aborted }), isCancelled);
    await assert.rejects(captureActivations(s.model, [{ ids, positions: [ids.length - 1] }], [0], { signal: aborted }), isCancelled);
    await assert.rejects(abRows(s.model, [{ ids, gold: 'A' }], 1, 2, { signal: aborted }), isCancelled);
  });

  it('the same calls without a fired signal complete (control)', async () => {
    const ids = s.tokenizer.encode('Is this claim true or false? 4 is even.\nAnswer:');
    const res = await generate(s.model, [ids], { maxNewTokens: 2, signal: new AbortController().signal });
    assert.equal(res.tokens.length, 1);
  });

  it('non-finite statistics inputs are NumericsErrors; other errors keep their kind whatever their text says', () => {
    const numerics = (e: unknown): boolean => {
      assert.ok(e instanceof NumericsError && e instanceof RangeError, `expected a NumericsError, got ${String(e)}`);
      assert.equal(failureKind(e), 'numerics');
      return true;
    };
    assert.throws(() => pairedBootstrap([1, Number.POSITIVE_INFINITY], [1, 2]), numerics);
    assert.throws(() => abMetrics([{ gold: 'A', logitA: Number.NaN, logitB: 0 }]), numerics);
    // Argument errors of the same functions are not numerics.
    assert.throws(
      () => pairedBootstrap([1, 2], [1]),
      (e: unknown) => e instanceof RangeError && !(e instanceof NumericsError),
    );
    assert.equal(failureKind(new BackendError('perplexity needs about 9 GiB', 'memory')), 'memory');
    assert.equal(failureKind(new BackendError('backend webgpu is not available', 'unavailable')), 'internal');
    // Messages that mention NaN, Inf or "info" are not numerics failures by their text.
    assert.equal(failureKind(new Error('model info: config.json has no hidden_size (NaN)')), 'internal');
    assert.equal(failureKind(new Error('cancelled')), 'internal');
    assert.equal(failureKind('a thrown string'), 'internal');
  });
});
