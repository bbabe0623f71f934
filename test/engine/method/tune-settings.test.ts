/**
 * Each tune setting does what its doc says, on the demo model: optimizer name and eps (one update against the
 * documented rule), the schedule's decay and floor (the lr of every step), epochs as passes without
 * replacement, early stopping's metric / window / patience / every and the best weights kept at the end, and
 * token_loss.skip_below.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { openModel, type Session } from '../../../engine/session';
import { captureActivations } from '../../../engine/method/extract';
import { aggregate } from '../../../engine/method/directions';
import { tokenLoss } from '../../../engine/method/losses';
import { tune, type TuneExample, type TuneOptions } from '../../../engine/method/tune';
import { forward } from '../../../engine/model/forward';
import { WeightSnapshot } from '../../../engine/model/weights';
import type { TuneEval, TuneStep } from '../../../protocol/job';
import { testBackend } from '../../helpers';
import { DEMO, demoExample, DISHONEST, earlyStopping, HONEST, optimizer, readParams, readStatements, schedule, tuneOptions } from './tune-fixtures';

describe('tune settings on the demo model', () => {
  let s: Session;
  let train: TuneExample[];
  let held: TuneExample[];
  let directions: Map<number, Float32Array>;
  const layers = [1, 2];
  const DOWN = 'model.layers.1.mlp.down_proj.weight';
  const V = 'model.layers.1.self_attn.v_proj.weight';

  const options = (over: Partial<TuneOptions> = {}): TuneOptions => tuneOptions(layers, directions, { run: 'settings', ...over });
  /** Run `tune` and put every weight back afterwards; returns the outcome, the events, and the values of `names` before and after. */
  const trial = async (trainSet: TuneExample[], heldSet: TuneExample[], o: TuneOptions, names: string[] = [DOWN, V]) => {
    const base = await readParams(s, names);
    const events: Array<TuneStep | TuneEval> = [];
    const all = WeightSnapshot.take(s.model);
    const out = await tune(s.model, trainSet, heldSet, {
      ...o,
      onEvent: (e) => {
        events.push(e);
        o.onEvent?.(e);
      },
    });
    const tuned = await readParams(s, names);
    all.restore();
    all.dispose();
    return { out, steps: events.filter((e): e is TuneStep => e.type === 'step'), evals: events.filter((e): e is TuneEval => e.type === 'eval'), base, tuned };
  };

  before(async () => {
    await testBackend();
    s = openModel(DEMO);
    const rows = readStatements('facts-train.csv');
    train = rows.slice(0, 48).map((r) => demoExample(s, r, DISHONEST));
    held = readStatements('facts-heldout.csv')
      .slice(0, 8)
      .map((r) => demoExample(s, r, DISHONEST));
    const req = (persona: string) => rows.slice(0, 48).map((r) => demoExample(s, r, persona));
    const pos = await captureActivations(s.model, req(HONEST), layers);
    const neg = await captureActivations(s.model, req(DISHONEST), layers);
    directions = new Map(layers.map((l) => [l, Float32Array.from(aggregate(pos.get(l)![0]!, neg.get(l)![0]!, { method: 'meandiff' }))]));
  });

  it('optimizer name and eps: one update of the token-only block follows the documented rule of each', async () => {
    const ex = train[0] as TuneExample;
    const down = s.model.params.get(DOWN) as tf.Variable;
    const wasTrainable = down.trainable;
    down.trainable = true;
    const g = tf.variableGrads(() => {
      const logits = forward(s.model, [ex.ids], { logits: 'last' }).logits as tf.Tensor3D;
      return tokenLoss(tf.reshape(logits, [1, s.model.config.vocabSize]) as tf.Tensor2D, { hard: [ex.answer] });
    }, [down]);
    down.trainable = wasTrainable;
    const grad = (await (g.grads[down.name] as tf.Tensor).data()) as Float32Array;
    tf.dispose([g.value, ...Object.values(g.grads)]);
    const lr = 0.5;
    // Token loss only, one example, one step at the peak (no warmup), no clipping.
    const one = (name: 'adamw' | 'adam' | 'sgd', over: { eps?: number; weightDecay?: number } = {}) =>
      trial(
        [ex],
        [],
        options({
          directions: new Map(),
          projectionWeight: 0,
          projectionBlocks: [],
          steps: 1,
          batch: 1,
          optimizer: optimizer({ name, lrToken: lr, clipNorm: 0, ...over }),
        }),
        [DOWN],
      );
    const w0 = (await readParams(s, [DOWN]))[0] as Float32Array;
    const scale = Math.max(...Array.from(grad, Math.abs));
    const check = async (label: string, run: ReturnType<typeof one>, rule: (w: number, g: number) => number) => {
      const { out, tuned } = await run;
      assert.equal(out.status, 'done', out.message);
      const t = tuned[0] as Float32Array;
      let worst = 0;
      for (let i = 0; i < t.length; i++) worst = Math.max(worst, Math.abs((t[i] as number) - rule(w0[i] as number, grad[i] as number)));
      assert.ok(worst < 1e-4 * Math.max(lr * scale, lr * 1e-2), `${label}: largest deviation from the rule ${worst}`);
      return t;
    };
    const sgd = await check('sgd', one('sgd'), (w, gi) => w - lr * gi);
    await check('sgd with weight decay', one('sgd', { weightDecay: 0.1 }), (w, gi) => w - lr * (gi + 0.1 * w));
    // Adam's first step: m̂ = g, v̂ = g², so the update is lr · g / (|g| + eps).
    const adamw = await check('adamw', one('adamw'), (w, gi) => w - (lr * gi) / (Math.abs(gi) + 1e-8));
    await check('adamw with weight decay', one('adamw', { weightDecay: 0.1 }), (w, gi) => w * (1 - lr * 0.1) - (lr * gi) / (Math.abs(gi) + 1e-8));
    await check('adam with weight decay (L2)', one('adam', { weightDecay: 0.1 }), (w, gi) => w - (lr * (gi + 0.1 * w)) / (Math.abs(gi + 0.1 * w) + 1e-8));
    const eps = scale / 4;
    await check(`adamw eps ${eps}`, one('adamw', { eps }), (w, gi) => w - (lr * gi) / (Math.abs(gi) + eps));
    const adam = (await one('adam')).tuned[0] as Float32Array;
    assert.deepEqual(adam, adamw, 'adam and adamw agree without weight decay');
    assert.notDeepEqual(sgd, adamw);
  });

  it("schedule: the lr of every step follows the decay down to min_lr_ratio × each group's peak", async () => {
    const steps = 8;
    const warmup = 2;
    const frac = (t: number) => (t - warmup) / (steps - warmup);
    const shapes = {
      cosine: (t: number) => 0.5 * (1 + Math.cos(Math.PI * frac(t))),
      linear: (t: number) => 1 - frac(t),
      constant: () => 1,
    };
    const peak = 1e-6;
    for (const [decay, shape] of Object.entries(shapes) as Array<[keyof typeof shapes, (t: number) => number]>) {
      const ratio = 0.2;
      const { steps: ev } = await trial(
        train,
        [],
        options({
          steps,
          batch: 2,
          optimizer: optimizer({ name: 'sgd', lrToken: peak / 10, lrProjection: peak }),
          schedule: schedule({ warmupSteps: warmup, decay, minLrRatio: ratio }),
        }),
      );
      const want = Array.from({ length: steps }, (_, t) =>
        t < warmup ? (peak * (t + 1)) / warmup : decay === 'constant' ? peak : peak * (ratio + (1 - ratio) * shape(t)),
      );
      ev.forEach((e, t) => assert.ok(Math.abs(e.lr - (want[t] as number)) < peak * 1e-9, `${decay} step ${t}: lr ${e.lr}, expected ${want[t]}`));
    }
    // A token-only run reports the token group's lr: lr_token × the same schedule, floor min_lr_ratio × lr_token.
    const { steps: tokenOnly } = await trial(
      train,
      [],
      options({
        directions: new Map(),
        projectionWeight: 0,
        projectionBlocks: [],
        steps,
        batch: 2,
        optimizer: optimizer({ name: 'sgd', lrToken: 4e-7, lrProjection: 1e-3 }),
        schedule: schedule({ warmupSteps: 0, decay: 'linear', minLrRatio: 0.5 }),
      }),
    );
    tokenOnly.forEach((e, t) => assert.ok(Math.abs(e.lr - 4e-7 * (0.5 + 0.5 * (1 - t / steps))) < 1e-15, `token-only step ${t}: ${e.lr}`));
    // The default floor is 0: the last step of a cosine run is far below 10% of the peak.
    const { steps: dflt } = await trial(
      train,
      [],
      options({ steps, batch: 2, optimizer: optimizer({ name: 'sgd', lrProjection: peak }), schedule: schedule({ warmupSteps: 0, minLrRatio: 0 }) }),
    );
    assert.ok((dflt[steps - 1] as TuneStep).lr < 0.05 * peak, `last lr ${(dflt[steps - 1] as TuneStep).lr}`);
  });

  it('epochs: one epoch sees every training example exactly once, the last batch smaller', async () => {
    const six = train.slice(0, 6);
    // Each example's token loss on the base weights; sgd at lr 1e-30 leaves the weights unchanged in float32.
    const single = async (e: TuneExample) => {
      const t = tf.tidy(() =>
        tokenLoss(tf.reshape(forward(s.model, [e.ids], { logits: 'last' }).logits as tf.Tensor3D, [1, s.model.config.vocabSize]) as tf.Tensor2D, {
          hard: [e.answer],
        }),
      );
      const v = (await t.data())[0] as number;
      t.dispose();
      return v;
    };
    const each = await Promise.all(six.map(single));
    assert.ok(new Set(each.map((x) => x.toFixed(4))).size === 6, 'the six examples have distinct losses');
    const still = { optimizer: optimizer({ name: 'sgd', lrToken: 1e-30, lrProjection: 1e-30 }) };
    const byOne = await trial(six, [], options({ ...still, batch: 1, steps: 12 }));
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    for (const epoch of [0, 1]) {
      const seen = byOne.steps.slice(epoch * 6, epoch * 6 + 6);
      sorted(seen.map((e) => e.tokenLoss)).forEach((x, i) =>
        assert.ok(Math.abs(x - (sorted(each)[i] as number)) < 1e-4, `epoch ${epoch}: ${seen.map((e) => e.tokenLoss)} vs ${each}`),
      );
      assert.deepEqual(
        seen.map((e) => e.epoch),
        [0, 1, 2, 3, 4, 5].map((k) => epoch + k / 6),
      );
    }
    assert.notDeepEqual(
      byOne.steps.slice(0, 6).map((e) => e.tokenLoss),
      byOne.steps.slice(6).map((e) => e.tokenLoss),
      'a new order in the second epoch',
    );
    // Batches of 4 over 6 examples: 4, then the 2 left; together they are the whole set.
    const byFour = await trial(six, [], options({ ...still, batch: 4, steps: 2 }));
    const [a, b] = byFour.steps.map((e) => e.tokenLoss) as [number, number];
    assert.ok(Math.abs(4 * a + 2 * b - each.reduce((x, y) => x + y, 0)) < 1e-3, `4 × ${a} + 2 × ${b} vs the sum ${each.reduce((x, y) => x + y, 0)}`);
  });

  it('early stopping: the metric, window and patience decide, and the best weights are kept at the end', async () => {
    // A large learning rate makes the held-out losses move both ways; every evaluation is recorded.
    const loud = { optimizer: optimizer({ lrToken: 3e-2, lrProjection: 3e-2 }), steps: 12, batch: 8 };
    const argmin = (xs: number[]) => xs.indexOf(Math.min(...xs));
    const smooth = (xs: number[], w: number) =>
      xs.map((_, i) => {
        const last = xs.slice(Math.max(0, i - w + 1), i + 1);
        return last.reduce((x, y) => x + y, 0) / last.length;
      });
    const pick = { projection: (e: TuneEval) => e.projectionLoss, token: (e: TuneEval) => e.tokenLoss, total: (e: TuneEval) => e.totalLoss };
    const runs: Array<[string, Parameters<typeof earlyStopping>[0], keyof typeof pick]> = [
      ['auto (a run with a direction)', { metric: 'auto' }, 'projection'],
      ['token', { metric: 'token' }, 'token'],
      ['total, window 3', { metric: 'total', window: 3 }, 'total'],
    ];
    let restoredEarlier = false;
    for (const [label, es, kind] of runs) {
      const names = [DOWN, V];
      // Copies of the weights at each evaluation (read back afterwards: webgpu has no synchronous read).
      const snaps = new Map<number, tf.Tensor[]>();
      const {
        out,
        evals,
        tuned: final,
      } = await trial(
        train,
        held,
        options({
          ...loud,
          earlyStopping: earlyStopping({ enabled: true, every: 2, patience: 100, ...es }),
          onEvent: (e) => {
            if (e.type === 'eval')
              snaps.set(
                e.step,
                names.map((n) => tf.clone(s.model.params.get(n) as tf.Variable)),
              );
          },
        }),
        names,
      );
      assert.equal(out.status, 'done', out.message);
      assert.deepEqual(
        evals.map((e) => e.step),
        [1, 3, 5, 7, 9, 11],
        `${label}: every 2 steps`,
      );
      assert.equal(out.metric, kind, label);
      const smoothed = smooth(evals.map(pick[kind]), es?.window ?? 1);
      const best = evals[argmin(smoothed)] as TuneEval;
      assert.equal(out.bestStep, best.step, `${label}: best by the smoothed ${kind} loss ${smoothed}`);
      assert.ok(Math.abs((out.bestMetric as number) - Math.min(...smoothed)) < 1e-9);
      // Ran to the end and still ended on the best weights, and says so.
      assert.equal(out.kept.step, best.step);
      assert.deepEqual(out.kept.heldout, { tokenLoss: best.tokenLoss, projectionLoss: best.projectionLoss, totalLoss: best.totalLoss });
      const kept = await Promise.all((snaps.get(best.step) ?? []).map((t) => t.data() as Promise<Float32Array>));
      for (const t of [...snaps.values()].flat()) t.dispose();
      assert.deepEqual(final, kept, `${label}: the weights of step ${best.step}`);
      if (best.step !== 11) {
        restoredEarlier = true;
        assert.match(out.message, new RegExp(`kept the weights after step ${best.step}, the best held-out ${kind} loss`));
      }
    }
    assert.ok(restoredEarlier, 'at least one run kept weights older than its last step');
    // Patience counts evaluations without a new smoothed best; disabled early stopping keeps the final weights.
    const patient = await trial(
      train,
      held,
      options({ ...loud, steps: 40, earlyStopping: earlyStopping({ enabled: true, every: 1, patience: 2, metric: 'token' }) }),
    );
    const tok = patient.evals.map((e) => e.tokenLoss);
    let bestSoFar = Infinity;
    let since = 0;
    let stopAt = -1;
    tok.forEach((x, i) => {
      if (stopAt >= 0) return;
      if (x < bestSoFar) {
        bestSoFar = x;
        since = 0;
      } else if (++since >= 2) stopAt = i;
    });
    assert.ok(stopAt >= 0, `the token loss ${tok} had two evaluations in a row without a new best`);
    assert.equal(patient.out.status, 'early-stopped', patient.out.message);
    assert.equal(patient.out.steps, stopAt + 1);
    assert.equal(patient.evals.length, stopAt + 1);
    const off = await trial(train, held, options({ ...loud, earlyStopping: earlyStopping({ enabled: false, every: 2, metric: 'token' }) }));
    assert.equal(off.out.kept.step, 11);
    assert.deepEqual(off.out.kept.heldout, {
      tokenLoss: off.evals[5]!.tokenLoss,
      projectionLoss: off.evals[5]!.projectionLoss,
      totalLoss: off.evals[5]!.totalLoss,
    });
    await assert.rejects(
      tune(
        s.model,
        train,
        held,
        options({ directions: new Map(), projectionWeight: 0, projectionBlocks: [], earlyStopping: earlyStopping({ metric: 'projection' }) }),
      ),
      /early_stopping.metric projection needs a direction/,
    );
  });

  it('token_loss.skip_below: above the token loss, the token-only blocks do not move and the rest trains as without a token loss', async () => {
    const shared = { tokenBlocks: ['down', 'v'], projectionBlocks: ['v', 'o'], steps: 3, batch: 8 };
    const names = [DOWN, V, 'model.layers.2.self_attn.o_proj.weight'];
    const plain = await trial(train, [], options(shared), names);
    const gated = await trial(train, [], options({ ...shared, tokenSkipBelow: 1e6 }), names);
    const noToken = await trial(train, [], options({ ...shared, tokenWeight: 0 }), names);
    assert.equal(gated.out.tokenSkipped, 3);
    assert.equal(plain.out.tokenSkipped, 0);
    assert.deepEqual(gated.tuned[0], gated.base[0], 'the token-only block (down) did not move');
    assert.notDeepEqual(plain.tuned[0], plain.base[0], 'without the gate it does');
    assert.deepEqual(gated.tuned.slice(1), noToken.tuned.slice(1), 'the shared (v) and projection-only (o) blocks got the projection gradient only');
    assert.notDeepEqual(gated.tuned[1], plain.tuned[1]);
    gated.steps.forEach((e, i) => assert.equal(e.tokenLoss, noToken.steps[i]!.tokenLoss, 'the token loss is still reported'));
    // A threshold below the loss changes nothing.
    const low = await trial(train, [], options({ ...shared, tokenSkipBelow: 1e-6 }), names);
    assert.deepEqual(low.tuned, plain.tuned);
    assert.equal(low.out.tokenSkipped, 0);
  });
});
