/**
 * Schema tables for the `eval` section (perplexity with the canonical sliding window and a paired bootstrap,
 * A/B evaluation from logits, steering comparisons: METHOD.md §6, §9, with the §11 fixes) and the `export`
 * section (tuned weights as HF safetensors, directions as safetensors and llama.cpp GGUF control vectors).
 * Non-goals: data only.
 */

import { BOOTSTRAP_UNITS, DIRECTION_FORMATS, NEWLINE_MODES, EXPORT_DTYPES, EXPORT_WEIGHTS, STEERING_SCALES } from '../../protocol/contract';
import { enumValues } from '../schema-enum';
import type { KeySpec, SectionSpec } from '../schema';
import { OUTPUT_KEY } from './model-prompts-direction';

const PERPLEXITY_KEYS: readonly KeySpec[] = [
  {
    name: 'data',
    type: { kind: 'path', target: 'file', extensions: ['.txt', '.raw'] },
    required: true,
    doc: 'Plain-text file to score, relative to this file (the research used the WikiText-2 raw test split). One BOS token is prepended to the whole text.',
    example: 'data "data/wiki.test.raw"',
  },
  {
    name: 'max_length',
    type: { kind: 'int', min: 2, max: 1048576 },
    default: '1024',
    doc: "Window length in tokens (Hugging Face's sliding-window method). Capped by the model's context length.",
    example: 'max_length 1024',
  },
  {
    name: 'stride',
    type: { kind: 'int', min: 1 },
    default: '512',
    doc: 'Step between windows. Each window scores only its last `stride` tokens and sees the rest as context; must not exceed `max_length`.',
    example: 'stride 512',
  },
  {
    name: 'batch',
    type: { kind: 'int', min: 1, max: 1024 },
    default: '2',
    doc: 'Windows per forward pass; larger is faster and uses more memory.',
    example: 'batch 2',
  },
  {
    name: 'bootstrap',
    type: { kind: 'int', min: 0, max: 100000 },
    default: '1000',
    doc: 'Paired bootstrap resamples for the confidence interval of the relative perplexity change (base vs tuned, and each steering cell vs unsteered); each resample draws whole units (`bootstrap_unit`) with replacement, the same units for both models, and takes token-weighted means. 0 turns the interval off.',
    example: 'bootstrap 1000',
  },
  {
    name: 'bootstrap_unit',
    type: {
      kind: 'enum',
      values: enumValues(BOOTSTRAP_UNITS, {
        documents:
          'Resample whole documents: runs of lines between blank lines (a blank line holds only whitespace), or one document per line when the text has no blank line. Documents are tokenized one by one: the same tokens as the whole text for byte-level BPE (GPT-2), but not for SentencePiece-style tokenizers that prefix every text with "▁" (Llama, the demo model), whose perplexity then scores a slightly different token stream (the log says when). The honest unit when documents are independent samples.',
        windows:
          'Resample the non-overlapping scored spans of the strided windows (`stride` tokens each) of the whole-text tokenization, so the perplexity is the standard one. Adjacent windows of one running text are still correlated, so this interval can be somewhat too narrow (far less than resampling tokens); and a short text has few windows.',
      }),
    },
    default: 'windows',
    doc: 'What the paired bootstrap resamples. Per-token NLLs are correlated within a passage, so resampling single tokens gives intervals that are too narrow; whole units keep that dependence inside each draw. The result records the unit and how many there were (`perplexity.comparison.unit`, `units`); fewer than 10 units gives a warning, fewer than 2 no interval.',
    example: 'bootstrap_unit documents',
  },
  { name: 'seed', type: { kind: 'int', min: 0, max: 2147483647 }, default: '42', doc: 'Seed of the bootstrap (the research used 42).', example: 'seed 42' },
  {
    name: 'max_tokens',
    type: { kind: 'int', min: 2 },
    defaultDoc: 'the whole text',
    doc: 'Score only the first N tokens, for quick runs.',
    example: 'max_tokens 20000',
  },
  {
    name: 'newlines',
    type: {
      kind: 'enum',
      values: enumValues(NEWLINE_MODES, {
        lf: "Read CRLF and lone CR line endings as LF, as Python's text mode does, so a file saved with Windows line endings scores like its LF copy.",
        raw: 'Keep the bytes as they are: every `\\r` is part of the text and is tokenized.',
      }),
    },
    default: 'lf',
    doc: 'Line endings of the text. The result records the mode and how many CRLF and lone CR endings the file had (`newlines` in result.json), and the run log says when any were replaced.',
    example: 'newlines lf',
  },
];

