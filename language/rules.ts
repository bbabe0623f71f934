/**
 * Cross-field rules of the `.rtune` language: constraints between keys and between sections that a single
 * key's type cannot express (stride <= max_length, flip only with a direction, tuned layers among the
 * direction's layers, template placeholders, reference loops...). Each rule is one small function reporting
 * `rule` diagnostics at the most specific span. The schema's `rules` prose lists them for docs and hover.
 * Non-goals: per-key checks (values.ts) and checks that need the model's shape (model-checks.ts).
 */

import type { AnalysisCore, SectionInfo } from './lower';
import { blockSubsets, countBlockSets, type ResolveBlocks } from '../model/block-sets';
import { BLOCK_NAMES, FAMILY_NAMES, familyBlocks, resolveBlocks, slicesKey, type ParamSlice } from '../model/blocks';
import type { ModelConfig } from '../model/config';
import { isHubPath } from '../model/hub-id';
import { span } from './text';
import { at, checkNeedsModel, keySpan, MAX_EXHAUSTIVE_TRIALS, PLACEHOLDERS, report, type Sink } from './rule-helpers';
import { checkEval, checkExport } from './rules-eval-export';
import { checkSplitOverlaps } from './rules-splits';
import { stringSourceOffsets } from './lexer';
import { parseTemplate, templatePlaceholders } from '../protocol/template';

function checkPrompts(s: SectionInfo, sink: Sink): void {
  const v = s.values;
  const template = v.str('template');
  const templateEntry = v.entryOf('template');
  if (template === undefined || templateEntry?.value === undefined || templateEntry.value.kind !== 'string') return;
  // Escapes are decoded first (`\u{263A}` is ☺); spans are mapped back to what was written.
  const offsets = stringSourceOffsets(templateEntry.value.token.text);
  const base = templateEntry.value.start;
  const src = (k: number): number => base + (offsets[k] ?? offsets[offsets.length - 1] ?? 0);
  const parsed = parseTemplate(template);
  for (const p of parsed.problems) {
    const edit = { span: span(src(p.edit.start), src(p.edit.end)), newText: p.edit.newText };
    sink({ code: 'rule', severity: 'error', span: span(src(p.start), src(p.end)), message: `template: ${p.message}`, fixes: [{ title: p.edit.title, edit }] });
  }
  const found = new Set<string>();
  for (const p of parsed.parts) {
    if (p.kind !== 'placeholder') continue;
    if (!PLACEHOLDERS.includes(p.name)) {
      report(
        sink,
        span(src(p.start), src(p.end)),
        `unknown placeholder {${p.name}}; placeholders are {statement}, {persona}, {label}, {option_a} and {option_b}`,
      );
    }
    found.add(p.name);
  }
  const valueSpan = span(templateEntry.value.start, templateEntry.value.end);
  if (!found.has('statement')) report(sink, valueSpan, 'the template needs a {statement} placeholder for the CSV text');
  if (found.has('persona')) {
    for (const side of ['positive', 'negative']) {
      if (!v.has(side)) report(sink, s.headerSpan, `the template uses {persona}, so \`${side} { persona "..." }\` is needed`);
    }
  }
  const anchor = v.str('anchor');
  const literal = parsed.parts.map((p) => (p.kind === 'text' ? p.text : '\u0000')).join('');
  if (anchor !== undefined && anchor !== '' && !literal.includes(anchor)) {
    report(
      sink,
      at(v, 'anchor', s.headerSpan),
      'the anchor marker does not occur in the template text (outside placeholders), so it cannot be found in every prompt',
    );
  }
  if (anchor === '') report(sink, at(v, 'anchor', s.headerSpan), 'the anchor marker is empty');
  if (v.str('true_label') === v.str('false_label')) report(sink, at(v, 'false_label', s.headerSpan), '`true_label` and `false_label` must differ');
  checkOptionOrder(s, found, sink);
  if (v.has('correct_only') && v.flag('correct_only') && !found.has('label')) {
    report(
      sink,
      at(v, 'correct_only', s.headerSpan),
      '`correct_only` checks the answer each side gives, so the template needs a {label} placeholder where the answer goes',
    );
  }
}

