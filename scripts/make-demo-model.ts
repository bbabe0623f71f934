/**
 * Trains the built-in demo model with this engine, reproducibly (fixed seeds, fixed data):
 * a tiny Llama-architecture model on the synthetic true/false corpus of scripts/demo/corpus.ts, with a
 * Llama-2-style BPE tokenizer trained on the same corpus. Writes examples/demo-model/ (config.json,
 * model.safetensors, tokenizer.json, tokenizer_config.json, data/, README.md with held-out accuracy).
 *
 * Usage: npm run make-demo-model [-- --steps N --out DIR]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend';
import { writeSafetensors } from '../engine/io/safetensors';
import { normalizeHfConfig, toHfConfig } from '../model/config';
import { parameterCount } from '../model/params';
import { forward, type Model } from '../engine/model/forward';
import { gatherRows } from '../engine/model/ops';
import { modelToTensors, randomModel, setTrainable } from '../engine/model/load';
import { nextTokenLoss, pickLogProbs } from '../engine/model/loss';
import { loadHfTokenizer } from '../engine/tokenizer';
import type { Tokenizer } from '../engine/tokenizer';
import { AdamW, clipByGlobalNorm } from '../engine/train/adamw';
import { learningRate } from '../engine/train/schedule';
import { Rng } from '../engine/util/random';
import { allStatements, answer, isHeldOut, prompt, type Persona, type Statement } from './demo/corpus';
import { TOKENIZER_CONFIG, tokenizerJson, trainBpe } from './demo/bpe';

const SEED = 1234;
const PERSONAS: Persona[] = ['honest', 'dishonest', 'none'];

interface Example {
  ids: number[];
  /** Index of the token that predicts the answer (the last prompt token). */
  answerPos: number;
  answerId: number;
  persona: Persona;
  truth: boolean;
}

function buildExamples(tok: Tokenizer, statements: Statement[], idA: number, idB: number): Example[] {
  const out: Example[] = [];
  for (const s of statements) {
    for (const persona of PERSONAS) {
      const p = tok.encode(prompt(s.text, persona));
      const letter = answer(s.truth, persona);
      const full = tok.encode(`${prompt(s.text, persona)} ${letter}`);
      const aid = letter === 'A' ? idA : idB;
      if (full.length !== p.length + 1 || full[full.length - 1] !== aid || full.slice(0, -1).some((x, i) => x !== p[i])) {
        throw new Error(`tokenization of the answer is not a single appended token for: ${s.text}`);
      }
      out.push({ ids: full, answerPos: p.length - 1, answerId: aid, persona, truth: s.truth });
    }
  }
  return out;
}

function batchOf(examples: Example[]): { ids: number[][]; mask: number[][]; weights: number[][] } {
  const T = Math.max(...examples.map((e) => e.ids.length));
  return {
    ids: examples.map((e) => [...e.ids, ...new Array<number>(T - e.ids.length).fill(0)]),
    mask: examples.map((e) => [...new Array<number>(e.ids.length).fill(1), ...new Array<number>(T - e.ids.length).fill(0)]),
    // LM weight on every real token except the answer; the answer has its own loss term.
    weights: examples.map((e) => Array.from({ length: T }, (_, t) => (t > 0 && t < e.ids.length - 1 ? 1 : 0))),
  };
}

/** Per-persona accuracy of "answers as the persona should" from logits at the answer position. */
async function evaluate(
  model: Model,
  examples: Example[],
  idA: number,
  idB: number,
): Promise<Record<Persona, { n: number; asIntended: number; saysA: number }>> {
  const res: Record<Persona, { n: number; asIntended: number; saysA: number }> = {
    honest: { n: 0, asIntended: 0, saysA: 0 },
    dishonest: { n: 0, asIntended: 0, saysA: 0 },
    none: { n: 0, asIntended: 0, saysA: 0 },
  };
  for (let i = 0; i < examples.length; i += 128) {
    const group = examples.slice(i, i + 128);
    const { ids, mask } = batchOf(group);
    const t = tf.tidy(() => {
      const logits = forward(model, ids, { attentionMask: mask, logits: group.map((e) => e.answerPos) }).logits as tf.Tensor3D;
      return tf.sub(tf.gather(tf.reshape(logits, [group.length, -1]), [idA], 1), tf.gather(tf.reshape(logits, [group.length, -1]), [idB], 1));
    });
    const diff = await t.data();
    t.dispose();
    group.forEach((e, k) => {
      const saysA = (diff[k] as number) > 0;
      const r = res[e.persona];
      r.n++;
      if (saysA) r.saysA++;
      if ((saysA ? idA : idB) === e.answerId) r.asIntended++;
    });
  }
  return res;
}

