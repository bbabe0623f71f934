/** Projection and token losses against hand-computed values; gradient routing is exact. */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { projectionLoss, routedGrads, tokenLoss } from '../../../engine/method/losses';
import { normalizeHfConfig } from '../../../model/config';
import { forward } from '../../../engine/model/forward';
import { randomModel } from '../../../engine/model/load';
import { captureTap } from '../../../engine/model/taps';
import { testBackend } from '../../helpers';

async function scalar(t: tf.Tensor): Promise<number> {
  const v = (await t.data())[0] as number;
  t.dispose();
  return v;
}

describe('losses', () => {
  before(async () => {
    await testBackend();
  });

  it('projection loss in/out/flip on hand-computed cosines', async () => {
    // h at 0°, 90°, 180° and cos⁻¹ 0.6 to v = (1, 0): cos = 1, 0, -1, 0.6 (mean 0.15, so flip shows in the mean).
    const acts = new Map([
      [
        3,
        tf.tensor3d([
          [
            [2, 0],
            [0, 5],
          ],
          [
            [-1, 0],
            [3, 4],
          ],
        ]),
      ],
    ]); // [B=2, P=2, C=2]
    const dirs = new Map([[3, tf.tensor1d([1, 0])]]);
    const cases: Array<[Parameters<typeof projectionLoss>[2], boolean, number, number]> = [
      ['in', false, (0 + 0.5 + 1 + 0.2) / 4, 0.15],
      ['in', true, (1 + 0.5 + 0 + 0.8) / 4, -0.15],
      ['out', false, (1 + 0 + 1 + 0.6) / 4, 0.15],
      ['out', true, (1 + 0 + 1 + 0.6) / 4, -0.15],
    ];
    for (const [mode, flip, expected, meanCos] of cases) {
      const r = tf.tidy(() => {
        const { loss, cosine } = projectionLoss(acts, dirs, mode, flip);
        return [loss, cosine.get(3) as tf.Scalar];
      });
      assert.ok(Math.abs((await scalar(r[0] as tf.Tensor)) - expected) < 1e-6, `${mode} flip=${flip}`);
      const cos = await scalar(r[1] as tf.Tensor);
      assert.ok(Math.abs(cos - meanCos) < 1e-6, `${mode} flip=${flip}: mean cosine ${cos}, expected ${meanCos}`);
    }
    // Per-position directions [P, C]: position 0 along (1, 0), position 1 along (0, 1): cos 1, 1, -1, 0.8.
    const perPos = new Map([
      [
        3,
        tf.tensor2d([
          [1, 0],
          [0, 1],
        ]),
      ],
    ]);
    const loss = tf.tidy(() => projectionLoss(acts, perPos, 'in').loss);
    assert.ok(Math.abs((await scalar(loss)) - (0 + 0 + 1 + 0.1) / 4) < 1e-6);
    // Margin 0.5 (mode in): relu(0.5 - cos) over cos 1, 0, -1, 0.6 = 0, 0.5, 1.5, 0.
    const hinge = tf.tidy(() => projectionLoss(acts, dirs, 'in', false, 0.5).loss);
    assert.ok(Math.abs((await scalar(hinge)) - (0 + 0.5 + 1.5 + 0) / 4) < 1e-6);
  });

  it('soft 50/50 A/B target has minimum ln 2; hard target is the usual cross-entropy', async () => {
    const at = tf.tensor2d([[5, 5, -100, -100]]); // p(A)=p(B)=1/2
    assert.ok(Math.abs((await scalar(tf.tidy(() => tokenLoss(at, { soft: [0, 1] })))) - Math.LN2) < 1e-6);
    const skew = tf.tensor2d([[6, 4, -100, -100]]);
    assert.ok((await scalar(tf.tidy(() => tokenLoss(skew, { soft: [0, 1] })))) > Math.LN2 + 0.1);
    const hard = tf.tensor2d([[0, Math.log(3), 0]]); // softmax = 1/5, 3/5, 1/5
    assert.ok(Math.abs((await scalar(tf.tidy(() => tokenLoss(hard, { hard: [1] })))) - Math.log(5 / 3)) < 1e-6);
  });

  it('routing: a token-only block gets exactly the token-loss gradient, a projection-only block exactly the projection gradient', async () => {
    const config = normalizeHfConfig(
      { model_type: 'llama', vocab_size: 20, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 2 },
      'c',
    );
    const model = randomModel(config, 4, 0.3);
    const p = (n: string) => model.params.get(n) as tf.Variable;
    // All three in layer 0, whose output the projection loss reads: both losses have a gradient on every one of
    // them, so only real routing gives the token-only and projection-only blocks a single loss's gradient.
    const tokBlock = p('model.layers.0.mlp.down_proj.weight');
    const projBlock = p('model.layers.0.self_attn.v_proj.weight');
    const sharedBlock = p('model.layers.0.mlp.up_proj.weight');
    const ids = [[1, 2, 3, 4, 5]];
    const dir = new Map([[0, tf.tensor1d(Array.from({ length: 8 }, (_, i) => i - 3.5))]]);
    const fTok = (): tf.Scalar => {
      const logits = forward(model, ids, { logits: 'last' }).logits as tf.Tensor3D;
      return tokenLoss(tf.reshape(logits, [1, 20]) as tf.Tensor2D, { hard: [7] });
    };
    const fProj = (): tf.Scalar => {
      const into: Record<string, tf.Tensor> = {};
      forward(model, ids, { taps: [captureTap(0, 'output', [[2, 4]], into, 'l0')], lastLayer: 0 });
      return projectionLoss(new Map([[0, into['l0'] as tf.Tensor]]), dir, 'in').loss;
    };
    const all = [tokBlock, projBlock, sharedBlock];
    for (const v of all) v.trainable = true;
    const r = await routedGrads({ token: [tokBlock], projection: [projBlock], shared: [sharedBlock] }, fTok, fProj, 0.5, 2);
    const gTokOnly = tf.variableGrads(() => tf.mul(fTok(), 0.5) as tf.Scalar, all);
    const gProjOnly = tf.variableGrads(() => tf.mul(fProj(), 2) as tf.Scalar, all);
    const close = async (a: tf.Tensor | undefined, b: tf.Tensor | undefined) => {
      const x = await (a as tf.Tensor).data();
      const y = await (b as tf.Tensor).data();
      let m = 0;
      for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs((x[i] as number) - (y[i] as number)));
      return m;
    };
    // Token-only block: exactly the token gradient, although the projection loss has a non-zero gradient there;
    // projection-only block: exactly the projection gradient, although the token loss has a non-zero gradient there.
    const projOnTok = await (gProjOnly.grads[tokBlock.name] as tf.Tensor).data();
    assert.ok(
      projOnTok.some((v) => Math.abs(v) > 1e-6),
      'the projection loss does have a gradient on the token block',
    );
    const tokOnProj = await (gTokOnly.grads[projBlock.name] as tf.Tensor).data();
    assert.ok(
      tokOnProj.some((v) => Math.abs(v) > 1e-6),
      'the token loss does have a gradient on the projection block',
    );
    assert.ok((await close(r.grads[tokBlock.name], gTokOnly.grads[tokBlock.name])) === 0);
    assert.ok((await close(r.grads[projBlock.name], gProjOnly.grads[projBlock.name])) === 0);
    assert.equal(r.tokenSkipped, false);
    // Shared block: the sum of both.
    const sum = tf.add(gTokOnly.grads[sharedBlock.name] as tf.Tensor, gProjOnly.grads[sharedBlock.name] as tf.Tensor);
    assert.ok((await close(r.grads[sharedBlock.name], sum)) < 1e-6);
    // Frozen blocks get no gradient at all.
    assert.equal(Object.keys(r.grads).length, 3);
    // skip_below above the token loss: no token gradient at all (the token-only block gets none, the shared block
    // only the projection gradient); the token loss is still reported. Below the loss, the gate changes nothing.
    const tokValue = await scalar(tf.tidy(() => fTok()));
    const gated = await routedGrads({ token: [tokBlock], projection: [projBlock], shared: [sharedBlock] }, fTok, fProj, 0.5, 2, {
      skipTokenBelow: tokValue + 1,
    });
    assert.equal(gated.tokenSkipped, true);
    assert.deepEqual(Object.keys(gated.grads).sort(), [projBlock.name, sharedBlock.name].sort());
    assert.ok((await close(gated.grads[sharedBlock.name], gProjOnly.grads[sharedBlock.name])) === 0);
    assert.ok(Math.abs((await scalar(gated.tokenLoss)) - tokValue) < 1e-6);
    const open = await routedGrads({ token: [tokBlock], projection: [projBlock], shared: [sharedBlock] }, fTok, fProj, 0.5, 2, {
      skipTokenBelow: tokValue - 1,
    });
    assert.equal(open.tokenSkipped, false);
    assert.ok((await close(open.grads[tokBlock.name], r.grads[tokBlock.name])) === 0);
    assert.ok((await close(open.grads[sharedBlock.name], r.grads[sharedBlock.name])) === 0);
    tf.dispose([
      sum,
      r.tokenLoss,
      r.projectionLoss,
      ...Object.values(r.grads),
      gTokOnly.value,
      gProjOnly.value,
      ...Object.values(gTokOnly.grads),
      ...Object.values(gProjOnly.grads),
    ]);
    tf.dispose([gated.projectionLoss, ...Object.values(gated.grads), open.tokenLoss, open.projectionLoss, ...Object.values(open.grads)]);
    model.dispose();
  });
});