/** `{option_a}`/`{option_b}` need `order_column`, `order_column` needs both, and `split_fractions` sum to 1. */
function checkOptionOrder(s: SectionInfo, found: ReadonlySet<string>, sink: Sink): void {
  const v = s.values;
  const options = ['option_a', 'option_b'].filter((o) => found.has(o));
  if (!v.has('order_column') && options.length > 0)
    report(
      sink,
      at(v, 'template', s.headerSpan),
      `the template uses ${options.map((o) => `{${o}}`).join(' and ')}, which are filled from each row's option order: set \`order_column\` to the CSV column holding TF or FT`,
    );
  if (v.has('order_column') && options.length < 2)
    report(
      sink,
      at(v, 'order_column', s.headerSpan),
      '`order_column` puts the options in each row\'s order, so the template must show them with {option_a} and {option_b} (e.g. "A) {option_a}\\nB) {option_b}")',
    );
  if (!v.has('order_column'))
    for (const k of ['true_text', 'false_text'])
      if (v.has(k)) report(sink, keySpan(v, k, s.headerSpan), `\`${k}\` is shown only through {option_a}/{option_b}, which need \`order_column\``, 'warning');
  const f = v.numbers('split_fractions');
  if (f !== undefined && f.length === 3) {
    const sum = f.reduce((a, x) => a + x, 0);
    if (Math.abs(sum - 1) > 1e-9)
      report(
        sink,
        at(v, 'split_fractions', s.headerSpan),
        `\`split_fractions\` must sum to 1 (direction, tuning, evaluation); [${f.join(', ')}] sums to ${Number(sum.toFixed(6))}`,
      );
  }
  if (v.has('split_fractions') && !v.has('split'))
    report(sink, keySpan(v, 'split_fractions', s.headerSpan), '`split_fractions` applies only with a `split` other than `all`', 'warning');
}

/** The placeholders of a prompt set's template (undefined when there is no such set or template). */
function placeholdersOf(a: AnalysisCore, promptsName: string | undefined): Set<string> | undefined {
  if (promptsName === undefined) return undefined;
  const template = a.section('prompts', promptsName)?.values.str('template');
  return template === undefined ? undefined : templatePlaceholders(template);
}

function checkDirection(a: AnalysisCore, s: SectionInfo, sink: Sink): void {
  const v = s.values;
  checkNeedsModel(a, s, sink);
  if (v.has('component') && v.str('method') === 'meandiff') {
    report(sink, keySpan(v, 'component', s.headerSpan), '`component` is ignored with `method meandiff`; it applies to pca and pca-diff', 'warning');
  }
  if (v.str('method') === 'random') {
    for (const k of ['prompts', 'project_out', 'component'])
      if (v.has(k)) report(sink, keySpan(v, k, s.headerSpan), `\`${k}\` is not used by \`method random\``, 'warning');
    return;
  }
  if (!v.has('prompts'))
    report(sink, s.headerSpan, `direction \`${s.name}\` needs \`prompts\` (a contrastive prompt set), unless it is a \`method random\` control`);
  if (v.has('seed')) report(sink, keySpan(v, 'seed', s.headerSpan), '`seed` applies only to `method random`', 'warning');
  const used = placeholdersOf(a, v.str('prompts'));
  const byLabel = a.section('prompts', v.str('prompts') ?? '')?.values.str('pairing') === 'by_label';
  if (used !== undefined && !byLabel && !used.has('persona') && !used.has('label')) {
    report(sink, at(v, 'prompts', s.headerSpan), 'the prompt template has neither {persona} nor {label}, so positive and negative prompts would be identical');
  }
  const projectOut = v.has('project_out') ? v.str('project_out') : undefined;
  if (projectOut === s.name) report(sink, at(v, 'project_out', s.headerSpan), 'a direction cannot project out itself');
  else if (projectOut !== undefined) {
    const seen = new Set<string>([s.name]);
    let next: string | undefined = projectOut;
    while (next !== undefined) {
      if (seen.has(next)) {
        report(sink, at(v, 'project_out', s.headerSpan), `\`project_out\` references loop back to \`${next}\``);
        break;
      }
      seen.add(next);
      const target = a.section('direction', next);
      next = target !== undefined && target.values.has('project_out') ? target.values.str('project_out') : undefined;
    }
  }
}

