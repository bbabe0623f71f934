/**
 * Schema table for the `search` section: which parameter blocks should each loss train (METHOD.md §8, with the
 * §11 fixes: the model is loaded once and weights restored between trials, both losses really back-propagate,
 * every block in a set is really trained, and trials are scored on held-out data). Non-goals: data only.
 */

import { RANK_BY, SEARCH_SETS, SEARCH_STRATEGIES } from '../../protocol/contract';
import { enumValues } from '../schema-enum';
import type { SectionSpec } from '../schema';
import { OUTPUT_KEY } from './model-prompts-direction';

export const SEARCH_SECTION: SectionSpec = {
  kind: 'search',
  doc: 'A block search: short tuning trials, each training a different choice of parameter blocks, starting from the settings of a `tune` section. Trials enumerate every non-empty subset of the candidates (n choose k, as the research did) or prune them with successive halving. The result is a leaderboard of held-out losses, A/B metrics and a sample generation per trial.',
  snippet: 'search ${1:blocks} {\n  tune ${2:honest}\n  token_blocks [gate, up, down]\n  projection_blocks [q, k, v, o]\n  strategy exhaustive\n}',
  rules: [
    '`eta` and `min_steps` apply only to `strategy halving`.',
    'Searching projection blocks needs a tune with a direction.',
    'An exhaustive search over more than 1,000 trials is flagged: use `max_blocks`, `budget` or `strategy halving`.',
    'A search whose candidates train nothing on the model (only `gate` on GPT-2, say) has no trials and is an error.',
  ],
  keys: [
    {
      name: 'tune',
      type: { kind: 'ref', section: 'tune' },
      required: true,
      doc: 'The tuning run whose model, data, losses and optimiser every trial uses.',
      example: 'tune honest',
    },
    {
      name: 'token_blocks',
      type: { kind: 'blocks' },
      default: '[gate, up, down]',
      doc: 'Candidate blocks for the token loss (the research searched the MLP projections).',
      example: 'token_blocks [gate, up, down]',
    },
    {
      name: 'projection_blocks',
      type: { kind: 'blocks' },
      default: '[q, k, v, o]',
      doc: 'Candidate blocks for the projection loss (the research searched the attention projections). Ignored when the tune has no projection loss.',
      example: 'projection_blocks [q, k, v, o]',
    },
    {
      name: 'sets',
      type: {
        kind: 'enum',
        values: enumValues(SEARCH_SETS, {
          separate: 'Every (token subset, projection subset) pair: 7 × 15 = 105 trials for the defaults.',
          joint: 'One subset of all candidates, trained by both losses: 127 trials for the defaults.',
        }),
      },
      default: 'separate',
      doc: 'Whether each loss gets its own subset or both share one.',
      example: 'sets separate',
    },
    {
      name: 'strategy',
      type: {
        kind: 'enum',
        values: enumValues(SEARCH_STRATEGIES, {
          exhaustive: 'Run every trial for `steps_per_trial` steps.',
          halving: 'Successive halving: run all trials for `min_steps`, keep the best 1/`eta`, multiply the steps by `eta`, repeat.',
        }),
      },
      default: 'exhaustive',
      doc: 'How trials are scheduled: every trial to the end, or a tournament that stops weak trials early.',
      example: 'strategy halving',
    },
    {
      name: 'max_blocks',
      type: { kind: 'int', min: 1, max: 9 },
      defaultDoc: 'no limit',
      doc: 'Largest subset size per loss (k in n choose k): with `sets separate` the token subset and the projection subset each have at most this many blocks; with `sets joint`, the one shared subset.',
      example: 'max_blocks 2',
    },
    {
      name: 'steps_per_trial',
      type: { kind: 'int', min: 1 },
      defaultDoc: "one epoch of the tune's training data",
      doc: 'Optimiser steps per trial with `strategy exhaustive`, and the cap per trial with `halving`.',
      example: 'steps_per_trial 60',
    },
    {
      name: 'eta',
      type: { kind: 'int', min: 2, max: 10 },
      default: '3',
      doc: 'Successive halving: keep the best 1/eta trials at each rung.',
      example: 'eta 3',
    },
    {
      name: 'min_steps',
      type: { kind: 'int', min: 1 },
      default: '10',
      doc: 'Successive halving: optimiser steps every trial gets in the first rung.',
      example: 'min_steps 10',
    },
    {
      name: 'budget',
      type: { kind: 'int', min: 1 },
      defaultDoc: 'no budget',
      doc: 'Total optimiser steps over all trials; trials that would exceed it are skipped and reported.',
      example: 'budget 5000',
    },
    {
      name: 'layers',
      type: { kind: 'layers', allowAll: true },
      defaultDoc: "the tune's layers",
      doc: 'Layers trained in every trial (the research searched layers 14..19).',
      example: 'layers 14..19',
    },
    {
      name: 'rank_by',
      type: {
        kind: 'enum',
        values: enumValues(RANK_BY, {
          total: 'Weighted sum of the held-out losses.',
          projection: 'Held-out projection loss.',
          token: 'Held-out token loss.',
          ab_accuracy:
            "Held-out A/B target rate, from logits: the share of held-out statements answered with the tune's target letter (the truthful one for `labels honest`, the lie for `labels dishonest`); higher ranks first.",
        }),
      },
      default: 'total',
      doc: 'How the leaderboard (and successive halving) ranks trials.',
      example: 'rank_by total',
    },
    {
      name: 'sample_prompt',
      type: { kind: 'string' },
      defaultDoc: 'no sample',
      doc: 'A prompt greedily continued after every trial, to spot gibberish early.',
      example: 'sample_prompt "Is it ever right to lie?"',
    },
    {
      name: 'sample_tokens',
      type: { kind: 'int', min: 1, max: 512 },
      default: '30',
      doc: 'Tokens greedily generated for the sample prompt after each trial.',
      example: 'sample_tokens 30',
    },
    OUTPUT_KEY,
  ],
};
