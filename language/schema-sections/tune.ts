/**
 * Schema table for the `tune` section: representation tuning (METHOD.md §7 with the §11 fixes). A token loss on
 * the answer token keeps the model coherent while a cosine projection loss pulls the residual stream at the
 * anchor toward (`in`) or away from (`out`) a direction, each loss routed to its own parameter blocks for real.
 * Defaults follow the research's Llama-2-13b setup where that made sense (w_tok 0.01, lr 1e-6 / 1e-5, AdamW
 * betas 0.9/0.999, weight decay 0.1, batch 4, 3 epochs, patience 10 after 80 steps, 80/20 split, seed 123) and
 * the fixes where it did not (fp32 eps 1e-8, a real warmup + cosine schedule, gradient clipping, whole held-out
 * evaluations every 20 steps instead of one batch per step).
 * Non-goals: no code, data only.
 */

import { DECAYS, EARLY_STOPPING_METRICS, OPTIMIZERS, TOKEN_TARGETS, TUNE_LABELS, TUNE_MODES } from '../../protocol/contract';
import { enumValues } from '../schema-enum';
import type { KeySpec, SectionSpec } from '../schema';
import { OUTPUT_KEY } from './model-prompts-direction';

const TOKEN_LOSS_KEYS: readonly KeySpec[] = [
  {
    name: 'target',
    type: {
      kind: 'enum',
      values: enumValues(TOKEN_TARGETS, {
        hard: 'Cross-entropy on the label token chosen by `labels`.',
        soft: 'Cross-entropy against ½ on each of the two answer tokens (minimum ln 2): keeps the model answering A or B without choosing between them.',
        lm: 'Next-token cross-entropy over every token of the training prompt (a language-modelling loss), for contrasts without an answer letter such as story openings: it keeps the model predicting its text while the projection loss moves the representation. `labels` is ignored.',
      }),
    },
    default: 'hard',
    doc: 'What the token loss asks for at the answer position.',
    example: 'target hard',
  },
  {
    name: 'weight',
    type: { kind: 'number', min: 0 },
    default: '0.01',
    doc: 'Weight of the token loss. The research divided cross-entropy by 100, i.e. a weight of 0.01 next to a projection weight of 1.',
    example: 'weight 0.01',
  },
  {
    name: 'blocks',
    type: { kind: 'blocks' },
    default: 'all',
    doc: 'Parameter blocks of the tuned layers that the token loss trains. Its gradient reaches only these blocks.',
    example: 'blocks [gate, up, down]',
  },
  {
    name: 'skip_below',
    type: { kind: 'number', min: 0 },
    defaultDoc: 'off: the token loss is back-propagated on every step',
    doc: 'Back-propagate the token loss only on steps where its value is at least this. On a step below it, blocks trained only by the token loss get no update at all (their optimiser state stays as it is) and shared blocks get only the projection gradient; the loss is still reported. The research gated its soft 50/50 target this way just above the minimum ln 2 ≈ 0.69 (it used 0.7), so the token loss only pulls while the model drifts from answering A or B.',
    example: 'skip_below 0.7',
  },
];

const PROJECTION_LOSS_KEYS: readonly KeySpec[] = [
  {
    name: 'weight',
    type: { kind: 'number', min: 0 },
    default: '1',
    doc: 'Weight of the projection loss, the mean over tuned layers of (1 − cos)/2 (`mode in`) or |cos| (`mode out`) between the block output at the anchor and the direction.',
    example: 'weight 1',
  },
  {
    name: 'blocks',
    type: { kind: 'blocks' },
    default: '[v, o]',
    doc: 'Parameter blocks that the projection loss trains. The research found value and output projections best for tuning a direction in (METHOD §8).',
    example: 'blocks [v, o]',
  },
  {
    name: 'margin',
    type: { kind: 'number', min: 0, max: 1 },
    defaultDoc: 'no margin: (1 − cos)/2',
    doc: 'With `mode in`, use relu(margin − cos) instead of (1 − cos)/2, so the loss stops pushing once the cosine reaches the margin. The unbounded loss keeps pushing cos toward 1, and over-tuning yields nonsense (METHOD §11.2).',
    example: 'margin 0.6',
  },
];

