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
    // h rows at 0°, 90°, 180° to v = (1, 0): cos = 1, 0, -1.
    const acts = new Map([[3, tf.tensor3d([[[2, 0], [0, 5]], [[-1, 0], [0, -3]]])]]); // [B=2, P=2, C=2]: cos 1, 0, -1, 0
    const dirs = new Map([[3, tf.tensor1d([1, 0])]]);
    const cases: Array<[Parameters<typeof projectionLoss>[2], boolean, number]> = [
      ['in', false, (0 + 0.5 + 1 + 0.5) / 4],
      ['in', true, (1 + 0.5 + 0 + 0.5) / 4],
      ['out', false, (1 + 0 + 1 + 0) / 4],
      ['out', true, (1 + 0 + 1 + 0) / 4],
    ];
    for (const [mode, flip, expected] of cases) {
      const r = tf.tidy(() => {
        const { loss, cosine } = projectionLoss(acts, dirs, mode, flip);
        return [loss, cosine.get(3) as tf.Scalar];
      });
      assert.ok(Math.abs((await scalar(r[0] as tf.Tensor)) - expected) < 1e-6, `${mode} flip=${flip}`);
      assert.ok(Math.abs(await scalar(r[1] as tf.Tensor)) - (flip ? 0 : 0) < 1e-6);
    }
    // Per-position directions [P, C].
    const perPos = new Map([[3, tf.tensor2d([[1, 0], [0, 1]])]]);
    const loss = tf.tidy(() => projectionLoss(acts, perPos, 'in').loss);
    assert.ok(Math.abs((await scalar(loss)) - (0 + 0 + 1 + 1) / 4) < 1e-6);
    // Margin 0.5 (mode in): relu(0.5 - cos) over cos 1, 0, -1, 0 = 0, 0.5, 1.5, 0.5.
    const hinge = tf.tidy(() => projectionLoss(acts, dirs, 'in', false, 0.5).loss);
    assert.ok(Math.abs((await scalar(hinge)) - (0 + 0.5 + 1.5 + 0.5) / 4) < 1e-6);
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
    const config = normalizeHfConfig({ model_type: 'llama', vocab_size: 20, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 2 }, 'c');
    const model = randomModel(config, 4, 0.3);
    const p = (n: string) => model.params.get(n) as tf.Variable;
    const tokBlock = p('model.layers.1.mlp.down_proj.weight');
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
    const r = routedGrads({ token: [tokBlock], projection: [projBlock], shared: [sharedBlock] }, fTok, fProj, 0.5, 2);
    const gTokOnly = tf.variableGrads(() => tf.mul(fTok(), 0.5) as tf.Scalar, all);
    const gProjOnly = tf.variableGrads(() => tf.mul(fProj(), 2) as tf.Scalar, all);
    const close = async (a: tf.Tensor | undefined, b: tf.Tensor | undefined) => {
      const x = await (a as tf.Tensor).data();
      const y = await (b as tf.Tensor).data();
      let m = 0;
      for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs((x[i] as number) - (y[i] as number)));
      return m;
    };
    // Token-only block: exactly the token gradient (the projection loss, which does not reach layer 1, adds nothing anyway);
    // projection-only block: exactly the projection gradient, although the token loss has a non-zero gradient there.
    assert.ok((await close(r.grads[tokBlock.name], gTokOnly.grads[tokBlock.name])) === 0);
    assert.ok((await close(r.grads[projBlock.name], gProjOnly.grads[projBlock.name])) === 0);
    const tokOnProj = await (gTokOnly.grads[projBlock.name] as tf.Tensor).data();
    assert.ok(tokOnProj.some((v) => Math.abs(v) > 1e-6), 'the token loss does have a gradient on the projection block');
    // Shared block: the sum of both.
    const sum = tf.add(gTokOnly.grads[sharedBlock.name] as tf.Tensor, gProjOnly.grads[sharedBlock.name] as tf.Tensor);
    assert.ok((await close(r.grads[sharedBlock.name], sum)) < 1e-6);
    // Frozen blocks get no gradient at all.
    assert.equal(Object.keys(r.grads).length, 3);
    tf.dispose([sum, r.tokenLoss, r.projectionLoss, ...Object.values(r.grads), gTokOnly.value, gProjOnly.value, ...Object.values(gTokOnly.grads), ...Object.values(gProjOnly.grads)]);
    model.dispose();
  });
});