/** A layer selection as indices; `all` only when the section's model depth is known. */
function resolvedLayers(a: AnalysisCore, s: SectionInfo, layers: readonly number[] | 'all'): readonly number[] | undefined {
  if (layers !== 'all') return layers;
  const depth = a.modelOf(s)?.info?.nLayers;
  return depth === undefined ? undefined : Array.from({ length: depth }, (_, i) => i);
}

/** The tuned layers must be among the direction's (`all` compared as the model's layers when its depth is known). */
function checkTunedLayers(a: AnalysisCore, s: SectionInfo, direction: SectionInfo, sink: Sink): void {
  const v = s.values;
  const written = v.layers('layers');
  const extracted = direction.values.layers('layers');
  if (written === undefined || extracted === undefined || extracted === 'all') return;
  const layers = resolvedLayers(a, s, written);
  if (layers === undefined) {
    report(
      sink,
      at(v, 'layers', s.headerSpan),
      `\`layers all\` tunes every layer of the model, but direction \`${direction.name}\` was extracted only at layers ${extracted.join(', ')}; this fails unless the model has exactly those layers (its depth is not known until it is on disk)`,
      'warning',
    );
    return;
  }
  const missing = layers.filter((l) => !extracted.includes(l));
  if (missing.length > 0) {
    const which = written === 'all' ? ` (\`all\` is layers 0..${layers.length - 1} of model \`${a.modelOf(s)?.section.name ?? ''}\`)` : '';
    report(
      sink,
      at(v, 'layers', s.headerSpan),
      `direction \`${direction.name}\` was not extracted at layer${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${which} (its layers: ${extracted.join(', ')})`,
    );
  }
}