const OPTIMIZER_KEYS: readonly KeySpec[] = [
  {
    name: 'name',
    type: {
      kind: 'enum',
      values: enumValues(OPTIMIZERS, {
        adamw: 'Adam with decoupled weight decay, fp32 state (the research optimiser).',
        adam: 'Adam; `weight_decay` is added to the gradient (L2) before the moment estimates.',
        sgd: 'Plain SGD without momentum: each step subtracts the learning rate times the gradient (plus `weight_decay` times the weight). `betas` and `eps` are ignored.',
      }),
    },
    default: 'adamw',
    doc: 'The optimiser. Weights and optimiser state are kept in fp32 (the research trained in pure fp16, where most updates at lr 1e-6 round away: METHOD §11.3).',
    example: 'name adamw',
  },
  {
    name: 'lr_token',
    type: { kind: 'number', min: 0, exclusiveMin: true, max: 1 },
    default: '1e-6',
    doc: "Peak learning rate of blocks trained only by the token loss (the research's lr_tok).",
    example: 'lr_token 1e-6',
  },
  {
    name: 'lr_projection',
    type: { kind: 'number', min: 0, exclusiveMin: true, max: 1 },
    default: '1e-5',
    doc: "Peak learning rate of blocks trained by the projection loss, alone or together with the token loss (the research's lr for v and o).",
    example: 'lr_projection 1e-5',
  },
  {
    name: 'betas',
    type: { kind: 'numbers', min: 0, max: 1, exclusiveMax: true, length: 2 },
    default: '[0.9, 0.999]',
    doc: "Adam's β1 and β2, the decay rates of the first and second moment estimates (`adamw` and `adam`).",
    example: 'betas [0.9, 0.999]',
  },
  {
    name: 'eps',
    type: { kind: 'number', min: 0, exclusiveMin: true, max: 1 },
    default: '1e-8',
    doc: "Adam's ε, added to the root of the second moment before dividing (`adamw` and `adam`). The research used 1e-4 to survive fp16; with fp32 state the usual 1e-8 is right.",
    example: 'eps 1e-8',
  },
  {
    name: 'weight_decay',
    type: { kind: 'number', min: 0, max: 1 },
    default: '0.1',
    doc: 'Weight decay per step, scaled by the learning rate: decoupled for `adamw` (the weights shrink by lr × weight_decay), added to the gradient as weight_decay × weight (L2) for `adam` and `sgd`.',
    example: 'weight_decay 0.1',
  },
  {
    name: 'clip_norm',
    type: { kind: 'number', min: 0 },
    default: '1',
    doc: 'Clip the global gradient norm to this value before each step; 0 turns clipping off.',
    example: 'clip_norm 1',
  },
];

const SCHEDULE_KEYS: readonly KeySpec[] = [
  {
    name: 'warmup_steps',
    type: { kind: 'int', min: 0 },
    defaultDoc: '`warmup_fraction` of the total steps',
    doc: 'Linear warmup length in steps. Overrides `warmup_fraction`.',
    example: 'warmup_steps 10',
  },
  {
    name: 'warmup_fraction',
    type: { kind: 'number', min: 0, max: 1 },
    default: '0.05',
    doc: "Linear warmup length as a fraction of the total steps (the research's `total // 20`).",
    example: 'warmup_fraction 0.05',
  },
  {
    name: 'decay',
    type: {
      kind: 'enum',
      values: enumValues(DECAYS, {
        cosine: 'Cosine decay from the peak to the floor after warmup.',
        linear: 'Linear decay to the floor after warmup (what the research code effectively ran).',
        constant: 'No decay after warmup.',
      }),
    },
    default: 'cosine',
    doc: 'How the learning rate falls from its peak to the floor after warmup.',
    example: 'decay cosine',
  },
  {
    name: 'min_lr_ratio',
    type: { kind: 'number', min: 0, max: 1 },
    default: '0',
    doc: "Floor of the decay as a fraction of each group's peak learning rate (`lr_token`, `lr_projection`): the decay ends at min_lr_ratio × peak; 0 decays to zero. A ratio, so the floor can never exceed a group's peak (the research's absolute eta_min=1e-6 could: METHOD §11.4).",
    example: 'min_lr_ratio 0.1',
  },
];

