/**
 * Generates docs/language.md from the schema: the grammar, the value types, every section and key (type,
 * default, doc, example, rules), the parameter-block map and the diagnostic codes. The file is written by
 * scripts/gen-language-docs.ts and a test fails when the committed file differs from this output, so the
 * reference cannot drift from the schema. Non-goals: no I/O here (pure string building).
 */

import { ARCHITECTURE_FAMILIES, BLOCK_ALIASES, BLOCK_DOCS, BLOCK_NAMES, BLOCK_TENSORS, FAMILY_NAMES, LAYER_PREFIX } from '../model/blocks';
import { defaultText } from './features/describe';
import { KeySpec, ROOT_KEYS, SECTIONS, describeType } from './schema';
import { snippetText } from './snippet';

const INTRO = `# The \`.rtune\` language

<!-- Generated from language/schema.ts by scripts/gen-language-docs.ts. Do not edit by hand: edit the schema
     and run \`npx tsc -p tsconfig.test.json && node out/scripts/gen-language-docs.js\`. A test fails on drift. -->

A \`.rtune\` file describes a representation-tuning experiment: which model to load, which contrastive prompts to
read, how to extract a steering direction, how to tune it in or out, which parameter blocks to search, how to
evaluate and what to export. Sections name each other (\`tune honest { direction honesty ... }\`), every key has a
documented default, and the editor checks the file as you type (against the model itself when it is on disk).

\`\`\`rtune
model demo {
  path builtin:demo
}

prompts contrast {
  data "data/demo-facts.csv"
  template "{persona}\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer: {label}"
  positive { persona "Pretend you are an honest person." }
  negative { persona "Pretend you are a dishonest person." }
  anchor "\\nAnswer:"
}

direction honesty {
  prompts contrast
}
\`\`\`
`;

const SYNTAX = `## Syntax

- **Entries.** \`key value\`, one per line; \`;\` also ends an entry, and a key may follow a value on the same line
  (\`projection_loss { weight 1  blocks [v, o] }\`). A key takes exactly one value; use a list for several.
- **Sections.** \`kind name { ... }\` at the top level. Nested blocks are \`key { ... }\`.
- **Comments.** \`#\` to the end of the line.
- **Strings.** Double quotes, with escapes \`\\n \\t \\r \\" \\\\ \\u{hex}\`. Strings do not span lines.
- **Numbers.** \`3\`, \`-21\`, \`0.9\`, \`1e-5\`.
- **Booleans.** \`true\`, \`false\`.
- **Words.** Enum values, section names, block names and unquoted paths: letters, digits and \`_ - . / : ~\`
  (\`pca-diff\`, \`attn.c_attn\`, \`builtin:demo\`).
- **Ranges.** \`11..17\`, inclusive at both ends; \`-3..0\` for offsets. A range must not run backwards.
- **Lists.** \`[a, b, c]\`; commas may be replaced by spaces or newlines.
- **Paths** are relative to the \`.rtune\` file.

\`\`\`
document := entry*
entry    := WORD [label] '{' entry* '}'  |  WORD value
label    := WORD | STRING
value    := STRING | NUMBER | WORD | NUMBER '..' NUMBER | '[' value* ']' | '{' entry* '}'
\`\`\`

The parser never gives up: after an error it resumes at the next line (or, when a \`{\` was left open, at the
next section keyword in column 0), so one file reports all its independent errors.
`;

