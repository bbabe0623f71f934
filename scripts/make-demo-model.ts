/**
 * Trains the built-in demo model with this engine, reproducibly (fixed seeds, fixed data, wasm backend):
 * a small Llama-architecture model on the synthetic true/false corpus of scripts/demo/corpus.ts (several statement
 * families, three personas, option order TF/FT per question), with a Llama-2-style BPE tokenizer trained on the
 * same corpus. Writes examples/demo-model/ (config.json, model.safetensors in F16, tokenizer.json,
 * tokenizer_config.json, data/, README.md with held-out accuracy per persona x family x order).
 *
 * The model trains on the statements of the `direction` and `tuning` splits (split.ts, default fractions), each in
 * both option orders and all three personas; it never sees the `evaluation` split, on which the README reports.
 *
 * Usage: npm run make-demo-model [-- --steps N --out DIR --hidden H --layers L --ff F --lr X --batch B --quick]
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
import { forward } from '../engine/model/forward';
import { gatherRows } from '../engine/model/ops';
import { loadModel, modelToTensors, randomModel, setTrainable } from '../engine/model/load';
import { nextTokenLoss, pickLogProbs } from '../engine/model/loss';
import { loadHfTokenizer } from '../engine/tokenizer';
import { AdamW, clipByGlobalNorm } from '../engine/train/adamw';
import { learningRate } from '../engine/train/schedule';
import { Rng } from '../engine/util/random';
import { allStatements, answer, factsCsv, PERSONAS, prompt, type Order, type Persona, type Statement } from './demo/corpus';
import { TOKENIZER_CONFIG, tokenizerJson, trainBpe } from './demo/bpe';
import { batchOf, buildExamples, evaluate, pct, total, type Example } from './demo/examples';
import { readme } from './demo/readme';

const SEED = 1234;
const ORDERS: Order[] = ['TF', 'FT'];

function lines(statements: Statement[], personas: Persona[]): string {
  return `${statements.flatMap((s) => personas.map((p) => `${prompt(s.text, p, s.order)} ${answer(s.truth, p, s.order)}`)).join('\n\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string' },
      out: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      hidden: { type: 'string' },
      layers: { type: 'string' },
      ff: { type: 'string' },
      heads: { type: 'string' },
      'eval-every': { type: 'string' },
      stage1: { type: 'string' },
      stage2: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  const opt = {
    lr: Number(values.lr ?? 2e-3),
    steps: Number(values.steps ?? 600),
    batch: Number(values.batch ?? 32),
    hidden: Number(values.hidden ?? 96),
    layers: Number(values.layers ?? 4),
    ff: Number(values.ff ?? 256),
    heads: Number(values.heads ?? 4),
    evalEvery: Number(values['eval-every'] ?? 100),
    stage1: Number(values.stage1 ?? 0.3),
    stage2: Number(values.stage2 ?? 0.2),
  };
  const warmup = Math.min(50, Math.floor(opt.steps / 10));
  const root = path.resolve(__dirname, '..', '..');
  const outDir = path.resolve(values.out ?? path.join(root, 'examples', 'demo-model'));
  const threads = Number(process.env['RTUNE_WASM_THREADS'] ?? 1);
  const backend = await initBackend('wasm', { threads });
  console.log(`backend: ${backend.device}`);

  // 1) data and tokenizer
  const statements = allStatements();
  const train = statements.filter((s) => s.split !== 'evaluation');
  const held = statements.filter((s) => s.split === 'evaluation');
  const texts = statements.flatMap((s) => PERSONAS.flatMap((p) => ORDERS.map((o) => `${prompt(s.text, p, o)} ${answer(s.truth, p, o)}`)));
  const bpe = trainBpe(texts, 160);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-demo-'));
  fs.writeFileSync(path.join(tmp, 'tokenizer.json'), JSON.stringify(tokenizerJson(bpe)));
  fs.writeFileSync(path.join(tmp, 'tokenizer_config.json'), JSON.stringify(TOKENIZER_CONFIG, null, 2));
  const tok = loadHfTokenizer(tmp);
  const idA = tok.tokenToId('\u2581A');
  const idB = tok.tokenToId('\u2581B');
  if (idA === undefined || idB === undefined) throw new Error('the tokenizer has no "▁A"/"▁B" tokens');
  const trainEx = buildExamples(tok, train, idA, idB, ORDERS);
  const heldEx = buildExamples(tok, held, idA, idB, ORDERS);
  // progress is measured on a fixed sample of held-out examples; the README on all of them
  const probe = new Rng(SEED + 1).shuffle([...heldEx]).slice(0, 240);
  console.log(
    `statements: ${train.length} train, ${held.length} held out; ${trainEx.length} training examples; vocab ${tok.vocabSize}; longest prompt ${Math.max(...trainEx.map((e) => e.ids.length))} tokens`,
  );

  // 2) model
  const config = normalizeHfConfig(
    {
      model_type: 'llama',
      vocab_size: Object.keys(bpe.vocab).length,
      hidden_size: opt.hidden,
      intermediate_size: opt.ff,
      num_hidden_layers: opt.layers,
      num_attention_heads: opt.heads,
      num_key_value_heads: Math.max(1, opt.heads / 2),
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
  const adam = new AdamW(
    [
      { name: 'matrices', vars: vars.filter((v) => v.shape.length === 2), weightDecay: 0.01 },
      { name: 'vectors', vars: vars.filter((v) => v.shape.length !== 2) },
    ],
    { beta1: 0.9, beta2: 0.98 },
  );
  const rng = new Rng(SEED);
  console.log(`model: ${parameterCount(config)} parameters; training ${opt.steps} steps of ${opt.batch}`);

  // 3) training: answer loss + 0.2 x LM loss on the prompt tokens; batches are shuffled epochs
  const t0 = Date.now();
  // A staged curriculum: the answer letter is truth XOR dishonest XOR order, a 3-bit parity in which no single
  // feature and no pair correlates with the target, which gradient descent from scratch barely learns (a pilot
  // stayed at chance for 200 steps). So each stage adds one bit: truthful personas in the TF order (the letter is
  // the truth), then the dishonest persona too, then both orders; the last stage is the full balanced corpus.
  const stages: { until: number; pool: Example[] }[] = [
    { until: Math.floor(opt.steps * opt.stage1), pool: trainEx.filter((e) => e.order === 'TF' && e.persona !== 'dishonest') },
    { until: Math.floor(opt.steps * (opt.stage1 + opt.stage2)), pool: trainEx.filter((e) => e.order === 'TF') },
    { until: opt.steps, pool: trainEx },
  ];
  let stage = -1;
  let order: Example[] = [];
  let lastLoss = NaN;
  for (let step = 0; step < opt.steps; step++) {
    const now = stages.findIndex((st) => step < st.until);
    if (now !== stage) {
      stage = now;
      order = [];
      console.log(`step ${step}: curriculum stage ${stage + 1} (${stages[stage]?.pool.length} examples)`);
    }
    const pool = stages[stage]?.pool ?? trainEx;
    if (order.length < opt.batch) order = [...order, ...rng.shuffle([...pool])];
    const batch = order.splice(0, opt.batch);
    const { ids, mask, weights } = batchOf(batch);
    const lr = learningRate({ baseLr: opt.lr, warmupSteps: warmup, totalSteps: opt.steps, minLr: opt.lr / 20 }, step);
    const { value, grads } = tf.variableGrads(() => {
      const logits = forward(model, ids, { attentionMask: mask }).logits as tf.Tensor3D;
      const lm = nextTokenLoss(logits, ids, weights);
      const T = ids[0]?.length ?? 0;
      const flat = tf.reshape(logits, [batch.length * T, config.vocabSize]);
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
    adam.apply(grads, lr);
    lastLoss = (await value.data())[0] as number;
    tf.dispose([value, ...Object.values(grads)]);
    if (step % 20 === 0) console.log(`step ${step} loss ${lastLoss.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    if ((opt.evalEvery > 0 && step % opt.evalEvery === 0 && step > 0) || step === opt.steps - 1) {
      const ev = await evaluate(model, probe, idA, idB);
      console.log(
        `step ${step} loss ${lastLoss.toFixed(4)} lr ${lr.toExponential(2)}  held-out sample: honest ${pct(total(ev, 'honest'))}  dishonest-lies ${pct(total(ev, 'dishonest'))}  none ${pct(total(ev, 'none'))}  (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
  }
  const seconds = (Date.now() - t0) / 1000;

  // 4) write the model folder: weights rounded to F16, then reloaded, so the README measures the file on disk
  fs.mkdirSync(path.join(outDir, 'data'), { recursive: true });
  const host = await modelToTensors(model);
  adam.dispose();
  model.dispose();
  const weightsFile = path.join(outDir, 'model.safetensors');
  writeSafetensors(
    weightsFile,
    [...host].map(([name, t]) => ({ name, shape: t.shape, data: t.data, dtype: 'F16' as const })),
    { format: 'pt', producer: 'rtune scripts/make-demo-model.ts', seed: String(SEED), steps: String(opt.steps) },
  );
  const hf = { ...toHfConfig(config), torch_dtype: 'float16' };
  fs.writeFileSync(path.join(outDir, 'config.json'), `${JSON.stringify(hf, null, 2)}\n`);
  fs.copyFileSync(path.join(tmp, 'tokenizer.json'), path.join(outDir, 'tokenizer.json'));
  fs.copyFileSync(path.join(tmp, 'tokenizer_config.json'), path.join(outDir, 'tokenizer_config.json'));
  fs.rmSync(tmp, { recursive: true, force: true });
  const data = path.join(outDir, 'data');
  fs.writeFileSync(path.join(data, 'facts.csv'), factsCsv(statements));
  // The statement,label views of the same statements (trained on / never seen), for the examples and tests that
  // ask every statement in the TF order.
  const legacy = (xs: Statement[]) => `statement,label\n${xs.map((s) => `"${s.text}",${s.truth ? 1 : 0}`).join('\n')}\n`;
  fs.writeFileSync(path.join(data, 'facts-train.csv'), legacy(train));
  fs.writeFileSync(path.join(data, 'facts-heldout.csv'), legacy(held));
  // Held-out text (evaluation split, never trained on, never tuned on), each statement in its facts.csv order:
  // all three personas, and the truthful lines only (honest and no persona), whose perplexity change after tuning
  // towards honesty measures collateral damage rather than the intended change of the liar.
  fs.writeFileSync(path.join(data, 'heldout.txt'), lines(held, PERSONAS));
  fs.writeFileSync(path.join(data, 'heldout-honest.txt'), lines(held, ['honest', 'none']));

  const reloaded = loadModel(outDir);
  // --quick (reproducibility checks): the README's tables from the progress sample only
  const evHeld = await evaluate(reloaded, values.quick === true ? probe : heldEx, idA, idB);
  const evTrain = await evaluate(reloaded, new Rng(SEED + 2).shuffle([...trainEx]).slice(0, values.quick === true ? 240 : 1800), idA, idB);
  reloaded.dispose();
  const text = readme({
    config,
    params: parameterCount(config),
    statements,
    train,
    held,
    merges: bpe.merges.length,
    opt: { ...opt, warmup, seed: SEED },
    device: `${backend.backend} (${backend.device}), ${os.cpus()[0]?.model ?? 'unknown CPU'} x ${os.cpus().length}, load average ${os.loadavg()[0]?.toFixed(1)} at the end`,
    seconds,
    finalLoss: lastLoss,
    bytes: fs.statSync(weightsFile).size,
    evHeld,
    evTrain,
  });
  fs.writeFileSync(path.join(outDir, 'README.md'), text);
  console.log(text);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
