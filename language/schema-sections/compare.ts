/**
 * Schema table of the `compare` section: one comparison table over the results of several evals (their run
 * folders from the same run), nothing computed again. Non-goals: data only.
 */

import type { SectionSpec } from '../schema';
import { OUTPUT_KEY } from './model-prompts-direction';

export const COMPARE_SECTION: SectionSpec = {
  kind: 'compare',
  doc: "One table comparing conditions across evals, from the evals' own results (nothing is computed again): rows are the base model, steering's best cell and every grid cell, and each eval's tuned model labelled by its tune's name; columns are, per A/B prompt set, the honest and lie rates with Wilson 95% intervals and the A/B bias, then the perplexity change with its bootstrap interval and the held-out cosine with the direction at the tuned layers. Written to its run folder as `comparison.json` and `comparison.md`; `rtune run` prints it after the run summary. It runs after the evals it names, which run first.",
  snippet: 'compare ${1:demo} {\n  evals [${2:in_eval}, ${3:out_eval}]\n}',
  rules: [
    'A compare needs at least one eval; each eval is listed once.',
    'Every A/B prompt set of the first eval is a column group; the other evals report the sets they share with it.',
  ],
  keys: [
    {
      name: 'evals',
      type: { kind: 'ref', section: 'eval', many: true },
      required: true,
      doc: "Evals whose results form the table, in row order. The base and steering rows come from the first eval that has them; each eval with `tuned` adds a row named by its tune. The evals run before the compare in the same run (a compare is planned after them whatever the file order) and it reads their run folders' result.json.",
      example: 'evals [check, plain]',
    },
    OUTPUT_KEY,
  ],
};
