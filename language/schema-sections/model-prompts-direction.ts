/**
 * Schema tables for the `model`, `prompts` and `direction` sections (METHOD.md §1–4): which model to load,
 * how contrastive prompts are built from a CSV of statements, and how a steering direction is extracted from
 * their activations. Part of the one schema assembled in language/schema.ts. Non-goals: no code, data only.
 */

import { BACKENDS, COMPONENTS, DIRECTION_METHODS, PAIRINGS, PROMPT_SPLITS } from '../../protocol/contract';
import { enumValues } from '../schema-enum';
import type { KeySpec, SectionSpec } from '../schema';

const OUTPUT_KEY: KeySpec = {
  name: 'output',
  type: { kind: 'path', target: 'output' },
  defaultDoc: '`<runs>/<section name>`',
  doc: "Folder this section's runs are written to, relative to the file. Each run creates a subfolder with its outputs and a `summary.json`, which the editor shows next to the section.",
  example: 'output "runs/honesty"',
};

export { OUTPUT_KEY };

export const MODEL_SECTION: SectionSpec = {
  kind: 'model',
  doc: 'A model to load: a Hugging Face folder (`config.json`, `model.safetensors` or a sharded index, `tokenizer.json`), a llama2.c `.bin` checkpoint, or the built-in demo model. Supported architectures: GPT-2 and the Llama family (Llama 2/3, Mistral, Qwen2). Other sections name it with `model <name>`; when a file has exactly one model section they may leave it out.',
  snippet: 'model ${1:demo} {\n  path ${2:builtin:demo}\n}',
  rules: ['`tokenizer` is only used with a llama2.c `.bin` checkpoint.', '`revision` is only used with a Hub model (`path "hf:Org/Name"`).'],
  keys: [
    {
      name: 'path',
      type: { kind: 'path', target: 'model' },
      required: true,
      doc: "Where the model is: a folder with `config.json` (relative to this file), a llama2.c `.bin` file, `builtin:demo` for the small model the project ships and trained itself, or `hf:Org/Name`, a Hugging Face Hub model id, read from the cache Python's huggingface_hub uses (`HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`) and downloaded there by a run when it is missing (only config, safetensors weights and tokenizer files; `HF_TOKEN`, `HF_ENDPOINT` and `HF_HUB_OFFLINE=1` are honoured). When the path resolves, the editor checks layer indices and block names against the model and shows its architecture, depth, width and parameter count on hover; when it does not, those checks are skipped.",
      example: 'path builtin:demo',
    },
    {
      name: 'revision',
      type: { kind: 'string' },
      default: '"main"',
      doc: 'Which commit of a Hub model (`path "hf:Org/Name"`) to use: a branch, a tag or a 40-hex commit id. A run resolves it once and records the commit in its run folder; a branch already resolved in the cache (`refs/<branch>`) with all its files there is used as it is, with no request, so pin a commit to be sure of the weights. Only with `hf:` paths.',
      example: 'revision "main"',
    },
    {
      name: 'tokenizer',
      type: { kind: 'path', target: 'file', extensions: ['.bin', '.json'] },
      defaultDoc: "the folder's `tokenizer.json`",
      doc: 'Tokenizer file for a llama2.c `.bin` checkpoint (its `tokenizer.bin`, e.g. `tok512.bin`). Hugging Face folders carry their own `tokenizer.json` and need no setting.',
      example: 'tokenizer "tok512.bin"',
    },
    {
      name: 'backend',
      type: {
        kind: 'enum',
        values: enumValues(BACKENDS, {
          auto: 'The best backend that works here: tensorflow, then webgpu, then wasm, then cpu.',
          tensorflow: 'Native TensorFlow through @tensorflow/tfjs-node-gpu or -node (optional dependencies).',
          webgpu: 'Any GPU through Dawn (Vulkan, Metal, D3D12) via the `webgpu` package.',
          wasm: 'WebAssembly with SIMD and threads; ships with npm and works offline.',
          cpu: 'Plain JavaScript kernels; the slow last resort.',
        }),
      },
      default: 'auto',
      doc: 'TensorFlow.js backend for every job on this model. Every run reports the backend and device it actually used.',
      example: 'backend wasm',
    },
  ],
};

