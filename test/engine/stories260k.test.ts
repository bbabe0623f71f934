/**
 * Golden test on a real trained model: Karpathy's stories260K (llama2.c format) against
 * ../shared/data/llama2c-stories260K/golden_numpy_reference.json (an independent numpy port of run.c).
 * Logits within 1e-4 relative; greedy continuations token for token.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { openModel, type Session } from '../../engine/session';
import { forward } from '../../engine/model/forward';
import { generate } from '../../engine/generate';
import { perplexity } from '../../engine/eval/perplexity';
import { missingShared, sharedData, testBackend } from '../helpers';

interface Golden {
  greedy_from_bos: { steps: number; tokens: number[]; text: string };
  greedy_prompt_once_upon_a_time: { steps: number; tokens: number[]; text: string };
  logits_after_bos_top5: Array<[number, number]>;
  logits_after_prompt_once_upon_a_time_top5: Array<[number, number]>;
  teacher_forced_nll: { text: string; tokens: number[]; per_token_nll: number[] };
  encode_examples: Record<string, number[]>;
}

const skip = missingShared('llama2c-stories260K', 'stories260K.bin');

describe('stories260K golden outputs', { skip }, () => {
  let s: Session;
  let golden: Golden;
  before(async () => {
    await testBackend();
    s = openModel(sharedData('llama2c-stories260K', 'stories260K.bin'));
    golden = JSON.parse(fs.readFileSync(sharedData('llama2c-stories260K', 'golden_numpy_reference.json'), 'utf8')) as Golden;
  });

  it('config and tokenizer encode match', () => {
    assert.equal(s.model.config.nLayers, 5);
    assert.equal(s.model.config.nKvHeads, 4);
    for (const [text, ids] of Object.entries(golden.encode_examples)) assert.deepEqual(s.tokenizer.encode(text), ids, text);
  });

  async function topLogits(ids: number[], expected: Array<[number, number]>): Promise<void> {
    const t = tf.tidy(() => forward(s.model, [ids], { logits: 'last' }).logits as tf.Tensor3D);
    const row = await t.data();
    t.dispose();
    for (const [id, value] of expected) {
      const got = row[id] as number;
      assert.ok(Math.abs(got - value) <= 1e-4 * Math.abs(value), `logit[${id}] ${got} vs ${value}`);
    }
    const order = Array.from(row.keys())
      .sort((a, b) => (row[b] as number) - (row[a] as number))
      .slice(0, expected.length);
    assert.deepEqual(
      order,
      expected.map(([id]) => id),
    );
  }

  it('top-5 logits after BOS', async () => {
    await topLogits([1], golden.logits_after_bos_top5);
  });

  it('top-5 logits after "Once upon a time"', async () => {
    await topLogits(golden.encode_examples['Once upon a time'] as number[], golden.logits_after_prompt_once_upon_a_time_top5);
  });

  it('64-step greedy continuation of the prompt, token for token, and its text', async () => {
    const g = golden.greedy_prompt_once_upon_a_time;
    const prompt = s.tokenizer.encode('Once upon a time');
    const res = await generate(s.model, [prompt], { maxNewTokens: g.steps - prompt.length + 1, stopIds: [1] });
    const all = [...prompt, ...(res.tokens[0] as number[])];
    assert.deepEqual(all, g.tokens.slice(0, all.length));
    assert.equal(all.length, g.tokens.length);
    assert.equal(s.tokenizer.decode(all), g.text);
  });

  it("256-step greedy sample from BOS equals Karpathy's documented sample", async () => {
    const g = golden.greedy_from_bos;
    const res = await generate(s.model, [[1]], { maxNewTokens: g.steps, stopIds: [1] });
    const all = [1, ...(res.tokens[0] as number[])];
    assert.deepEqual(all, g.tokens.slice(0, all.length));
  });

  it('teacher-forced per-token NLL (perplexity path, one window)', async () => {
    const g = golden.teacher_forced_nll;
    const r = await perplexity(s.model, g.tokens, { maxLength: 512, stride: 512, batch: 1 });
    const expected = g.per_token_nll.length === g.tokens.length ? g.per_token_nll.slice(1) : g.per_token_nll;
    assert.equal(r.tokenNll.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      assert.ok(Math.abs((r.tokenNll[i] as number) - (expected[i] as number)) < 1e-4 + 1e-4 * (expected[i] as number), `token ${i + 1}`);
    }
  });
});