const AB_KEYS: readonly KeySpec[] = [
  {
    name: 'prompts',
    type: { kind: 'ref', section: 'prompts', many: true },
    defaultDoc: "the tuned run's prompt set",
    doc: "Prompt set to evaluate, or a list of them (`[liar_eval, honest_eval, plain_eval]`: one row per set, in order; the first is the target, the others collateral), each with a training-style template (no `{label}`). The answer is scored from the logits of the two label tokens: P(A), P(B), the honest and lie rates with Wilson 95% intervals and the A/B bias (P(says A) − P(gold is A); with `order_column` the gold letter is per row), per set. Naming sets makes `holdout` default to false, so their rows are evaluated: give them `split evaluation` for a clean number; with `holdout true` every set renders the tuned run's held-out statements with its own template.",
    example: 'prompts [liar, other]',
  },
  {
    name: 'holdout',
    type: { kind: 'bool' },
    defaultDoc: 'true when `tuned` is set and `prompts` is not, else false',
    doc: "`true`: evaluate the statements the tuned run held out from its own training (the tune's `holdout` fraction of its prompt set's statements, chosen by the tune's `seed`; the same statements its early stopping measured, so they are not training data but did choose the kept step), rendered with the `ab` prompt set's template. `false`: every row of the `ab` prompt set (after its `split` and `limit`). For a clean evaluation give `ab { prompts heldout }` a set with `split evaluation` over the CSV whose `split direction` and `split tuning` the direction and the tune read: no statement of it shaped either. Needs `tuned` when true.",
    example: 'holdout true',
  },
  {
    name: 'limit',
    type: { kind: 'int', min: 1 },
    defaultDoc: 'every statement',
    doc: 'Evaluate at most N statements (after the held-out split), for quick runs.',
    example: 'limit 200',
  },
];

const STEERING_KEYS: readonly KeySpec[] = [
  {
    name: 'direction',
    type: { kind: 'ref', section: 'direction' },
    required: true,
    doc: 'The direction added to the residual stream (at the output of each steered layer).',
    example: 'direction honesty',
  },
  {
    name: 'layers',
    type: { kind: 'layers', allowAll: false },
    required: true,
    doc: 'Layers to steer at; each is a separate condition unless `combine` is on (the research swept layers 10..28 and reported layer 15).',
    example: 'layers [15]',
  },
  {
    name: 'multipliers',
    type: { kind: 'numbers' },
    required: true,
    doc: 'Multipliers k of the direction; each runs twice, adding +k·v and −k·v (so `[-4, 4]` is the same as `[4]`), beside one unsteered control (the research swept 5, 12, 19, 26, 33, 47 and reported 19). Small values are allowed (`[0.25, 0.5, 1, 2, 4]`); 0 adds nothing and is the control. With `perplexity` each cell also costs one perplexity pass.',
    example: 'multipliers [5, 12, 19]',
  },
  {
    name: 'combine',
    type: { kind: 'bool' },
    default: 'false',
    doc: 'Steer all listed layers together as one condition, each layer adding v·k / (number of layers), as the research did.',
    example: 'combine false',
  },
  {
    name: 'scale',
    type: {
      kind: 'enum',
      values: enumValues(STEERING_SCALES, {
        absolute: "Add k·v as extracted (v has unit length with the direction's `normalise true`; the research).",
        norm: "k is in units of the layer's mean block-output norm at `position`, measured on the steering prompts without steering, so one multiplier means the same at every layer.",
      }),
    },
    default: 'absolute',
    doc: 'How multipliers are scaled before the direction is added.',
    example: 'scale absolute',
  },
  {
    name: 'position',
    type: { kind: 'int', min: -64, max: 64 },
    defaultDoc:
      "the tuned run's position when the direction has it, else the position every tune of this direction trains, else the direction's first position",
    doc: "Which of the direction's `positions` the added vectors come from (they are added at every token, not only there).",
    example: 'position 0',
  },
  {
    name: 'prompts',
    type: { kind: 'ref', section: 'prompts' },
    defaultDoc: "the `ab` statements, else the tuned run's held-out ones",
    doc: "Prompts to steer on, scored like `ab` from the logits of the two label tokens (no generation). Other prompts than `ab`'s get their own unsteered and tuned rows in the table.",
    example: 'prompts heldout',
  },
  {
    name: 'max_new_tokens',
    type: { kind: 'int', min: 0, max: 4096 },
    default: '30',
    doc: 'Greedy tokens the model generates, unsteered and in every steered condition, for the first 3 steering prompts; stored in the result (`steering.generations`) and shown in the summary. 0 generates nothing (the research generated 30 for A/B tasks).',
    example: 'max_new_tokens 30',
  },
  {
    name: 'max_ppl_increase',
    type: { kind: 'number', min: 0 },
    defaultDoc: '0.10 when the eval has `perplexity`, else no bound',
    doc: "Bound on a steering cell's perplexity cost for the best cell: each cell scores the eval's `perplexity` text under its steering (the same windows) against the unsteered model, and the best cell is the one with the highest honest rate on the first prompt set among the cells whose relative perplexity increase (the point estimate) is at most this (0.10 = +10%); ties go to the smaller increase, then the smaller |k|, then grid order. The result names it (`steering.best`, null when no cell is within the bound). Needs `perplexity`. Without a bound the best cell is the highest honest rate of all cells.",
    example: 'max_ppl_increase 0.10',
  },
];