function checkTune(a: AnalysisCore, s: SectionInfo, sink: Sink): void {
  const v = s.values;
  checkNeedsModel(a, s, sink);
  const hasDirection = v.has('direction');
  if (!hasDirection) {
    if (v.flag('flip') && v.has('flip')) report(sink, keySpan(v, 'flip', s.headerSpan), '`flip` needs a `direction` to flip');
    if (v.has('mode')) report(sink, keySpan(v, 'mode', s.headerSpan), '`mode` needs a `direction`');
    if (v.has('projection_loss')) report(sink, keySpan(v, 'projection_loss', s.headerSpan), '`projection_loss` needs a `direction`');
    const early = v.block('early_stopping');
    if (early.has('metric') && early.str('metric') === 'projection')
      report(
        sink,
        keySpan(early, 'metric', s.headerSpan),
        '`metric projection` needs a `direction`: without one there is no projection loss (use `token`, `total` or `auto`)',
      );
    if (v.block('token_loss').number('weight') === 0)
      report(sink, at(v.block('token_loss'), 'weight', s.headerSpan), 'with no direction and a token-loss weight of 0 there is nothing to train');
  } else if (v.block('token_loss').number('weight') === 0 && v.block('projection_loss').number('weight') === 0) {
    report(sink, s.headerSpan, 'both loss weights are 0: there is nothing to train');
  }
  const names = placeholdersOf(a, v.str('prompts'));
  const used = names === undefined ? [] : ['persona', 'label'].filter((p) => names.has(p)).map((p) => `{${p}}`);
  if (used.length > 0)
    report(sink, at(v, 'prompts', s.headerSpan), `a training prompt set must not use ${used.join(' or ')}: the label is appended as the target`);
  const direction = hasDirection ? a.section('direction', v.text('direction')) : undefined;
  if (direction !== undefined) {
    checkTunedLayers(a, s, direction, sink);
    const positions = direction.values.offsets('positions');
    const missing = (v.offsets('position') ?? []).filter((p) => positions !== undefined && !positions.includes(p));
    if (missing.length > 0 && positions !== undefined) {
      report(
        sink,
        at(v, 'position', at(v, 'direction', s.headerSpan)),
        `position ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not among direction \`${direction.name}\`'s positions (${positions.join(', ')})`,
      );
    }
  }
  const early = v.block('early_stopping');
  if (early.flag('enabled') && v.number('holdout') === 0) {
    report(sink, at(v, 'holdout', s.headerSpan), 'early stopping needs held-out data: set `holdout` above 0 or `early_stopping { enabled false }`');
  }
  const maxSteps = v.has('max_steps') ? v.num('max_steps') : undefined;
  const warmup = v.block('schedule').has('warmup_steps') ? v.block('schedule').num('warmup_steps') : undefined;
  if (maxSteps !== undefined && warmup !== undefined && warmup >= maxSteps) {
    report(sink, at(v.block('schedule'), 'warmup_steps', s.headerSpan), `warmup (${warmup} steps) must be shorter than \`max_steps\` (${maxSteps})`);
  }
  if (maxSteps !== undefined && early.flag('enabled') && early.number('min_steps') >= maxSteps) {
    report(
      sink,
      at(early, 'min_steps', at(v, 'max_steps', s.headerSpan)),
      `early stopping can never trigger: \`min_steps\` (${early.number('min_steps')}) is not below \`max_steps\` (${maxSteps})`,
      'warning',
    );
  }
  const proj = v.block('projection_loss');
  if (proj.has('margin') && v.str('mode') === 'out') report(sink, keySpan(proj, 'margin', s.headerSpan), '`margin` applies only with `mode in`', 'warning');
}

function checkSearch(a: AnalysisCore, s: SectionInfo, sink: Sink): void {
  const v = s.values;
  if (v.str('strategy') !== 'halving') {
    for (const k of ['eta', 'min_steps']) if (v.has(k)) report(sink, keySpan(v, k, s.headerSpan), `\`${k}\` applies only to \`strategy halving\``, 'warning');
  }
  const tune = a.section('tune', v.text('tune'));
  if (tune !== undefined && !tune.values.has('direction') && v.has('projection_blocks')) {
    report(sink, keySpan(v, 'projection_blocks', s.headerSpan), `tune \`${tune.name}\` has no direction, so there is no projection loss to search blocks for`);
  }
  checkCandidates(a, s, tune, sink);
}

/**
 * The search's candidates, counted with the engine's enumeration (model/block-sets.ts): resolved on the model's
 * architecture when it is on disk (so blocks it lacks train nothing and duplicates count once), projection
 * candidates ignored without a projection loss. None is an error naming the key; too many, a warning.
 */