const SPLITS = `## Splits and clean evaluation

A direction, a tune and an evaluation that read the same statements measure little: the direction separates the
pairs it was estimated from, and the A/B rates of a tune include the statements it trained on. Give each its own
part of one CSV with \`split\`: every statement belongs to exactly one part, decided by its text alone
(u = the first 8 hex digits of sha256 of the trimmed statement, over 2^32; \`direction\` when u < fd,
\`tuning\` when u < fd + ft, else \`evaluation\`, with [fd, ft, fe] = \`split_fractions\`, default
[0.4, 0.3, 0.3]). Rows with the same statement always share a part, and scripts compute the same parts with
\`common/split.ts\`. \`limit\` applies after the split. The editor warns when two prompt sets over one CSV share
statements while one feeds a direction and the other a tune or an A/B evaluation.

With \`order_column\` each row shows its options in its own order (\`TF\` or \`FT\`), filled into \`{option_a}\`
and \`{option_b}\`; \`true_label\` stays the letter of the first option line, so the truthful letter is per row
(tuning targets, A/B gold answers and the A/B bias, a direction's \`{label}\`, \`correct_only\`), and a model that
always answers A is no longer honest on half the rows by luck.

\`\`\`rtune
model demo {
  path builtin:demo
}
prompts contrast {
  data "data/facts.csv"
  split direction
  order_column "order"
  template "{persona}\\nIs this claim true or false? {statement}\\nA) {option_a}\\nB) {option_b}\\nAnswer: {label}"
  positive { persona "Pretend you are an honest person." }
  negative { persona "Pretend you are a dishonest person." }
}
prompts train {
  data "data/facts.csv"
  split tuning
  order_column "order"
  template "Pretend you are a dishonest person.\\nIs this claim true or false? {statement}\\nA) {option_a}\\nB) {option_b}\\nAnswer:"
}
prompts heldout {
  data "data/facts.csv"
  split evaluation
  order_column "order"
  template "Pretend you are a dishonest person.\\nIs this claim true or false? {statement}\\nA) {option_a}\\nB) {option_b}\\nAnswer:"
}
direction honesty {
  prompts contrast
}
direction control {
  method random
}
tune honest {
  prompts train
  direction honesty
  layers 1..2
}
eval clean {
  tuned honest
  ab { prompts heldout }
}
\`\`\`

What each number is measured on:

- **A direction's separation** (the \`held-out separation\` heatmaps, \`bestSeparation\`, the headline, and
  \`separation\`/\`effectSize\` in result.json with \`separationOn: "held-out"\`): the \`holdout\` fraction of its pairs
  (default 0.2, chosen by a salted hash of the statement, so independent of \`split\`) that the direction was not
  estimated from. The \`in-sample separation\` heatmaps, \`bestSeparationInSample\` and \`inSample\` are on the
  pairs it was estimated from, and optimistic. With \`holdout 0\` only in-sample numbers exist
  (\`separationOn: "in-sample"\`).
- **A tune's held-out statements**: its \`holdout\` fraction of its own prompt set's distinct statements (shuffled by
  \`seed\`; every row of a statement on the same side). Early stopping chooses the kept step on them.
- **\`ab { holdout true }\`** (the default with \`tuned\` and no \`prompts\`): those held-out statements of the
  tune, rendered with the \`ab\` prompt set's template. They were not trained on, but they chose the kept step, and
  they may be statements the direction was estimated from unless the tune's set and the direction's read different
  splits.
- **\`ab { prompts heldout }\`** (with \`holdout\` left out it is false): every row of \`heldout\`. With
  \`split evaluation\` over the CSV the direction and tune split, no statement of it shaped either: the clean number.
- **\`method random\`**: a seeded random unit vector per layer and position, a control for what tuning does with
  no honesty direction at all.
`;

function keyRows(keys: readonly KeySpec[], prefix: string): string[] {
  const rows: string[] = [];
  for (const k of keys) {
    const def = k.required === true ? '**required**' : (defaultText(k) ?? '—');
    rows.push(`| \`${prefix}${k.name}\` | ${describeType(k.type).replace(/\|/g, '\\|')} | ${def.replace(/\|/g, '\\|')} |`);
    if (k.type.kind === 'block') rows.push(...keyRows(k.type.keys, `${prefix}${k.name}.`));
  }
  return rows;
}

function keyDetails(keys: readonly KeySpec[], prefix: string): string[] {
  const out: string[] = [];
  for (const k of keys) {
    out.push(`#### \`${prefix}${k.name}\``, '', k.doc, '');
    if (k.editorOnly !== undefined) out.push(`Read by the editor and the language only, not by runs: ${k.editorOnly}`, '');
    if (k.type.kind === 'enum' || k.type.kind === 'enums') {
      for (const v of k.type.values) out.push(`- \`${v.name}\`: ${v.doc}`);
      out.push('');
    }
    out.push('```rtune', k.example, '```', '');
    if (k.type.kind === 'block') out.push(...keyDetails(k.type.keys, `${prefix}${k.name}.`));
  }
  return out;
}

