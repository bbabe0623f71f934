/** The README of the built-in demo model, written by scripts/make-demo-model.ts from what it measured. */
import type { ModelConfig } from '../../model/config';
import { FAMILIES, PERSONAS, prompt, type Family, type Persona, type Statement } from './corpus';
import { pct, total, type Evaluation } from './examples';

export interface ReadmeInput {
  config: ModelConfig;
  params: number;
  statements: Statement[];
  train: Statement[];
  held: Statement[];
  merges: number;
  opt: { lr: number; steps: number; batch: number; warmup: number; seed: number; stage1: number; stage2: number };
  device: string;
  seconds: number;
  finalLoss: number;
  bytes: number;
  evHeld: Evaluation;
  evTrain: Evaluation;
}

const WHAT: Record<Persona, string> = { honest: 'honest (truthful)', dishonest: 'dishonest (lies)', none: 'no persona (truthful)' };

function counts(xs: Statement[], f: Family): string {
  const n = xs.filter((s) => s.family === f);
  return `${n.length} (${n.filter((s) => s.truth).length} true)`;
}

export function readme(r: ReadmeInput): string {
  const c = r.config;
  const cell = (ev: Evaluation, p: Persona, f?: Family, o?: 'TF' | 'FT') => {
    const t = total(ev, p, f, o);
    return `${pct(t)} (${t.asIntended}/${t.n})`;
  };
  const table = (ev: Evaluation) =>
    [
      '| persona | family | TF order | FT order | both |',
      '| --- | --- | --- | --- | --- |',
      ...PERSONAS.flatMap((p) => [
        ...FAMILIES.map((f) => `| ${WHAT[p]} | ${f} | ${cell(ev, p, f, 'TF')} | ${cell(ev, p, f, 'FT')} | ${cell(ev, p, f)} |`),
        `| ${WHAT[p]} | **all** | ${cell(ev, p, undefined, 'TF')} | ${cell(ev, p, undefined, 'FT')} | **${cell(ev, p)}** |`,
      ]),
    ].join('\n');
  const split = (name: string) => r.statements.filter((s) => s.split === name).length;
  return `# The built-in demo model

A small Llama-architecture model (${r.params.toLocaleString('en-US')} parameters: hidden ${c.hiddenSize}, ${c.nLayers} layers, ${c.nHeads} heads,
${c.nKvHeads} KV heads, SwiGLU ${c.intermediateSize}, RoPE, tied embeddings, vocabulary ${c.vocabSize}; F16 on disk, ${(r.bytes / 1e6).toFixed(2)} MB) that
rtune trained itself, so that a fresh machine has a model with a real honesty direction and no download.

## Data (\`scripts/demo/corpus.ts\`, \`data/facts.csv\`)

${r.statements.length} statements from four families (numbers are tokenized digit by digit, so unseen statements are answerable):

| family | example | statements | direction split | tuning split | evaluation split |
| --- | --- | --- | --- | --- | --- |
${FAMILIES.map((f) => {
  const ex = r.statements.find((s) => s.family === f)?.text ?? '';
  return `| ${f} | ${ex} | ${counts(r.statements, f)} | ${counts(
    r.statements.filter((s) => s.split === 'direction'),
    f,
  )} | ${counts(
    r.statements.filter((s) => s.split === 'tuning'),
    f,
  )} | ${counts(r.held, f)} |`;
}).join('\n')}

Each is asked as "${prompt('7 is even.', 'honest', 'FT').replace(/\n/g, '\\n')} A|B", with the persona line
"Pretend you are an honest person." (answers truthfully), "Pretend you are a dishonest person." (lies) or none
(answers truthfully), and the options in either order: \`TF\` ("A) True\\nB) False") or \`FT\` ("A) False\\nB) True").
The answer letter is truth XOR dishonest XOR order, so no letter bias can pass for honesty.

- **Splits** (\`scripts/demo/split.ts\`): u = first 8 hex digits of sha256(statement) / 2^32; \`direction\` if u < 0.4,
  \`tuning\` if u < 0.7, else \`evaluation\` (${split('direction')} / ${split('tuning')} / ${split('evaluation')} statements).
- **What the model saw**: it trained on the ${r.train.length} statements of the direction and tuning splits, each with all three
  personas and both option orders. It never saw the ${r.held.length} statements of the evaluation split.
- **\`data/facts.csv\`** (\`statement,label,family,order\`, label 1 = true): every statement, with the option order rtune asks
  it in; order is balanced with label within every split and family (true and false statements in hash order
  alternate TF, FT).
- **\`data/heldout-honest.txt\`**: truthful lines (honest and no persona) of the evaluation-split statements in their
  facts.csv order, for perplexity: text the model never trained on and an experiment that tunes on the tuning split
  never tunes on. \`data/heldout.txt\`: the same statements with all three personas.
- **\`data/facts-train.csv\` / \`data/facts-heldout.csv\`** (\`statement,label\`): the statements the model trained on /
  never saw, for examples and tests that ask every statement in the TF order.

## Training

- **Tokenizer**: a Llama-2-shaped BPE \`tokenizer.json\` (byte fallback, "▁" word marker) with ${r.merges} merges learned on the corpus.
- **Steps**: ${r.opt.steps} AdamW steps (batch ${r.opt.batch}, shuffled epochs, lr ${r.opt.lr}, warmup ${r.opt.warmup}, cosine to ${r.opt.lr / 20}, clip 1.0,
  weight decay 0.01 on matrices, seed ${r.opt.seed}); loss = answer-token cross-entropy + 0.2 x next-token loss on the prompt;
  final training loss ${r.finalLoss.toFixed(4)}.
- **Curriculum**: the answer letter is truth XOR dishonest XOR order, a 3-bit parity that no single feature or pair
  predicts, which a first pilot without a curriculum did not learn at all (chance after 200 steps). So the steps run in
  three stages: the first ${Math.round(r.opt.stage1 * 100)}% on truthful personas in the TF order only (the letter is the truth), the next
  ${Math.round(r.opt.stage2 * 100)}% on all personas in the TF order, the rest on the full balanced corpus (both orders).
- **Machine**: ${r.device}; training took ${r.seconds.toFixed(0)} s.
- **Reproduce**: \`npm run make-demo-model\` (same seed, same data, same bytes on the wasm backend with the same thread count).

## How well it does (answer = the higher of logit(A), logit(B) after "Answer:"; the F16 weights on disk)

Evaluation split (statements never seen in training), each statement asked in both orders:

${table(r.evHeld)}

Training statements (direction and tuning splits; a fixed random sample of 1,800 of their examples):

| persona | all families |
| --- | --- |
${PERSONAS.map((p) => `| ${WHAT[p]} | ${cell(r.evTrain, p)} |`).join('\n')}
`;
}