function checkCandidates(a: AnalysisCore, s: SectionInfo, tune: SectionInfo | undefined, sink: Sink): void {
  const v = s.values;
  const model = tune !== undefined ? a.modelOf(tune) : undefined;
  const config = model?.info?.config;
  const words = (key: string): string[] => {
    const b = v.blockNamesFor(key, config?.arch);
    return b === undefined ? [] : b === 'all' ? (config !== undefined ? familyBlocks(config.arch) : [...BLOCK_NAMES]) : [...b];
  };
  const joint = v.str('sets') === 'joint';
  const projectionLoss = tune === undefined || (tune.values.has('direction') && tune.values.block('projection_loss').number('weight') > 0);
  const tok = words('token_blocks');
  const proj = projectionLoss || joint ? words('projection_blocks') : [];
  const max = v.num('max_blocks');
  // Blocks train the same slices at every layer: resolving each block once on a one-layer view of the model is
  // exact and cheap (a search over every block has 511 subsets per loss).
  const one = config !== undefined ? { ...config, nLayers: 1 } : undefined;
  const perBlock = new Map<string, ParamSlice[]>();
  const slicesOf = (b: string): ParamSlice[] => perBlock.get(b) ?? (perBlock.set(b, resolveBlocks(one as ModelConfig, [b], [0])).get(b) as ParamSlice[]);
  const resolve: ResolveBlocks | undefined = one !== undefined ? (bs) => slicesKey(one, bs.flatMap(slicesOf)) : undefined;
  const count = countBlockSets(tok, proj, joint ? 'joint' : 'separate', max, resolve);
  if (count === 0 && config !== undefined && model !== undefined) {
    const empty =
      (joint ? ['token_blocks'] : ['token_blocks', 'projection_blocks']).find((k) => {
        const list = k === 'token_blocks' ? (joint ? [...tok, ...proj] : tok) : proj;
        return list.length > 0 && blockSubsets(list, max, resolve).length === 0;
      }) ?? 'token_blocks';
    const has = familyBlocks(config.arch).join(', ');
    report(
      sink,
      at(v, empty, s.headerSpan),
      `this search has no candidates: \`${empty}\` names no block that model \`${model.section.name}\` (${FAMILY_NAMES[config.arch]}) has; list blocks it has (${has})`,
    );
    return;
  }
  if (v.str('strategy') === 'exhaustive' && v.num('budget') === undefined && count > MAX_EXHAUSTIVE_TRIALS) {
    report(sink, s.headerSpan, `this exhaustive search runs ${count} trials; limit it with \`max_blocks\`, \`budget\` or \`strategy halving\``, 'warning');
  }
}

function checkModel(a: AnalysisCore, s: SectionInfo, sink: Sink): void {
  const v = s.values;
  const path = v.str('path');
  // With a host that can look (preflight.ts), the tokenizer next to the checkpoint is found or reported there, and
  // a missing checkpoint is reported as missing; without one, the key is the only way to know.
  if (path !== undefined && path.toLowerCase().endsWith('.bin') && !v.has('tokenizer') && a.options.env?.probe === undefined) {
    report(sink, at(v, 'path', s.headerSpan), 'a llama2.c checkpoint needs `tokenizer` (its tokenizer.bin)');
  }
  if (path !== undefined && v.has('tokenizer') && !path.toLowerCase().endsWith('.bin')) {
    report(
      sink,
      keySpan(v, 'tokenizer', s.headerSpan),
      '`tokenizer` is only used with a llama2.c .bin checkpoint; a model folder uses its tokenizer.json',
      'warning',
    );
  }
  // A revision picks a commit of a Hub repo; a folder on disk has only the files it holds.
  if (path !== undefined && v.has('revision') && !isHubPath(path)) {
    report(sink, keySpan(v, 'revision', s.headerSpan), '`revision` is only used with a Hub model (`path "hf:Org/Name"`); a folder on disk has no revisions');
  }
}

export function checkRules(a: AnalysisCore, sink: Sink): void {
  for (const s of a.sections) {
    switch (s.kind) {
      case 'model':
        checkModel(a, s, sink);
        break;
      case 'prompts':
        checkPrompts(s, sink);
        break;
      case 'direction':
        checkDirection(a, s, sink);
        break;
      case 'tune':
        checkTune(a, s, sink);
        break;
      case 'search':
        checkSearch(a, s, sink);
        break;
      case 'eval':
        checkEval(a, s, sink);
        break;
      case 'export':
        checkExport(a, s, sink);
        break;
    }
  }
  checkSplitOverlaps(a, sink);
}