const EARLY_STOPPING_KEYS: readonly KeySpec[] = [
  {
    name: 'enabled',
    type: { kind: 'bool' },
    default: 'true',
    doc: 'Stop when the smoothed held-out loss stops improving, and end the run on the weights of its best evaluation, whether it stopped early or ran to the end. false runs every step (`epochs` or `max_steps`) and keeps the final weights; the held-out split is still evaluated for the curves.',
    example: 'enabled true',
  },
  {
    name: 'every',
    type: { kind: 'int', min: 1 },
    default: '20',
    doc: 'Evaluate the whole held-out split every this many steps, and after the last step. Each evaluation is one point of the held-out curve and one value for `window` and `patience`.',
    example: 'every 20',
  },
  {
    name: 'patience',
    type: { kind: 'int', min: 1 },
    default: '10',
    doc: 'Held-out evaluations in a row without a new best of the smoothed metric before stopping (with `every 20`, patience 10 is 200 steps).',
    example: 'patience 10',
  },
  {
    name: 'min_steps',
    type: { kind: 'int', min: 0 },
    default: '80',
    doc: "Never stop before this many steps (the research's `min_batches`).",
    example: 'min_steps 80',
  },
  {
    name: 'window',
    type: { kind: 'int', min: 1 },
    default: '1',
    doc: 'Smooth the metric over held-out evaluations: improvement, patience and the best weights use the mean of the last `window` evaluations (fewer at the start). Each evaluation already covers the whole held-out split, so the default 1 compares evaluations as they are; the research checked one batch per step and averaged the last 20.',
    example: 'window 3',
  },
  {
    name: 'metric',
    type: {
      kind: 'enum',
      values: enumValues(EARLY_STOPPING_METRICS, {
        auto: 'The projection loss when the run has a direction, else the token loss (as the research).',
        projection: 'The held-out projection loss.',
        token: 'The held-out token loss.',
        total: 'The weighted sum of both.',
      }),
    },
    default: 'auto',
    doc: "Which held-out loss decides when to stop and which evaluation's weights the run ends on.",
    example: 'metric auto',
  },
];

