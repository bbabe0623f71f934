/**
 * Builds the typed `RunConfig` from validated sections: one small function per section kind that reads each
 * key through BlockValues (written value or schema default), resolves paths to absolute ones and fills in the
 * defaults that depend on other sections (the implied model, the output folder). Called by lower() only when
 * the file has no errors; the result is deeply frozen. Non-goals: no validation (done before), no defaults of
 * its own beyond those the schema documents in `defaultDoc`.
 */

import { BlockValues } from './block-values';
import {
  NEWLINE_MODES,
  BACKENDS,
  COMPONENTS,
  DECAYS,
  DIRECTION_FORMATS,
  DIRECTION_METHODS,
  EARLY_STOPPING_METRICS,
  EXPORT_DTYPES,
  EXPORT_WEIGHTS,
  OPTIMIZERS,
  PAIRINGS,
  PROMPT_SPLITS,
  RANK_BY,
  SEARCH_SETS,
  SEARCH_STRATEGIES,
  STEERING_SCALES,
  BOOTSTRAP_UNITS,
  TOKEN_TARGETS,
  TUNE_LABELS,
  TUNE_MODES,
  isOneOf,
} from '../protocol/contract';
import type {
  AbEvalConfig,
  BlockSelection,
  DirectionConfig,
  EvalConfig,
  ExportConfig,
  CompareConfig,
  LayerSelection,
  ModelConfig,
  PerplexityConfig,
  ProjectionEvalConfig,
  GenerateEvalConfig,
  PromptSetConfig,
  RunConfig,
  SearchConfig,
  SteeringConfig,
  TuneConfig,
} from './config';
import { BUILTIN_DEMO_RELATIVE, joinPath } from './env';
import type { AnalysisCore, SectionInfo } from './lower';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function optionalNum(v: BlockValues, key: string): number | undefined {
  return v.has(key) ? v.num(key) : undefined;
}

function optionalStr(v: BlockValues, key: string): string | undefined {
  return v.has(key) ? v.str(key) : undefined;
}

/** `split_fractions` as the contract's triple (validated: three numbers summing to 1). */
function fractions(f: readonly number[] | undefined): readonly [number, number, number] {
  return [f?.[0] ?? 0.4, f?.[1] ?? 0.3, f?.[2] ?? 0.3];
}