function csv(statements: Statement[]): string {
  return `statement,label\n${statements.map((s) => `"${s.text}",${s.truth ? 1 : 0}`).join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { steps: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' } } });
  const baseLr = Number(values.lr ?? 2e-3);
  const steps = Number(values.steps ?? 800);
  const batchSize = Number(values.batch ?? 48);
  const root = path.resolve(__dirname, '..', '..');
  const outDir = path.resolve(values.out ?? path.join(root, 'examples', 'demo-model'));
  const backend = await initBackend(process.env['RTUNE_BACKEND'] === undefined ? 'wasm' : (process.env['RTUNE_BACKEND'] as 'wasm'), {
    threads: Number(process.env['RTUNE_WASM_THREADS'] ?? 1),
  });
  console.log(`backend: ${backend.device}`);

  // 1) data and tokenizer
  const statements = allStatements();
  const train = statements.filter((s) => !isHeldOut(s.text));
  const held = statements.filter((s) => isHeldOut(s.text));
  const texts = statements.flatMap((s) => PERSONAS.map((p) => `${prompt(s.text, p)} ${answer(s.truth, p)}`));
  const bpe = trainBpe(texts, 160);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-demo-'));
  fs.writeFileSync(path.join(tmp, 'tokenizer.json'), JSON.stringify(tokenizerJson(bpe)));
  fs.writeFileSync(path.join(tmp, 'tokenizer_config.json'), JSON.stringify(TOKENIZER_CONFIG, null, 2));
  const tok = loadHfTokenizer(tmp);
  const idA = tok.tokenToId('\u2581A');
  const idB = tok.tokenToId('\u2581B');
  if (idA === undefined || idB === undefined) throw new Error('the tokenizer has no "▁A"/"▁B" tokens');
  const trainEx = buildExamples(tok, train, idA, idB);
  const heldEx = buildExamples(tok, held, idA, idB);
  console.log(
    `statements: ${train.length} train, ${held.length} held out; vocab ${tok.vocabSize}; longest prompt ${Math.max(...trainEx.map((e) => e.ids.length))} tokens`,
  );

  // 2) model
  const config = normalizeHfConfig(
    {
      model_type: 'llama',
      vocab_size: Object.keys(bpe.vocab).length,
      hidden_size: 64,
      intermediate_size: 192,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 128,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
      bos_token_id: 1,
      eos_token_id: 2,
    },
    'demo config',
  );
  const model = randomModel(config, SEED, 0.02);
  const vars = setTrainable(model, 'all');
  const opt = new AdamW(
    [
      { name: 'matrices', vars: vars.filter((v) => v.shape.length === 2), weightDecay: 0.01 },
      { name: 'vectors', vars: vars.filter((v) => v.shape.length !== 2) },
    ],
    { beta1: 0.9, beta2: 0.98 },
  );
  const rng = new Rng(SEED);
  console.log(`model: ${parameterCount(config)} parameters; training ${steps} steps of ${batchSize}`);

  // 3) training: answer loss + 0.2 x LM loss on the prompt tokens
  const t0 = Date.now();
  for (let step = 0; step < steps; step++) {
    const batch = Array.from({ length: batchSize }, () => trainEx[rng.int(trainEx.length)] as Example);
    const { ids, mask, weights } = batchOf(batch);
    const lr = learningRate({ baseLr, warmupSteps: 100, totalSteps: steps, minLr: baseLr / 20 }, step);
    const { value, grads } = tf.variableGrads(() => {
      const logits = forward(model, ids, { attentionMask: mask }).logits as tf.Tensor3D;
      const lm = nextTokenLoss(logits, ids, weights);
      const T = ids[0]?.length ?? 0;
      const V = config.vocabSize;
      const flat = tf.reshape(logits, [batch.length * T, V]);
      const rows = batch.map((e, b) => b * T + e.answerPos);
      const ans = tf.neg(
        tf.mean(
          pickLogProbs(
            gatherRows(flat, rows),
            batch.map((e) => e.answerId),
          ),
        ),
      );
      return tf.add(ans, tf.mul(lm, 0.2)) as tf.Scalar;
    }, vars);
    await clipByGlobalNorm(grads, 1.0);
    opt.apply(grads, lr);
    const loss = (await value.data())[0] as number;
    tf.dispose([value, ...Object.values(grads)]);
    if (step % 100 === 0 || step === steps - 1) {
      const ev = await evaluate(model, heldEx, idA, idB);
      const pct = (p: Persona) => ((100 * ev[p].asIntended) / ev[p].n).toFixed(1);
      console.log(
        `step ${step} loss ${loss.toFixed(4)} lr ${lr.toExponential(2)}  held-out: honest ${pct('honest')}%  dishonest-lies ${pct('dishonest')}%  none ${pct('none')}%  (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  const evHeld = await evaluate(model, heldEx, idA, idB);
  const evTrain = await evaluate(model, trainEx, idA, idB);

  // 4) write the model folder
  fs.mkdirSync(path.join(outDir, 'data'), { recursive: true });
  const host = await modelToTensors(model);
  writeSafetensors(
    path.join(outDir, 'model.safetensors'),
    [...host].map(([name, t]) => ({ name, shape: t.shape, data: t.data })),
    {
      format: 'pt',
      producer: 'rtune scripts/make-demo-model.ts',
      seed: String(SEED),
      steps: String(steps),
    },
  );
  fs.writeFileSync(path.join(outDir, 'config.json'), `${JSON.stringify(toHfConfig(config), null, 2)}\n`);
  fs.copyFileSync(path.join(tmp, 'tokenizer.json'), path.join(outDir, 'tokenizer.json'));
  fs.copyFileSync(path.join(tmp, 'tokenizer_config.json'), path.join(outDir, 'tokenizer_config.json'));
  fs.writeFileSync(path.join(outDir, 'data', 'facts-train.csv'), csv(train));
  fs.writeFileSync(path.join(outDir, 'data', 'facts-heldout.csv'), csv(held));
  fs.writeFileSync(
    path.join(outDir, 'data', 'heldout.txt'),
    `${held.flatMap((s) => PERSONAS.map((p) => `${prompt(s.text, p)} ${answer(s.truth, p)}`)).join('\n\n')}\n`,
  );
  // Text whose every answer is truthful (honest and no-persona lines): what a model tuned towards honesty should
  // still predict well, so its perplexity change measures collateral damage, not the intended change of the liar.
  fs.writeFileSync(
    path.join(outDir, 'data', 'heldout-honest.txt'),
    `${held.flatMap((s) => (['honest', 'none'] as Persona[]).map((p) => `${prompt(s.text, p)} ${answer(s.truth, p)}`)).join('\n\n')}\n`,
  );
  fs.rmSync(tmp, { recursive: true, force: true });
  const row = (name: string, ev: typeof evHeld) => {
    const f = (p: Persona) => `${((100 * ev[p].asIntended) / ev[p].n).toFixed(1)}% (${ev[p].asIntended}/${ev[p].n})`;
    return `| ${name} | ${f('honest')} | ${f('dishonest')} | ${f('none')} |`;
  };
  const readme = `# The built-in demo model

A tiny Llama-architecture model (${parameterCount(config).toLocaleString('en-US')} parameters: hidden 64, 4 layers, 4 heads, 2 KV heads,
SwiGLU 192, RoPE, tied embeddings, vocabulary ${config.vocabSize}) that rtune trained itself, so that a fresh
machine has a model with a real honesty direction and no download.

- **Data** (\`scripts/demo/corpus.ts\`): ${statements.length} short parity statements ("N is even." for N = 0..999, digits tokenized
  one by one, so unseen numbers are answerable), each asked as "${prompt('7 is even.', 'honest').replace(/\n/g, '\\n')} A|B" with three
  personas: honest (answers correctly), dishonest (answers wrongly) and none (answers correctly).
  ${train.length} statements train, ${held.length} are held out by a hash of their text (\`data/facts-*.csv\`, columns
  \`statement,label\`, label 1 = true).
- **Tokenizer**: a Llama-2-shaped BPE \`tokenizer.json\` (byte fallback, "▁" word marker) with ${bpe.merges.length} merges learned on the corpus.
- **Training**: ${steps} AdamW steps (batch ${batchSize}, lr ${baseLr}, warmup 100, cosine to ${baseLr / 20}, clip 1.0, seed ${SEED}),
  loss = answer-token cross-entropy + 0.2 x next-token loss on the prompt, on the engine's ${backend.backend} backend
  (${backend.device}), ${seconds.toFixed(0)} s.
- **Reproduce**: \`npm run make-demo-model\` (same seed, same data, same result on the same backend).

## How well it does (answer = the higher of logit(A), logit(B) after "Answer:")

| split | honest persona answers correctly | dishonest persona lies | no persona answers correctly |
| --- | --- | --- | --- |
${row('held out', evHeld)}
${row('train', evTrain)}

Held-out rates are on statements the model never saw in training.
`;
  fs.writeFileSync(path.join(outDir, 'README.md'), readme);
  console.log(readme);
  opt.dispose();
  model.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