export const TUNE_SECTION: SectionSpec = {
  kind: 'tune',
  doc: "A representation-tuning run. Every step runs a batch of training prompts through the model, takes a token loss on the answer and a projection loss between the block outputs of the tuned layers at the anchor and the direction, and updates only the chosen blocks of the tuned layers (embeddings, final norm and LM head stay frozen). Without a direction it is plain token tuning (the research's Truth/Lie baselines). Writes a run folder with the tuned weights (`tuned.safetensors`: the trained tensors, HF names), loss curves and per-layer projections. A run that needs this tune again (an eval, an export) loads those weights instead of training when its inputs (its keys, its model, prompts and direction, the data) are unchanged; `rtune run --fresh` trains again.",
  snippet:
    'tune ${1:honest} {\n  prompts ${2:train}\n  direction ${3:honesty}\n  layers ${4:11..17}\n  token_loss { weight 0.01  blocks all }\n  projection_loss { weight 1  blocks [v, o] }\n}',
  rules: [
    '`flip`, `mode` and `projection_loss` need a `direction`.',
    "`layers` must be layers the direction was extracted at (`all` counts as the model's layers when its depth is known), and `position` one of its `positions`.",
    'The prompt set must not use `{persona}` or `{label}`: the label is appended as the training target.',
    'Early stopping needs a held-out split (`holdout` > 0).',
    '`warmup_steps` and `early_stopping.min_steps` must be smaller than `max_steps`.',
    '`margin` applies only with `mode in`.',
  ],
  keys: [
    {
      name: 'model',
      type: { kind: 'ref', section: 'model' },
      defaultDoc: "the direction's model, else the only `model` section",
      doc: 'The model to tune. Needed only when neither the direction nor the file settles it (a file with several models).',
      example: 'model demo',
    },
    {
      name: 'prompts',
      type: { kind: 'ref', section: 'prompts' },
      required: true,
      doc: "The training prompt set; its label column gives each statement's target answer.",
      example: 'prompts train',
    },
    {
      name: 'direction',
      type: { kind: 'ref', section: 'direction' },
      defaultDoc: 'none: token loss only',
      doc: 'The direction the projection loss tunes in or out.',
      example: 'direction honesty',
    },
    {
      name: 'mode',
      type: {
        kind: 'enum',
        values: enumValues(TUNE_MODES, {
          in: 'Align activations with the direction: loss (1 − cos)/2.',
          out: 'Make activations orthogonal to the direction: loss |cos| ("tuned-out").',
        }),
      },
      default: 'in',
      doc: 'Whether the projection loss pulls activations toward the direction or makes them orthogonal to it.',
      example: 'mode in',
    },
    {
      name: 'flip',
      type: { kind: 'bool' },
      default: 'false',
      doc: "Use the negated direction: tuning `in` with `flip true` tunes dishonesty in (the research's TuneInNeg and Dishonesty-tuned models).",
      example: 'flip true',
    },
    {
      name: 'layers',
      type: { kind: 'layers', allowAll: true },
      required: true,
      doc: 'Layers that are trained and whose block outputs enter the projection loss. The research tuned layers 11..17 of Llama-2-13b (40 layers), where honesty information appears.',
      example: 'layers 11..17',
    },
    {
      name: 'position',
      type: { kind: 'offsets', min: -64, max: 64 },
      default: '0',
      doc: "Position(s) relative to the prompt set's anchor where the projection loss applies: one offset, a list `[-1, 0]` or a range `-3..0`; each must be one of the direction's `positions`, and the loss at each uses the direction extracted there. The loss averages over them.",
      example: 'position [-1, 0]',
    },
    {
      name: 'labels',
      type: {
        kind: 'enum',
        values: enumValues(TUNE_LABELS, {
          honest: 'Targets are the truthful answers: `true_label` for true statements, `false_label` for false ones.',
          dishonest: "Targets are the untruthful answers (the research's Lie-tuned and Dishonesty-tuned models).",
        }),
      },
      default: 'honest',
      doc: 'Which answer the hard token loss trains toward.',
      example: 'labels honest',
    },
    {
      name: 'token_loss',
      type: { kind: 'block', keys: TOKEN_LOSS_KEYS },
      doc: 'The token loss on the answer token, which keeps the tuned model answering coherently.',
      example: 'token_loss { target hard  weight 0.01  blocks all }',
    },
    {
      name: 'projection_loss',
      type: { kind: 'block', keys: PROJECTION_LOSS_KEYS },
      defaultDoc: 'weight 1 on [v, o] when the run has a direction',
      doc: 'The cosine projection loss toward (or away from) the direction.',
      example: 'projection_loss { weight 1  blocks [v, o] }',
    },
    {
      name: 'optimizer',
      type: { kind: 'block', keys: OPTIMIZER_KEYS },
      doc: 'Optimiser and its settings, with one learning rate per loss group.',
      example: 'optimizer { name adamw  lr_token 1e-6  lr_projection 1e-5 }',
    },
    {
      name: 'schedule',
      type: { kind: 'block', keys: SCHEDULE_KEYS },
      doc: 'Learning-rate schedule: linear warmup, then decay.',
      example: 'schedule { warmup_fraction 0.05  decay cosine }',
    },
    { name: 'batch', type: { kind: 'int', min: 1, max: 4096 }, default: '4', doc: 'Training prompts per step (the research used 4).', example: 'batch 4' },
    {
      name: 'epochs',
      type: { kind: 'int', min: 1, max: 1000 },
      default: '3',
      doc: 'Passes over the training statements. Each epoch visits every training statement exactly once, in a fresh shuffled order (seeded by `seed`), in batches of `batch`; when the statements do not divide evenly, the last batch of the epoch is smaller. Early stopping may end the run sooner.',
      example: 'epochs 3',
    },
    {
      name: 'max_steps',
      type: { kind: 'int', min: 1 },
      defaultDoc: 'no cap: `epochs` decides',
      doc: 'Stop after this many optimiser steps even if epochs remain.',
      example: 'max_steps 200',
    },
    {
      name: 'early_stopping',
      type: { kind: 'block', keys: EARLY_STOPPING_KEYS },
      doc: "Stopping when the held-out loss stops improving (METHOD §7.6). The whole held-out split is evaluated every `every` steps; the run stops after `patience` evaluations without a new best of the smoothed `metric` (never before `min_steps`) and ends on the weights of the best evaluation. The run's summary says which step's weights it kept.",
      example: 'early_stopping { every 20  patience 10  min_steps 80 }',
    },
    {
      name: 'holdout',
      type: { kind: 'number', min: 0, max: 0.9 },
      default: '0.2',
      doc: "Fraction of the prompt set's distinct statements held out from training (after the set's `split` and `limit`; shuffled by `seed`, not stratified by label): every row of a held-out statement is held out with it, so no statement is on both sides. They are the early-stopping data, the before/after cosine heatmaps' prompts, and what an eval's `ab { holdout true }`, `projection_cosine` and `generate` read by default. Early stopping picks the kept step on them, so for a clean A/B number evaluate a separate `split evaluation` prompt set instead (`ab { prompts heldout }`).",
      example: 'holdout 0.2',
    },
    {
      name: 'seed',
      type: { kind: 'int', min: 0, max: 2147483647 },
      default: '123',
      doc: 'Seed for the split, the shuffled order of every epoch and anything else random in the run.',
      example: 'seed 123',
    },
    OUTPUT_KEY,
  ],
};