export function buildRunConfig(a: AnalysisCore): RunConfig {
  const baseDir = a.options.baseDir ?? '.';
  const path = (raw: string | undefined): string => (raw === undefined ? '' : (a.resolvePath(raw) ?? raw));
  const runsDir = a.runsDir ?? path(a.root.str('runs'));
  const output = (s: SectionInfo): string => (s.values.has('output') ? path(s.values.str('output')) : joinPath(runsDir, s.name));
  const modelName = (s: SectionInfo): string => a.modelOf(s)?.section.name ?? '';
  const layers = (v: BlockValues, key: string): LayerSelection => v.layers(key) ?? 'all';
  // Block lists read in the family of the section's model when it is known (a spelling's meaning is per family).
  const blocks = (s: SectionInfo, v: BlockValues, key: string): BlockSelection => v.blockNamesFor(key, a.modelOf(s)?.info?.family) ?? 'all';

  const models: Record<string, ModelConfig> = {};
  for (const s of a.sectionsOf('model')) {
    const v = s.values;
    const raw = v.text('path');
    const resolved = a.models.get(s.name);
    models[s.name] = {
      name: s.name,
      source:
        resolved?.builtin === true
          ? { kind: 'builtin', id: 'demo', path: resolved.path ?? joinPath(a.options.builtinRoot ?? '.', BUILTIN_DEMO_RELATIVE) }
          : resolved?.hub !== undefined
            ? {
                kind: 'hub',
                repo: resolved.hub.repo,
                revision: resolved.hub.revision,
                commit: resolved.path !== undefined ? resolved.hub.status?.commit : undefined,
                path: resolved.path ?? '',
              }
            : { kind: 'path', path: path(raw) },
      tokenizer: v.has('tokenizer') ? path(v.str('tokenizer')) : undefined,
      backend: v.choice('backend', BACKENDS),
    };
  }

  const prompts: Record<string, PromptSetConfig> = {};
  for (const s of a.sectionsOf('prompts')) {
    const v = s.values;
    prompts[s.name] = {
      name: s.name,
      data: path(v.str('data')),
      textColumn: v.text('text_column'),
      labelColumn: v.text('label_column'),
      template: v.text('template'),
      trueLabel: v.text('true_label'),
      falseLabel: v.text('false_label'),
      positivePersona: v.has('positive') ? v.block('positive').str('persona') : undefined,
      negativePersona: v.has('negative') ? v.block('negative').str('persona') : undefined,
      pairing: v.choice('pairing', PAIRINGS),
      anchor: optionalStr(v, 'anchor'),
      anchorOffset: v.number('anchor_offset'),
      split: v.choice('split', PROMPT_SPLITS),
      splitFractions: fractions(v.numbers('split_fractions')),
      orderColumn: optionalStr(v, 'order_column'),
      trueText: v.text('true_text'),
      falseText: v.text('false_text'),
      limit: optionalNum(v, 'limit'),
      correctOnly: v.flag('correct_only'),
    };
  }

  const directions: Record<string, DirectionConfig> = {};
  for (const s of a.sectionsOf('direction')) {
    const v = s.values;
    directions[s.name] = {
      name: s.name,
      model: modelName(s),
      prompts: optionalStr(v, 'prompts'),
      method: v.choice('method', DIRECTION_METHODS),
      component: v.choice('component', COMPONENTS),
      layers: layers(v, 'layers'),
      positions: v.offsets('positions') ?? [],
      normalise: v.flag('normalise'),
      projectOut: optionalStr(v, 'project_out'),
      batch: v.number('batch'),
      holdout: v.number('holdout'),
      seed: v.number('seed'),
      output: output(s),
    };
  }

  const tunes: Record<string, TuneConfig> = {};
  for (const s of a.sectionsOf('tune')) {
    const v = s.values;
    const tok = v.block('token_loss');
    const proj = v.block('projection_loss');
    const opt = v.block('optimizer');
    const sched = v.block('schedule');
    const early = v.block('early_stopping');
    const betas = opt.numbers('betas') ?? [];
    const direction = optionalStr(v, 'direction');
    tunes[s.name] = {
      name: s.name,
      model: modelName(s),
      prompts: v.text('prompts'),
      direction,
      mode: v.choice('mode', TUNE_MODES),
      flip: v.flag('flip'),
      layers: layers(v, 'layers'),
      positions: v.offsets('position') ?? [0],
      labels: v.choice('labels', TUNE_LABELS),
      tokenLoss: {
        target: tok.choice('target', TOKEN_TARGETS),
        weight: tok.number('weight'),
        blocks: blocks(s, tok, 'blocks'),
        skipBelow: optionalNum(tok, 'skip_below'),
      },
      projectionLoss:
        direction === undefined ? undefined : { weight: proj.number('weight'), blocks: blocks(s, proj, 'blocks'), margin: optionalNum(proj, 'margin') },
      optimizer: {
        name: opt.choice('name', OPTIMIZERS),
        lrToken: opt.number('lr_token'),
        lrProjection: opt.number('lr_projection'),
        betas: [betas[0] ?? Number.NaN, betas[1] ?? Number.NaN],
        eps: opt.number('eps'),
        weightDecay: opt.number('weight_decay'),
        clipNorm: opt.number('clip_norm'),
      },
      schedule: {
        warmupSteps: optionalNum(sched, 'warmup_steps'),
        warmupFraction: sched.number('warmup_fraction'),
        decay: sched.choice('decay', DECAYS),
        minLrRatio: sched.number('min_lr_ratio'),
      },
      batch: v.number('batch'),
      epochs: v.number('epochs'),
      maxSteps: optionalNum(v, 'max_steps'),
      earlyStopping: {
        enabled: early.flag('enabled'),
        patience: early.number('patience'),
        minSteps: early.number('min_steps'),
        window: early.number('window'),
        every: early.number('every'),
        metric: early.choice('metric', EARLY_STOPPING_METRICS),
      },
      holdout: v.number('holdout'),
      seed: v.number('seed'),
      output: output(s),
    };
  }

  const searches: Record<string, SearchConfig> = {};
  for (const s of a.sectionsOf('search')) {
    const v = s.values;
    searches[s.name] = {
      name: s.name,
      tune: v.text('tune'),
      tokenBlocks: blocks(s, v, 'token_blocks'),
      projectionBlocks: blocks(s, v, 'projection_blocks'),
      sets: v.choice('sets', SEARCH_SETS),
      strategy: v.choice('strategy', SEARCH_STRATEGIES),
      maxBlocks: optionalNum(v, 'max_blocks'),
      stepsPerTrial: optionalNum(v, 'steps_per_trial'),
      eta: v.number('eta'),
      minSteps: v.number('min_steps'),
      budget: optionalNum(v, 'budget'),
      layers: v.has('layers') ? layers(v, 'layers') : undefined,
      rankBy: v.choice('rank_by', RANK_BY),
      samplePrompt: optionalStr(v, 'sample_prompt'),
      sampleTokens: v.number('sample_tokens'),
      output: output(s),
    };
  }

  /**
   * The position a steering block or an export takes from `direction` when it names none: that of `tune` (the
   * eval's `tuned`, the export's `tune`) when the direction has it, else the one every tune of this direction
   * trains (when they agree), else the direction's first.
   */
  const positionFor = (direction: string | undefined, tune: string | undefined): number => {
    const own = directions[direction ?? '']?.positions ?? [];
    const tuned = tune !== undefined ? tunes[tune]?.positions[0] : undefined;
    if (tuned !== undefined && own.includes(tuned)) return tuned;
    const users = Object.values(tunes)
      .filter((t) => direction !== undefined && t.direction === direction)
      .map((t) => t.positions[0]);
    const first = users[0];
    if (first !== undefined && users.every((p) => p === first)) return first;
    return own[0] ?? 0;
  };

  const evals: Record<string, EvalConfig> = {};
  /** steering.max_ppl_increase when the eval scores perplexity and the key is not written. */
  const DEFAULT_MAX_PPL_INCREASE = 0.1;
  for (const s of a.sectionsOf('eval')) {
    const v = s.values;
    const p = v.block('perplexity');
    const ab = v.block('ab');
    const st = v.block('steering');
    const perplexity: PerplexityConfig | undefined = v.has('perplexity')
      ? {
          data: path(p.str('data')),
          maxLength: p.number('max_length'),
          stride: p.number('stride'),
          batch: p.number('batch'),
          bootstrap: p.number('bootstrap'),
          bootstrapUnit: p.choice('bootstrap_unit', BOOTSTRAP_UNITS),
          seed: p.number('seed'),
          maxTokens: optionalNum(p, 'max_tokens'),
          newlines: p.choice('newlines', NEWLINE_MODES),
        }
      : undefined;
    const abConfig: AbEvalConfig | undefined = v.has('ab')
      ? {
          prompts: ab.has('prompts') ? ab.refs('prompts') : undefined,
          holdout: ab.has('holdout') ? ab.flag('holdout') : v.has('tuned') && !ab.has('prompts'),
          limit: optionalNum(ab, 'limit'),
        }
      : undefined;
    const stLayers = st.layers('layers');
    const steering: SteeringConfig | undefined = v.has('steering')
      ? {
          direction: st.text('direction'),
          layers: stLayers === 'all' || stLayers === undefined ? [] : stLayers,
          multipliers: st.numbers('multipliers') ?? [],
          combine: st.flag('combine'),
          scale: st.choice('scale', STEERING_SCALES),
          position: optionalNum(st, 'position') ?? positionFor(st.text('direction'), optionalStr(v, 'tuned')),
          prompts: optionalStr(st, 'prompts'),
          maxNewTokens: st.number('max_new_tokens'),
          maxPplIncrease: optionalNum(st, 'max_ppl_increase') ?? (perplexity ? DEFAULT_MAX_PPL_INCREASE : undefined),
        }
      : undefined;
    const pr = v.block('projection_cosine');
    const projection: ProjectionEvalConfig | undefined = v.has('projection_cosine')
      ? {
          direction: optionalStr(pr, 'direction'),
          layers: pr.has('layers') ? layers(pr, 'layers') : undefined,
          position: optionalNum(pr, 'position'),
          prompts: optionalStr(pr, 'prompts'),
          limit: optionalNum(pr, 'limit'),
        }
      : undefined;
    const g = v.block('generate');
    const generate: GenerateEvalConfig | undefined = v.has('generate')
      ? {
          prompts: optionalStr(g, 'prompts'),
          limit: g.number('limit'),
          maxNewTokens: g.number('max_new_tokens'),
          batch: g.number('batch'),
          score: g.has('score') ? { lexicon: path(g.block('score').str('lexicon')) } : undefined,
        }
      : undefined;
    evals[s.name] = {
      name: s.name,
      model: modelName(s),
      tuned: optionalStr(v, 'tuned'),
      perplexity,
      ab: abConfig,
      steering,
      projection,
      generate,
      output: output(s),
    };
  }

  const exports: Record<string, ExportConfig> = {};
  for (const s of a.sectionsOf('export')) {
    const v = s.values;
    const tune = optionalStr(v, 'tune');
    const formats = (v.enums('direction_formats') ?? []).filter((f) => isOneOf(DIRECTION_FORMATS, f));
    const direction = optionalStr(v, 'direction') ?? (tune !== undefined ? tunes[tune]?.direction : undefined);
    exports[s.name] = {
      name: s.name,
      tune,
      direction,
      weights: v.has('weights') ? v.choice('weights', EXPORT_WEIGHTS) : tune !== undefined ? 'changed' : 'none',
      dtype: v.choice('dtype', EXPORT_DTYPES),
      directionFormats: formats,
      position: optionalNum(v, 'position') ?? positionFor(direction, tune),
      layers: v.has('layers') ? layers(v, 'layers') : tune !== undefined ? (tunes[tune]?.layers ?? 'all') : 'all',
      output: output(s),
    };
  }

  const compares: Record<string, CompareConfig> = {};
  for (const s of a.sectionsOf('compare')) compares[s.name] = { name: s.name, evals: s.values.refs('evals') ?? [], output: output(s) };

  return deepFreeze({
    version: 1,
    baseDir,
    runsDir,
    models,
    prompts,
    directions,
    tunes,
    searches,
    evals,
    exports,
    compares,
    order: a.sections.map((s) => ({ kind: s.kind, name: s.name })),
  });
}