const PROJECTION_KEYS: readonly KeySpec[] = [
  {
    name: 'direction',
    type: { kind: 'ref', section: 'direction' },
    defaultDoc: "the tuned run's direction",
    doc: 'The direction whose cosine with the block outputs is measured.',
    example: 'direction honesty',
  },
  {
    name: 'layers',
    type: { kind: 'layers', allowAll: true },
    defaultDoc: "the tuned run's layers",
    doc: "Layers whose block outputs are compared with the direction (each must be one of the direction's layers).",
    example: 'layers 1..2',
  },
  {
    name: 'position',
    type: { kind: 'int', min: -64, max: 64 },
    defaultDoc: "the tuned run's position",
    doc: "Position relative to the prompt set's anchor; one of the direction's `positions`.",
    example: 'position 0',
  },
  {
    name: 'prompts',
    type: { kind: 'ref', section: 'prompts' },
    defaultDoc: "the tuned run's held-out prompts",
    doc: 'Prompts to read, rendered as for training (negative persona, no label).',
    example: 'prompts sad',
  },
  { name: 'limit', type: { kind: 'int', min: 1 }, defaultDoc: 'every prompt', doc: 'Read at most N prompts.', example: 'limit 100' },
];

const SCORE_KEYS: readonly KeySpec[] = [
  {
    name: 'lexicon',
    type: { kind: 'path', target: 'file', extensions: ['.txt'] },
    required: true,
    doc: 'Lexicon file, relative to this file: one `WORD WEIGHT` entry per line (`happy 1`, `sad -1`), `#` comments. Each occurrence of a listed word in a continuation adds its weight; a malformed line or a word listed twice fails the eval, naming the file and line.',
    example: 'lexicon "data/mood-lexicon.txt"',
  },
];

const GENERATE_KEYS: readonly KeySpec[] = [
  {
    name: 'prompts',
    type: { kind: 'ref', section: 'prompts' },
    defaultDoc: "the tuned run's held-out prompts",
    doc: 'Prompts to continue, rendered as for training (negative persona, no label).',
    example: 'prompts sad',
  },
  { name: 'limit', type: { kind: 'int', min: 1, max: 1000 }, default: '4', doc: 'Continue the first N prompts.', example: 'limit 4' },
  {
    name: 'max_new_tokens',
    type: { kind: 'int', min: 1, max: 4096 },
    default: '32',
    doc: 'Greedy tokens generated per prompt (stops early at end of text).',
    example: 'max_new_tokens 32',
  },
  {
    name: 'batch',
    type: { kind: 'int', min: 1, max: 256 },
    default: '8',
    doc: 'Prompts generated together (left-padded rows of one batch): larger is faster and uses more memory; the texts are the same as one at a time up to float rounding. A progress event follows each batch.',
    example: 'batch 16',
  },
  {
    name: 'score',
    type: { kind: 'block', keys: SCORE_KEYS },
    doc: 'Score every continuation (the generated text, not its prompt) with a word lexicon: the score is the sum of the weights of its words (case-folded, whole words: a word is a run of letters, digits and inner apostrophes). Per model: the mean score and the share of continuations scoring above 0 and below 0, with Wilson 95% intervals; with `tuned`, the change tuned − base of the mean with a paired bootstrap 95% interval over prompts (1000 resamples, seed 42). In result.json (`score`), the metrics (`scoreBase`, `scoreTuned`, `scoreDelta`, ...) and the inline result.',
    example: 'score { lexicon "data/mood-lexicon.txt" }',
  },
];

