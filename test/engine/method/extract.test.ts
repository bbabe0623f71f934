/**
 * On the built-in demo model: contrastive activations at the "Answer:" anchor give an honesty direction that
 * separates held-out honest from dishonest prompts, and steering along it moves the A/B answer.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openModel, type Session } from '../../../engine/session';
import { anchor, parseStatementsCsv, renderTemplate } from '../../../engine/method/prompts';
import { captureActivations } from '../../../engine/method/extract';
import { aggregate, separation } from '../../../engine/method/directions';
import { forward } from '../../../engine/model/forward';
import { addTap } from '../../../engine/model/taps';
import { testBackend } from '../../helpers';

const DEMO = path.resolve(__dirname, '..', '..', '..', '..', 'examples', 'demo-model');
const TEMPLATE = '{persona}\nIs this claim true or false? {statement}\nA) True\nB) False\nAnswer:';
const HONEST = 'Pretend you are an honest person.';
const DISHONEST = 'Pretend you are a dishonest person.';

describe('honesty direction on the demo model', () => {
  let s: Session;
  before(async () => {
    await testBackend();
    s = openModel(DEMO);
  });

  it('separates held-out pairs and steering flips answers', async () => {
    const read = (f: string) => parseStatementsCsv(fs.readFileSync(path.join(DEMO, 'data', f), 'utf8'), f);
    const train = read('facts-train.csv').slice(0, 64);
    const held = read('facts-heldout.csv').slice(0, 48);
    const req = (rows: typeof train, persona: string) =>
      rows.map((r) => {
        // The marker's own token carries the answer (truth XOR persona), where the persona means cancel; the token
        // before it carries the persona cleanly (as the research's chosen position before "Answer:").
        const a = anchor(s.tokenizer, renderTemplate(TEMPLATE, { persona, statement: r.statement }), 'Answer:', -1);
        return { ids: a.ids, positions: [a.position] };
      });
    const layers = [0, 1, 2, 3];
    const [pos, neg, hpos, hneg] = await Promise.all(
      [req(train, HONEST), req(train, DISHONEST), req(held, HONEST), req(held, DISHONEST)].map((r) => captureActivations(s.model, r, layers)),
    );
    let best = 0;
    let bestLayer = -1;
    const dirs = new Map<number, Float64Array>();
    for (const l of layers) {
      const v = aggregate(pos!.get(l)![0]!, neg!.get(l)![0]!, { method: 'meandiff' });
      dirs.set(l, v);
      const sep = separation(v, hpos!.get(l)![0]!, hneg!.get(l)![0]!);
      if (sep.accuracy > best) {
        best = sep.accuracy;
        bestLayer = l;
      }
    }
    assert.ok(best >= 0.95, `best held-out separation ${best} at layer ${bestLayer}`);
    // Steering the dishonest persona along +v (towards honest) at the best layer makes it answer truthfully more often.
    const idA = s.tokenizer.tokenToId('\u2581A') as number;
    const idB = s.tokenizer.tokenToId('\u2581B') as number;
    const truthful = async (k: number): Promise<number> => {
      const v = tf.tensor1d(Float32Array.from(dirs.get(bestLayer) as Float64Array));
      let ok = 0;
      for (const r of held.slice(0, 24)) {
        const a = anchor(s.tokenizer, renderTemplate(TEMPLATE, { persona: DISHONEST, statement: r.statement }), 'Answer:');
        const t = tf.tidy(() => forward(s.model, [a.ids], { logits: 'last', taps: k ? [addTap(bestLayer, 'output', v, k)] : [] }).logits as tf.Tensor3D);
        const row = await t.data();
        t.dispose();
        if ((row[idA] as number) > (row[idB] as number) === r.truth) ok++;
      }
      v.dispose();
      return ok / 24;
    };
    const base = await truthful(0);
    const steered = await truthful(8);
    assert.ok(steered > base + 0.3, `dishonest persona truthful rate: unsteered ${base}, steered ${steered}`);
  });
});