export const PROMPTS_SECTION: SectionSpec = {
  kind: 'prompts',
  doc: 'A set of prompts built from a CSV of true and false statements and a template. For direction extraction the template usually holds `{persona}` and `{label}`, and each statement yields a positive (honest persona) and a negative (dishonest persona) prompt; for tuning and A/B evaluation it holds neither, and the answer label is the training target. The anchor names the token where activations are read and steered by *marker text*, not by a magic offset from the end.',
  snippet:
    'prompts ${1:facts} {\n  data "${2:data/facts.csv}"\n  template "${3:{persona\\} Is the following claim true or false? \\"{statement\\}\\"\\n\\nAnswer: {label\\}}"\n  positive { persona "Pretend that you are always honest, no matter what." }\n  negative { persona "Pretend that you are dishonest when it serves you." }\n  anchor "Answer:"\n}',
  rules: [
    'The template must contain `{statement}`; only `{statement}`, `{persona}`, `{label}`, `{option_a}` and `{option_b}` are placeholders (`{{` and `}}` are literal braces).',
    '`{option_a}` and `{option_b}` need `order_column`, and a template with `order_column` must show both.',
    '`split_fractions` must be three numbers that sum to 1.',
    'Two prompt sets that read the same CSV, one for a direction and one for a tune or an A/B evaluation, should read disjoint splits (a warning otherwise).',
    'Every brace in the template must be part of a placeholder or doubled: `{persona Is ...` (not closed) and a lone `}` are errors, never text.',
    'A template with `{persona}` needs both `positive` and `negative` personas.',
    'The `anchor` marker must occur in the template text (outside placeholders).',
    '`true_label` and `false_label` must differ.',
    '`correct_only true` needs a template with `{label}`.',
  ],
  keys: [
    {
      name: 'data',
      type: { kind: 'path', target: 'file', extensions: ['.csv'] },
      required: true,
      doc: 'CSV file of statements, relative to this file, with a header row. One column holds the statement text and one its truth label (1 for true, 0 for false). The research used `facts_true_false.csv` (612 statements, half true).',
      example: 'data "data/facts.csv"',
    },
    {
      name: 'text_column',
      type: { kind: 'string' },
      default: '"statement"',
      doc: 'Header of the CSV column that holds the statement text.',
      example: 'text_column "statement"',
    },
    {
      name: 'label_column',
      type: { kind: 'string' },
      default: '"label"',
      doc: 'Header of the CSV column that holds the truth label: 1 for a true statement, 0 for a false one.',
      example: 'label_column "label"',
    },
    {
      name: 'template',
      type: { kind: 'string', placeholders: ['statement', 'persona', 'label', 'option_a', 'option_b'] },
      required: true,
      doc: "Prompt text with placeholders: `{statement}` (the CSV text), `{persona}` (the positive or negative persona) and `{label}` (the answer letter, for contrastive prompts), and with `order_column` `{option_a}` and `{option_b}` (the texts of the first and second option in the row's order). Write `{{` and `}}` for literal braces (any other brace that is not part of a placeholder is an error) and `\\n` for newlines. String escapes are decoded before placeholders are read, so `\\u{263A}` is the character ☺. For a chat model write its chat format out in full, e.g. Llama-2's `[INST] <<SYS>> ... <</SYS>> ... [/INST]`. A training template ends where the answer starts: the label is appended as the target token.",
      example: 'template "Is the following claim true or false? \\"{statement}\\"\\n\\nChoices:\\n A) True\\n B) False\\n\\nAnswer: {label}"',
    },
    {
      name: 'true_label',
      type: { kind: 'string' },
      default: '"A"',
      doc: 'The answer an honest model gives to a true statement (`{label}` for the honest prompt of a true statement, and the token-loss target of honest tuning). With `order_column` it is the letter of the first option line: the answer to a true statement in a `TF` row and to a false one in an `FT` row.',
      example: 'true_label "A"',
    },
    {
      name: 'false_label',
      type: { kind: 'string' },
      default: '"B"',
      doc: 'The answer an honest model gives to a false statement. With `order_column` it is the letter of the second option line: the answer to a false statement in a `TF` row and to a true one in an `FT` row.',
      example: 'false_label "B"',
    },
    {
      name: 'positive',
      type: {
        kind: 'block',
        keys: [
          {
            name: 'persona',
            type: { kind: 'string' },
            required: true,
            doc: 'Persona text substituted for `{persona}` in the positive (honest) prompts.',
            example: 'persona "Pretend that you are always honest, no matter what."',
          },
        ],
      },
      doc: 'The positive side of each contrastive pair: the honest persona, answering truthfully.',
      example: 'positive { persona "Pretend that you are always honest, no matter what." }',
    },
    {
      name: 'negative',
      type: {
        kind: 'block',
        keys: [
          {
            name: 'persona',
            type: { kind: 'string' },
            required: true,
            doc: 'Persona text substituted for `{persona}` in the negative (dishonest) prompts.',
            example: 'persona "Pretend that you are dishonest when it serves you."',
          },
        ],
      },
      doc: 'The negative side of each contrastive pair: the dishonest persona, answering untruthfully.',
      example: 'negative { persona "Pretend that you are dishonest when it serves you." }',
    },
    {
      name: 'pairing',
      type: {
        kind: 'enum',
        values: enumValues(PAIRINGS, {
          paired: 'The same statement on both sides; the pair differs in persona and label (METHOD §4.1; the final research directions).',
          unpaired:
            'Both sides share a label and differ in persona and statement: true and false statements are matched in file order, (honest, true, true_label) vs (dishonest, false, true_label) and (honest, false, false_label) vs (dishonest, true, false_label), so the answer letter cancels out of the difference (METHOD §4.1).',
          by_label:
            'The contrast is in the text itself, not in a persona: positive prompts are the rows labelled 1, negative prompts the rows labelled 0, matched in file order (e.g. happy vs sad story openings). Personas and `{label}` are optional.',
        }),
      },
      default: 'paired',
      doc: 'How positive and negative prompts are paired. Paired prompts confound honesty with the answer letter; see `project_out` in `direction` to remove the letter direction.',
      example: 'pairing paired',
    },
    {
      name: 'anchor',
      type: { kind: 'string' },
      defaultDoc: 'the last prompt token (the one that predicts the answer)',
      doc: 'Marker text that locates the anchor token: the token that ends the marker\'s last occurrence in the rendered prompt. Directions are read, and the projection loss applied, at positions relative to it. The research targeted the second newline after `B) False`, which `"B) False\\n\\n"` finds in any tokenizer; `"Answer:"` is the token that predicts the answer.',
      example: 'anchor "Answer:"',
    },
    {
      name: 'anchor_offset',
      type: { kind: 'int', min: -64, max: 64 },
      default: '0',
      doc: 'Tokens added to the anchor position (negative = earlier). Prefer moving the marker over using an offset: offsets depend on the tokenizer.',
      example: 'anchor_offset 0',
    },
    {
      name: 'split',
      type: {
        kind: 'enum',
        values: enumValues(PROMPT_SPLITS, {
          all: 'Every row of the CSV.',
          direction: 'The rows whose statement hashes into the first fraction (u < fd): for extracting directions.',
          tuning: 'The rows in the second fraction (fd ≤ u < fd + ft): for training.',
          evaluation: 'The rows in the third fraction (u ≥ fd + ft): for clean A/B evaluation, never seen by a direction or a tune reading another split.',
        }),
      },
      default: 'all',
      doc: 'Which statements of the CSV this set reads. Each statement goes to one split by its text alone: u = the first 8 hex digits of sha256 of the trimmed statement, over 2^32, falls in `direction` when u < fd, `tuning` when u < fd + ft, else `evaluation` (fd, ft, fe = `split_fractions`). Rows with the same statement are always in the same split, so sets reading different splits of one CSV share no statement, e.g. `prompts contrast { data "facts.csv" split direction ... }` for the direction, `split tuning` for the tune and `split evaluation` for `eval { ab { prompts heldout } }`. `limit` applies after the split.',
      example: 'split direction',
    },
    {
      name: 'split_fractions',
      type: { kind: 'numbers', min: 0, max: 1, length: 3 },
      default: '[0.4, 0.3, 0.3]',
      doc: 'Fractions of the `direction`, `tuning` and `evaluation` splits; they must sum to 1. Every set reading one CSV should use the same fractions, or the splits overlap.',
      example: 'split_fractions [0.4, 0.3, 0.3]',
    },
    {
      name: 'order_column',
      type: { kind: 'string' },
      defaultDoc: 'none: every row shows True first',
      doc: "Header of a CSV column that holds each row's option order: `TF` (the first option line is True, the second False) or `FT` (False first). The template then shows `{option_a}` and `{option_b}`, filled per row with `true_text`/`false_text` in that order, and the truthful answer letter is per row: `true_label` names the first option line and `false_label` the second. Tuning targets, A/B gold answers (and the A/B bias, P(says A) − P(gold is A)), a direction's `{label}` and `correct_only` all use the row's letter, so a letter bias cannot pass for honesty.",
      example: 'order_column "order"',
    },
    {
      name: 'true_text',
      type: { kind: 'string' },
      default: '"True"',
      doc: "Option text of the true answer, shown at `{option_a}` or `{option_b}` as the row's order says.",
      example: 'true_text "True"',
    },
    {
      name: 'false_text',
      type: { kind: 'string' },
      default: '"False"',
      doc: "Option text of the false answer, shown at `{option_a}` or `{option_b}` as the row's order says.",
      example: 'false_text "False"',
    },
    {
      name: 'limit',
      type: { kind: 'int', min: 1 },
      defaultDoc: 'every statement',
      doc: 'Use only the first N statements of the CSV (in file order, after `split`), for quick runs.',
      example: 'limit 200',
    },
    {
      name: 'correct_only',
      type: { kind: 'bool' },
      default: 'false',
      doc: 'Keep only pairs where the model, prompted to answer directly, already answers as each persona should (METHOD §4.2 `coronly`): both sides are cut before `{label}` and each must give its own label the larger logit. Applies to direction extraction; the run reports how many pairs it kept and dropped. It shrinks and biases the data, so it is off by default.',
      example: 'correct_only false',
    },
  ],
};