export const EVAL_SECTION: SectionSpec = {
  kind: 'eval',
  doc: 'Evaluations of a model, or of a base model against its tuned weights: perplexity on a text, A/B answers on held-out statements, steering comparisons, the projection onto a direction, and greedy generations. Results appear inline next to the section when the run finishes.',
  snippet: 'eval ${1:quality} {\n  tuned ${2:honest}\n  perplexity {\n    data "${3:data/text.txt}"\n    max_length 1024\n    stride 512\n  }\n}',
  rules: [
    'An eval needs at least one of `perplexity`, `ab`, `steering`, `projection_cosine` or `generate`.',
    '`perplexity.stride` must not exceed `perplexity.max_length`.',
    '`ab` needs `prompts` or a `tuned` run; `ab.holdout true` needs `tuned`.',
    "`steering` needs prompts: its own, or those of `ab`, or the tuned run's; `steering.position` must be one of the direction's positions; `steering.max_ppl_increase` needs `perplexity`.",
    "`projection_cosine` needs a direction and prompts (its own or the tuned run's); `generate` needs prompts or a tuned run.",
  ],
  keys: [
    {
      name: 'model',
      type: { kind: 'ref', section: 'model' },
      defaultDoc: "the tuned run's model, else the only `model` section",
      doc: 'The (base) model to evaluate. Needed only when neither `tuned` nor the file settles it.',
      example: 'model demo',
    },
    {
      name: 'tuned',
      type: { kind: 'ref', section: 'tune' },
      defaultDoc: 'none: evaluate the base model only',
      doc: 'A tuning run: evaluate the base model and its tuned weights side by side, with paired statistics. The weights are those of its newest finished run with the same inputs when there is one, else it is trained first.',
      example: 'tuned honest',
    },
    {
      name: 'perplexity',
      type: { kind: 'block', keys: PERPLEXITY_KEYS },
      doc: "Sliding-window perplexity (Hugging Face's canonical method with masked context).",
      example: 'perplexity { data "data/text.txt"  max_length 1024  stride 512 }',
    },
    { name: 'ab', type: { kind: 'block', keys: AB_KEYS }, doc: 'A/B evaluation from logits on true/false statements.', example: 'ab { holdout true }' },
    {
      name: 'steering',
      type: { kind: 'block', keys: STEERING_KEYS },
      doc: 'Steering for the steered-vs-tuned comparison: add +k·v and −k·v to the output of the chosen layers at every token, and score A/B from the logits (plus a few greedy generations).',
      example: 'steering { direction honesty  layers [15]  multipliers [5, 12, 19] }',
    },
    {
      name: 'projection_cosine',
      type: { kind: 'block', keys: PROJECTION_KEYS },
      doc: 'Mean cosine between the block outputs at the anchored position and the direction, per layer, for the base model and (with `tuned`) the tuned one: did tuning move the representation? Works for any contrast, with or without an answer letter.',
      example: 'projection_cosine { direction mood  layers 2..3 }',
    },
    {
      name: 'generate',
      type: { kind: 'block', keys: GENERATE_KEYS },
      doc: 'Greedy continuations of a few prompts from the base model and (with `tuned`) the tuned one, side by side in the summary.',
      example: 'generate { limit 4  max_new_tokens 32 }',
    },
    OUTPUT_KEY,
  ],
};

