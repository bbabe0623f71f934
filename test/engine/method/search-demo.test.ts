/** Block search on the demo model: weights restored between trials, halving, rank_by, resume and cancellation. */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openModel, type Session } from '../../../engine/session';
import { anchor, parseStatementsCsv, renderTemplate, type StatementRow } from '../../../engine/method/prompts';
import { tune, type TuneExample } from '../../../engine/method/tune';
import { blockParams } from '../../../engine/method/trainable';
import { blockSearch, type RankedTrial, type SearchOptions } from '../../../engine/method/search';
import { captureActivations } from '../../../engine/method/extract';
import { forward } from '../../../engine/model/forward';
import { WeightSnapshot } from '../../../engine/model/weights';
import { testBackend } from '../../helpers';
import { earlyStopping, optimizer, schedule } from './tune-fixtures';

const DEMO = path.resolve(__dirname, '..', '..', '..', '..', 'examples', 'demo-model');
const TEMPLATE = '{persona}\nIs this claim true or false? {statement}\nA) True\nB) False\nAnswer:';
const DISHONEST = 'Pretend you are a dishonest person.';

describe('block search on the demo model', () => {
  let s: Session;
  let train: TuneExample[];
  let held: TuneExample[];
  let probe: number[];
  let base: SearchOptions['template'];
  const layers = [1, 2];

  const logits = async (): Promise<Float32Array> => {
    const t = tf.tidy(() => forward(s.model, [probe], { logits: 'all' }).logits as tf.Tensor3D);
    const d = (await t.data()) as Float32Array;
    t.dispose();
    return d;
  };
  const weights = async (names: string[]): Promise<Float32Array[]> =>
    Promise.all(names.map(async (n) => (await (s.model.params.get(n) as tf.Variable).data()) as Float32Array));
  const opts = (over: Partial<SearchOptions> = {}): SearchOptions => ({
    template: base,
    tokenCandidates: ['down'],
    projectionCandidates: ['v', 'o'],
    sets: 'separate',
    strategy: 'exhaustive',
    stepsPerTrial: 3,
    minSteps: 2,
    ...over,
  });

  before(async () => {
    await testBackend();
    s = openModel(DEMO);
    const idA = s.tokenizer.tokenToId('\u2581A') as number;
    const idB = s.tokenizer.tokenToId('\u2581B') as number;
    const read = (f: string) => parseStatementsCsv(fs.readFileSync(path.join(DEMO, 'data', f), 'utf8'), f);
    const example = (r: StatementRow): TuneExample => {
      const a = anchor(s.tokenizer, renderTemplate(TEMPLATE, { persona: DISHONEST, statement: r.statement }), 'Answer:', -1);
      return { ids: a.ids, answer: r.truth ? idA : idB, positions: [a.position] };
    };
    train = read('facts-train.csv').slice(0, 24).map(example);
    held = read('facts-heldout.csv').slice(0, 4).map(example);
    probe = (held[0] as TuneExample).ids;
    const C = s.model.config.hiddenSize;
    const dir = (seed: number) => {
      const v = Float32Array.from({ length: C }, (_, i) => Math.sin(i * 0.7 + seed));
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const directions = new Map(layers.map((l) => [l, dir(l)]));
    base = {
      run: 'search',
      layers,
      directions,
      mode: 'in',
      flip: false,
      tokenTarget: 'hard',
      tokenWeight: 1,
      projectionWeight: 1,
      optimizer: optimizer({ lrToken: 1e-2, lrProjection: 1e-2 }),
      schedule: schedule(),
      earlyStopping: earlyStopping({ every: 100 }),
      batch: 4,
      seed: 1,
    };
  });

  it('every trial starts from the base weights; the model leaves the search bit-identical', async () => {
    const names = blockParams(s.model, ['down', 'v', 'o'], layers);
    const w0 = await weights(names);
    const l0 = await logits();
    const seenAtEval: boolean[] = [];
    const events: RankedTrial[] = [];
    const r = await blockSearch(
      s.model,
      train,
      held,
      opts({
        evaluate: async () => {
          // the trial trained something...
          const w = await weights(names);
          seenAtEval.push(w.some((x, i) => x.some((v, j) => v !== (w0[i] as Float32Array)[j])));
          return { targetRate: 0.5, otherRate: 0.5 };
        },
        sample: async () => 'sample',
        onTrial: (t) => events.push(t),
      }),
    );
    assert.equal(r.status, 'done', r.message);
    assert.equal(r.trials.length, 3);
    assert.deepEqual(seenAtEval, [true, true, true], 'each trial changed the weights');
    assert.equal(events.length, 3);
    assert.deepEqual(await logits(), l0, 'logits after the search equal those before, bit for bit');
    const w1 = await weights(names);
    w1.forEach((w, i) => assert.deepEqual(w, w0[i], `${names[i]} restored`));
    // The search itself leaks nothing: a one-candidate search leaves exactly as many extra tensors as one tune
    // call on the same blocks (tune's optimiser currently leaves its zero-initialised moment tensors: adamw.ts).
    const t1 = tf.memory().numTensors;
    await blockSearch(s.model, train, held, opts({ projectionCandidates: ['v'] }));
    const searchLeak = tf.memory().numTensors - t1;
    const t2 = tf.memory().numTensors;
    await tune(s.model, train, held, { ...base, tokenBlocks: ['down'], projectionBlocks: ['v'], steps: 3 });
    const tuneLeak = tf.memory().numTensors - t2;
    assert.equal(searchLeak, tuneLeak, `search leaves ${searchLeak} tensors, one tune call ${tuneLeak}`);
    names.forEach((n, i) =>
      tf.tidy(() => (s.model.params.get(n) as tf.Variable).assign(tf.tensor(w0[i] as Float32Array, (s.model.params.get(n) as tf.Variable).shape))),
    );
    assert.deepEqual(await logits(), l0);
    for (const t of r.trials) {
      assert.equal(t.steps, 3);
      assert.equal(t.sample, 'sample');
      assert.ok(Number.isFinite(t.metric) && Number.isFinite(t.initialProjectionLoss) && Number.isFinite(t.finalTokenLoss));
      assert.equal(t.rung, 0);
    }
    const sorted = [...r.leaderboard].sort((a, b) => a.metric - b.metric);
    assert.deepEqual(r.leaderboard, sorted, 'leaderboard sorted by metric');
    assert.equal(r.totalSteps, 9);
    assert.equal(r.fullRuns, 3);
    // Trials start from the same weights and seed: the same candidate gives the same losses in a second search.
    const again = await blockSearch(s.model, train, held, opts({ tokenCandidates: ['down'], projectionCandidates: ['o'] }));
    const o = r.trials.find((t) => t.projectionBlocks.join() === 'o');
    assert.equal(again.trials[0]?.initialTokenLoss, o?.initialTokenLoss);
    assert.equal(again.trials[0]?.metric, o?.metric);
  });

  it('halving: 3 candidates, eta 3 -> rung 0 (3 x 2 steps) then the winner for 6 steps', async () => {
    const l0 = await logits();
    const r = await blockSearch(s.model, train, held, opts({ strategy: 'halving', minSteps: 2 }));
    assert.equal(r.status, 'done', r.message);
    assert.deepEqual(
      r.trials.map((t) => [t.rung, t.steps]),
      [
        [0, 2],
        [0, 2],
        [0, 2],
        [1, 6],
      ],
    );
    const rung0 = r.trials.filter((t) => t.rung === 0).sort((a, b) => a.metric - b.metric);
    assert.equal(r.trials[3]?.trial, rung0[0]?.trial, 'the best of rung 0 is promoted');
    assert.equal(r.leaderboard[0]?.rung, 1);
    assert.equal(r.leaderboard.length, 3);
    assert.equal(r.totalSteps, 12);
    assert.equal(r.stepsPerFullRun, 6);
    assert.equal(r.fullRuns, 2);
    assert.deepEqual(await logits(), l0);
    const tight = await blockSearch(s.model, train, held, opts({ strategy: 'halving', minSteps: 2, budget: 10 }));
    assert.equal(tight.status, 'budget');
    assert.equal(tight.totalSteps, 6);
  });

  it('rank_by decides the ranking and who survives a halving rung', async () => {
    // ab_accuracy: the second rung-0 trial gets the best honest rate, so it is promoted, whatever its losses.
    const rates = [0.1, 0.9, 0.2, 0.5];
    let call = 0;
    const r = await blockSearch(
      s.model,
      train,
      held,
      opts({ strategy: 'halving', minSteps: 2, rankBy: 'ab_accuracy', evaluate: async () => ({ targetRate: rates[call++] as number, otherRate: 0 }) }),
    );
    assert.equal(r.status, 'done', r.message);
    assert.deepEqual(
      r.trials.map((t) => t.metric),
      [-0.1, -0.9, -0.2, -0.5],
    );
    assert.deepEqual(r.trials[3]?.projectionBlocks, r.trials[1]?.projectionBlocks, 'the most honest candidate is promoted');
    // projection: the metric is the held-out projection loss ((1 - cos)/2 is in [0, 1]), not the total loss.
    const byProjection = await blockSearch(s.model, train, held, opts({ rankBy: 'projection' }));
    for (const t of byProjection.trials) assert.ok(t.metric >= 0 && t.metric <= 1, String(t.metric));
    const byTotal = await blockSearch(s.model, train, held, opts({}));
    assert.ok(byTotal.trials.some((t, i) => t.metric !== byProjection.trials[i]?.metric));
  });

  it('resume skips finished trials and reproduces the rest', async () => {
    const first: RankedTrial[] = [];
    const full = await blockSearch(s.model, train, held, opts({ strategy: 'halving', minSteps: 2, onTrial: (t) => first.push(t) }));
    assert.equal(first.length, 4);
    const ran: RankedTrial[] = [];
    const resumed = await blockSearch(
      s.model,
      train,
      held,
      opts({ strategy: 'halving', minSteps: 2, resumeFrom: first.slice(0, 2), onTrial: (t) => ran.push(t) }),
    );
    assert.equal(ran.length, 2, 'only the unfinished trials run');
    assert.deepEqual(
      ran.map((t) => [t.trial, t.rung]),
      first.slice(2).map((t) => [t.trial, t.rung]),
    );
    assert.deepEqual(
      resumed.trials.map((t) => t.metric),
      full.trials.map((t) => t.metric),
    );
    assert.equal(resumed.totalSteps, full.totalSteps);
  });

  it('rank_by projection and total rank by the weights the trial keeps, the ones the A/B callback sees', async () => {
    // Early stopping on (every step, patience never reached): each trial ends on its best held-out weights, which
    // a large learning rate makes older than the last step for some candidate (checked with direct tune calls).
    const template: SearchOptions['template'] = {
      ...base,
      optimizer: optimizer({ lrToken: 3e-2, lrProjection: 3e-2 }),
      earlyStopping: earlyStopping({ enabled: true, every: 1, patience: 100, metric: 'total' }),
    };
    const steps = 10;
    const keptEarlier: boolean[] = [];
    for (const projectionBlocks of [['v'], ['o'], ['v', 'o']]) {
      const snap = WeightSnapshot.take(s.model);
      const out = await tune(s.model, train, held, { ...template, tokenBlocks: ['down'], projectionBlocks, steps });
      snap.restore();
      snap.dispose();
      keptEarlier.push(out.kept.step < steps - 1);
    }
    assert.ok(
      keptEarlier.some((x) => x),
      'some trial keeps weights older than its last step',
    );
    // The held-out losses of the model as the callback gets it, computed here from scratch.
    const dirs = base.directions as Map<number, Float32Array>;
    const measured = async (m: typeof s.model) => {
      const acts = await captureActivations(
        m,
        held.map((e) => ({ ids: e.ids, positions: e.positions })),
        layers,
      );
      let proj = 0;
      for (const l of layers) {
        const d = dirs.get(l) as Float32Array;
        for (const h of (acts.get(l) as Float32Array[][])[0] as Float32Array[]) {
          const dot = h.reduce((a, x, i) => a + x * (d[i] as number), 0);
          proj += (1 - dot / (Math.hypot(...h) * Math.hypot(...d))) / 2;
        }
      }
      let tok = 0;
      for (const e of held) {
        const t = tf.tidy(() => tf.logSoftmax(tf.reshape(forward(m, [e.ids], { logits: 'last' }).logits as tf.Tensor3D, [-1])));
        tok -= (await t.data())[e.answer] as number;
        t.dispose();
      }
      return { projection: proj / (held.length * layers.length), token: tok / held.length };
    };
    for (const rankBy of ['projection', 'total'] as const) {
      const seen: Array<{ projection: number; token: number }> = [];
      const r = await blockSearch(
        s.model,
        train,
        held,
        opts({
          template,
          stepsPerTrial: steps,
          rankBy,
          evaluate: async (m) => {
            seen.push(await measured(m));
            return { targetRate: 0, otherRate: 1 };
          },
        }),
      );
      assert.equal(r.trials.length, 3);
      r.trials.forEach((t, i) => {
        const m = seen[i] as { projection: number; token: number };
        const want = rankBy === 'projection' ? m.projection : m.token + m.projection;
        assert.ok(Math.abs(t.metric - want) < 1e-4, `${rankBy}, trial ${t.trial}: metric ${t.metric}, the kept weights give ${want}`);
      });
    }
  });

  it('cancellation leaves the weights restored', async () => {
    const l0 = await logits();
    const ctl = new AbortController();
    const r = await blockSearch(
      s.model,
      train,
      held,
      opts({
        signal: ctl.signal,
        evaluate: async () => {
          ctl.abort();
          return { targetRate: 0, otherRate: 1 };
        },
      }),
    );
    assert.equal(r.status, 'cancelled');
    assert.equal(r.trials.length, 1);
    assert.deepEqual(await logits(), l0);
    // cancelled inside the first trial, after one training step (a signal that turns aborted on its 3rd read:
    // the search's check before the trial, tune's check before step 0, then before step 1)
    let reads = 0;
    const mid = {
      get aborted() {
        return ++reads > 2;
      },
    } as unknown as AbortSignal;
    const r1 = await blockSearch(s.model, train, held, opts({ signal: mid }));
    assert.equal(r1.status, 'cancelled');
    assert.equal(r1.trials.length, 0, 'the cancelled trial is not reported');
    assert.equal(reads, 3);
    assert.deepEqual(await logits(), l0, 'the partly trained weights were restored');
    // already cancelled: no trial starts, nothing reported, weights untouched
    const pre = new AbortController();
    pre.abort();
    const r2 = await blockSearch(s.model, train, held, opts({ signal: pre.signal }));
    assert.equal(r2.status, 'cancelled');
    assert.equal(r2.trials.length, 0);
    assert.deepEqual(await logits(), l0);
  });
});