export const DIRECTION_SECTION: SectionSpec = {
  kind: 'direction',
  doc: 'A steering direction extracted from a prompt set: the model reads every positive and negative prompt, activations are taken at the output of each chosen layer at positions relative to the anchor, and the per-layer, per-position direction is the mean difference or a principal component. The run saves the direction (safetensors with metadata) and per-layer separation diagnostics, measured on the `holdout` pairs it was not estimated from (in-sample numbers beside them, labelled so); `method random` instead draws a seeded random control direction; a later run that needs it loads that file instead of extracting again when its inputs (its keys, its model and prompts, the data) are unchanged (`rtune run --fresh` extracts again).',
  snippet: 'direction ${1:honesty} {\n  prompts ${2:facts}\n  method meandiff\n  layers ${3:all}\n  positions 0\n}',
  rules: [
    '`component` applies only to `pca` and `pca-diff`.',
    '`prompts` is required, except with `method random` (which reads none); `seed` applies only to `method random`.',
    '`project_out` must name a different direction, and the chain of `project_out` references must not loop.',
    'The prompt set must define `positive` and `negative` personas or use `{label}` so the two sides differ (not needed with `pairing by_label`, where the rows differ).',
  ],
  keys: [
    {
      name: 'model',
      type: { kind: 'ref', section: 'model' },
      defaultDoc: 'the only `model` section',
      doc: 'The model whose activations are read. Needed only when the file has more than one `model` section.',
      example: 'model demo',
    },
    {
      name: 'prompts',
      type: { kind: 'ref', section: 'prompts' },
      defaultDoc: 'required, except with `method random`',
      doc: 'The contrastive prompt set (positive vs negative prompts). Give it `split direction` when a tune or an evaluation reads the same CSV, so the direction is not estimated on their statements.',
      example: 'prompts facts',
    },
    {
      name: 'method',
      type: {
        kind: 'enum',
        values: enumValues(DIRECTION_METHODS, {
          meandiff: 'Mean over pairs of (positive − negative) activations (METHOD §4.4; the final research directions).',
          pca: 'Principal component of all positive and negative activations together (sklearn-style, centred), sign chosen so positives project higher.',
          'pca-diff': 'Principal component of the centred per-pair differences.',
          random:
            "A control: a random unit vector per layer and position (Gaussian draws of the model's hidden size, normalised), reproducible from `seed`; reads no prompts. Tuning toward it shows what the procedure does without an honesty direction.",
        }),
      },
      default: 'meandiff',
      doc: 'How the positive and negative activations become one direction per layer and position.',
      example: 'method meandiff',
    },
    {
      name: 'component',
      type: {
        kind: 'enum',
        values: enumValues(COMPONENTS, {
          pc1: 'The first principal component.',
          pc2: 'The second principal component (the research found PC2 ≈ honest vs dishonest on Llama-2-13b, PC1 ≈ truth of the statement).',
        }),
      },
      default: 'pc1',
      doc: 'Which principal component to use with `pca` or `pca-diff`.',
      example: 'component pc2',
    },
    {
      name: 'layers',
      type: { kind: 'layers', allowAll: true },
      default: 'all',
      doc: 'Layers whose block outputs are read ("layer L" is the output of decoder block L, counting from 0: HF `hidden_states[L+1]`). Reading every layer costs little and gives the per-layer separation plot used to choose tuning layers.',
      example: 'layers 9..17',
    },
    {
      name: 'positions',
      type: { kind: 'offsets', min: -64, max: 64 },
      default: '0',
      doc: 'Token positions relative to the prompt set\'s anchor where activations are read: `0` is the anchor itself, `-21..0` a 22-token window ending there (the research\'s "last22").',
      example: 'positions -3..0',
    },
    {
      name: 'normalise',
      type: { kind: 'bool' },
      default: 'true',
      doc: "Scale each direction to unit length (the research's `normvec=True`). Principal components are unit length already.",
      example: 'normalise true',
    },
    {
      name: 'project_out',
      type: { kind: 'ref', section: 'direction' },
      defaultDoc: 'nothing is projected out',
      doc: 'Another direction whose component is removed from this one, layer by layer and position by position: v ← v − (v·u/‖u‖²)u, then renormalised when `normalise` is on. Use it to remove the A-vs-B answer-letter direction that paired prompts confound with honesty (METHOD §4.5).',
      example: 'project_out answer_letter',
    },
    {
      name: 'batch',
      type: { kind: 'int', min: 1, max: 1024 },
      default: '2',
      doc: 'Prompts per forward pass while reading activations. Larger is faster and uses more memory.',
      example: 'batch 8',
    },
    {
      name: 'holdout',
      type: { kind: 'number', min: 0, max: 1, exclusiveMax: true },
      default: '0.2',
      doc: "Fraction of the pairs left out of the direction's estimate and used for its separation diagnostics (the `held-out` heatmaps, `bestSeparation` and the headline). Pairs are chosen by a salted hash of their statement, independent of the prompt set's `split`, so the same statements are held out in every run. The in-sample numbers (on the pairs the direction was estimated from, optimistic) are reported too and labelled `in-sample`. 0 estimates from every pair and reports in-sample numbers only.",
      example: 'holdout 0.2',
    },
    {
      name: 'seed',
      type: { kind: 'int', min: 0 },
      default: '0',
      doc: 'Seed of `method random`: the same seed, model width, layers and positions give the same vectors.',
      example: 'seed 1',
    },
    OUTPUT_KEY,
  ],
};