export const EXPORT_SECTION: SectionSpec = {
  kind: 'export',
  doc: "Exports a tuning run's weights as Hugging Face safetensors (HF parameter names, loadable by `transformers`) and a direction as safetensors with metadata and as a llama.cpp GGUF control vector.",
  snippet: 'export ${1:release} {\n  tune ${2:honest}\n  weights changed\n  output "${3:exports/honest}"\n}',
  rules: [
    'An export needs a `tune` or a `direction`.',
    '`weights` other than none needs a `tune`.',
    "`position` and `layers` shape the GGUF control vector only; `position` must be one of the direction's positions and `layers` among its layers. Layer 0 is never written: llama.cpp cannot apply a control vector to block 0.",
  ],
  keys: [
    {
      name: 'tune',
      type: { kind: 'ref', section: 'tune' },
      defaultDoc: 'none',
      doc: 'The tuning run whose weights are exported: its newest finished run with the same inputs (the checkpoint in that run folder), else it is trained first. `rtune export FILE SECTION --from RUN_FOLDER` (or *Export…*) exports a chosen finished run of it instead.',
      example: 'tune honest',
    },
    {
      name: 'direction',
      type: { kind: 'ref', section: 'direction' },
      defaultDoc: "the tune's direction",
      doc: 'The direction to export, in every format of `direction_formats`.',
      example: 'direction honesty',
    },
    {
      name: 'weights',
      type: {
        kind: 'enum',
        values: enumValues(EXPORT_WEIGHTS, {
          full: "Every tensor of the tuned model, with the source's own config.json (only its dtype field follows `dtype`) and tokenizer files: a complete Hugging Face folder. A llama2.c source becomes a Llama folder (config.json from its header, its tokenizer.bin copied and converted to tokenizer.json) that transformers loads, plus `model.bin`, the same weights as a llama2.c checkpoint.",
          changed:
            'Only the tensors the run changed (a few MB instead of the whole model), with config.json and the tokenizer; its README.md says how to apply them to the base (for a llama2.c base, which transformers cannot read: in rtune, or export `full`).',
          none: 'No weights; export the direction only.',
        }),
      },
      defaultDoc: '`changed` when `tune` is set, else `none`',
      doc: 'Which weights to write, as Hugging Face safetensors with HF parameter names.',
      example: 'weights changed',
    },
    {
      name: 'dtype',
      type: {
        kind: 'enum',
        values: enumValues(EXPORT_DTYPES, {
          f32: '32-bit floats, exactly as trained.',
          f16: 'Half precision (small updates may round away).',
          bf16: 'bfloat16.',
        }),
      },
      default: 'f32',
      doc: 'Data type of exported weights (training is always fp32).',
      example: 'dtype f32',
    },
    {
      name: 'direction_formats',
      type: {
        kind: 'enums',
        values: enumValues(DIRECTION_FORMATS, {
          safetensors:
            "One tensor per layer and position, with the direction's metadata: model, tokenizer hash, template, layers, positions (offsets), method, data file and its sha256, number of pairs, pairing, the direction's name and the export's tune.",
          gguf: 'llama.cpp control vector (`--control-vector`): one vector per written layer (`layers`, never layer 0), taken at `position`, with the same metadata as `rtune.*` keys (llama.cpp ignores them).',
        }),
      },
      default: '[safetensors]',
      doc: 'Formats the direction is written in; GGUF is what llama.cpp reads as a control vector.',
      example: 'direction_formats [safetensors, gguf]',
    },
    {
      name: 'position',
      type: { kind: 'int', min: -64, max: 64 },
      defaultDoc: "the tune's position when the direction has it, else the position every tune of this direction trains, else the direction's first position",
      doc: "Which of the direction's `positions` goes into the GGUF control vector (which holds one vector per layer); the safetensors file keeps every position.",
      example: 'position 0',
    },
    {
      name: 'layers',
      type: { kind: 'layers', allowAll: true },
      defaultDoc: "the tune's layers when `tune` is set, else every extracted layer",
      doc: "Layers written to the GGUF control vector; llama.cpp steers exactly these. Layer 0 is always left out (llama.cpp cannot steer block 0). The export's README.md gives the llama.cpp command line.",
      example: 'layers 1..2',
    },
    {
      ...OUTPUT_KEY,
      doc: "Folder the export is written to, relative to the file. Each export creates a new subfolder named by its start time (e.g. `exports/honest/2026-11-27T07-12-03Z/`), so no export overwrites an earlier one, and updates `latest`, a plain text file in the folder holding the newest subfolder's name.",
      example: 'output "exports/honest"',
    },
  ],
};