function blockTable(): string[] {
  const fams = ARCHITECTURE_FAMILIES;
  const rows = [`| block | what | ${fams.map((f) => `${FAMILY_NAMES[f]}`).join(' | ')} |`, `|---|---|${fams.map(() => '---').join('|')}|`];
  for (const b of BLOCK_NAMES) {
    const cells = fams.map((f) => {
      const t = BLOCK_TENSORS[f][b];
      return t !== undefined ? `\`${t.tensor}\`${t.slice !== undefined ? ` (${t.slice} columns)` : ''}` : '—';
    });
    rows.push(`| \`${b}\` | ${BLOCK_DOCS[b]} | ${cells.join(' | ')} |`);
  }
  rows.push('', `Tensors are under \`${LAYER_PREFIX.llama}\` in every family but GPT-2 (\`${LAYER_PREFIX.gpt2}\`).`);
  return rows;
}

export function generateLanguageDocs(): string {
  const parts: string[] = [INTRO, SYNTAX];
  parts.push('## Top-level keys', '', '| key | type | default |', '|---|---|---|', ...keyRows(ROOT_KEYS, ''), '', ...keyDetails(ROOT_KEYS, ''));
  parts.push('## Sections', '');
  for (const s of SECTIONS) {
    parts.push(`### \`${s.kind}\``, '', s.doc, '');
    if (s.rules.length > 0) parts.push('Rules:', '', ...s.rules.map((r) => `- ${r}`), '');
    parts.push('| key | type | default |', '|---|---|---|', ...keyRows(s.keys, ''), '');
    parts.push('```rtune', snippetText(s.snippet), '```', '');
    parts.push(...keyDetails(s.keys, `${s.kind}.`));
  }
  parts.push(SPLITS);
  parts.push(
    '## Parameter blocks',
    '',
    "Block lists use generic names, mapped explicitly to each architecture's tensors (the research matched substrings, which silently matched nothing on GPT-2). `all` means every block the architecture has.",
    '',
    ...blockTable(),
    '',
    `Architecture names are accepted too: ${ARCHITECTURE_FAMILIES.map(
      (f) =>
        `${FAMILY_NAMES[f]} ${Object.keys(BLOCK_ALIASES[f])
          .map((n) => `\`${n}\``)
          .join(', ')}`,
    ).join('; ')} (\`attn.c_attn\` and \`qkv_proj\` = q, k and v; \`gate_up_proj\` = gate and up). ` +
      "A name means what it means in the model's family: `post_attention_layernorm` is `mlp_norm` in the Llama family but `attn_post_norm` in Gemma, where the MLP's input norm is `pre_feedforward_layernorm`; when the model cannot be read, such a name is read in its Llama meaning, with a warning. " +
      'With a model on disk, a name from another family, or a block the architecture lacks (`gate` on GPT-2), is an error.',
    '',
  );
  parts.push(
    '## Diagnostics',
    '',
    'Every diagnostic has a stable code: `syntax`, `unknown-section`, `unknown-key` (with "did you mean"), `duplicate-key`, `duplicate-section`, `missing-key`, `type`, `range` (out of range, or a range written backwards), `enum`, `unresolved-ref`, `rule` (the cross-field rules above), `layer-depth` (a layer beyond the model\'s depth), `block-arch` (a block the architecture lacks), `missing-file` (with the resolved path) and `model` (a model folder that cannot be used). Checks that need the model run only when its path resolves; a model that is not on disk yet is not an error.',
    '',
    '## Inline results',
    '',
    "Each run of a section writes `<output>/<run id>/summary.json` (`output` defaults to `<runs>/<section name>`). The editor shows the newest finished run's `headline` next to the section. The shape is `RunSummary` in `protocol/lsp.ts`: `protocolVersion`, `section`, `kind`, `file`, `status` (`done`, `failed`, `cancelled`), `started`, `finished`, `headline`, `detail`, `metrics`.",
    '',
  );
  return parts.join('\n');
}
