/**
 * The contract between the `.rtune` language and everything that runs it: every enumeration (as an `as const`
 * array and its type) and the typed, validated, deeply frozen `RunConfig` a `.rtune` file lowers to
 * (language/lower.ts). Declared once, here: the schema tables (language/schema-sections), the builders, the
 * engine's option types, the CLI's flags and the extension's settings derive from these arrays and types, so a
 * value added here without a doc, a parser case or an engine case is a compile error.
 *
 * RunConfig is the only thing the engine, the worker and the CLI consume: every default is filled in (from the
 * one schema, language/schema.ts), every path is absolute, every reference names a section that exists, and layer
 * ranges are expanded to sorted index lists. Sections refer to each other by name; look them up in the maps.
 * Imports nothing. Non-goals: no behaviour, no defaults (the schema owns them), nothing the engine computes (layer
 * counts of models are resolved by the engine when a selection says `all`).
 */

/** Section kinds of a `.rtune` file, in the order the language documents them. */
export const SECTION_KINDS = ['model', 'prompts', 'direction', 'tune', 'search', 'eval', 'export', 'compare'] as const;
export type SectionKind = (typeof SECTION_KINDS)[number];
/** Section kinds that run (and write a run folder). */
export const RUN_KINDS = ['direction', 'tune', 'search', 'eval', 'export', 'compare'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** Compute backends a model section, the CLI (`--backend`, RTUNE_BACKEND) and the editor setting may name. */
export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];
/** A concrete tfjs backend (no `auto`). */
export type BackendName = Exclude<Backend, 'auto'>;
export const BACKEND_NAMES = BACKENDS.filter((b): b is BackendName => b !== 'auto');

export const PAIRINGS = ['paired', 'unpaired', 'by_label'] as const;
export type Pairing = (typeof PAIRINGS)[number];

/** Which statements of its CSV a prompt set reads, by the hash of each statement's text (common/split.ts). */
export const PROMPT_SPLITS = ['all', 'direction', 'tuning', 'evaluation'] as const;
export type PromptSplit = (typeof PROMPT_SPLITS)[number];
/** The two option orders a prompt set's `order_column` may hold: `TF` shows True first, `FT` False first. */
export const OPTION_ORDERS = ['TF', 'FT'] as const;
export type OptionOrder = (typeof OPTION_ORDERS)[number];

export const DIRECTION_METHODS = ['meandiff', 'pca', 'pca-diff', 'random'] as const;
export type DirectionMethod = (typeof DIRECTION_METHODS)[number];
export const COMPONENTS = ['pc1', 'pc2'] as const;
export type Component = (typeof COMPONENTS)[number];

export const TUNE_MODES = ['in', 'out'] as const;
export type TuneMode = (typeof TUNE_MODES)[number];
export const TUNE_LABELS = ['honest', 'dishonest'] as const;
export type TuneLabels = (typeof TUNE_LABELS)[number];
export const TOKEN_TARGETS = ['hard', 'soft', 'lm'] as const;
export type TokenTarget = (typeof TOKEN_TARGETS)[number];
export const OPTIMIZERS = ['adamw', 'adam', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export const DECAYS = ['cosine', 'linear', 'constant'] as const;
export type Decay = (typeof DECAYS)[number];
export const EARLY_STOPPING_METRICS = ['auto', 'projection', 'token', 'total'] as const;
export type EarlyStoppingMetric = (typeof EARLY_STOPPING_METRICS)[number];

export const SEARCH_SETS = ['separate', 'joint'] as const;
export type SearchSets = (typeof SEARCH_SETS)[number];
export const SEARCH_STRATEGIES = ['exhaustive', 'halving'] as const;
export type SearchStrategy = (typeof SEARCH_STRATEGIES)[number];
export const RANK_BY = ['total', 'projection', 'token', 'ab_accuracy'] as const;
export type RankBy = (typeof RANK_BY)[number];

/** What the paired bootstrap of a perplexity change resamples (engine/eval/units.ts). */
export const BOOTSTRAP_UNITS = ['documents', 'windows'] as const;
export type BootstrapUnitName = (typeof BOOTSTRAP_UNITS)[number];

export const STEERING_SCALES = ['absolute', 'norm'] as const;
export type SteeringScale = (typeof STEERING_SCALES)[number];

export const EXPORT_WEIGHTS = ['full', 'changed', 'none'] as const;
export type ExportWeights = (typeof EXPORT_WEIGHTS)[number];
export const EXPORT_DTYPES = ['f32', 'f16', 'bf16'] as const;
export type ExportDtype = (typeof EXPORT_DTYPES)[number];
/** How text data files are read: `lf` turns CRLF and lone CR into LF (as Python's text mode does), `raw` keeps the bytes. */
export const NEWLINE_MODES = ['lf', 'raw'] as const;
export type NewlineMode = (typeof NEWLINE_MODES)[number];

export const DIRECTION_FORMATS = ['safetensors', 'gguf'] as const;
export type DirectionFormat = (typeof DIRECTION_FORMATS)[number];

/** Generic parameter-block names a `.rtune` file uses, in canonical order (language/blocks.ts maps them to tensors). */
export const BLOCK_NAMES = ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'attn_norm', 'mlp_norm', 'q_norm', 'k_norm', 'attn_post_norm', 'mlp_post_norm'] as const;
export type BlockName = (typeof BLOCK_NAMES)[number];

/**
 * Run statuses of a run folder (docs/architecture.md, "Run folders"): `running` while its process writes it;
 * `done`, `failed`, `cancelled` as it ended; `skipped` when a prerequisite did not finish, so it was not run;
 * `interrupted` when a reader finds `running` but the writing process is gone (killed, crashed, power loss).
 */
export const RUN_STATUSES = ['running', 'done', 'failed', 'cancelled', 'skipped', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** How a run ended. */
export type FinalStatus = Exclude<RunStatus, 'running'>;

/** True when `x` is one of `values` (narrows to the enumeration's type). */
export function isOneOf<T extends string>(values: readonly T[], x: unknown): x is T {
  return typeof x === 'string' && (values as readonly string[]).includes(x);
}

/** A layer selection: explicit, sorted, de-duplicated block indices (0 = first decoder block), or every layer. */
export type LayerSelection = readonly number[] | 'all';

/**
 * A block selection: generic block names (blocks.ts maps them to each architecture's tensors), in canonical
 * order, or `all` = every block the model's architecture has (GPT-2 has no `gate`).
 */
export type BlockSelection = readonly BlockName[] | 'all';

export interface ModelConfig {
  readonly name: string;
  /**
   * `builtin`: the project's demo model (path = `<extension>/examples/demo-model`); `path`: a local folder or
   * llama2.c `.bin`; `hub`: a Hugging Face Hub id (`hf:Org/Name`) at a revision, whose `path` is its snapshot
   * folder in the cache (empty until it is there: the job downloads it first, job/hub-model.ts) and `commit` the
   * commit the revision resolved to.
   */
  readonly source:
    | { readonly kind: 'builtin'; readonly id: 'demo'; readonly path: string }
    | { readonly kind: 'path'; readonly path: string }
    | { readonly kind: 'hub'; readonly repo: string; readonly revision: string; readonly commit: string | undefined; readonly path: string };
  /** Tokenizer file for llama2.c checkpoints (`tokenizer.bin`); HF folders use their own `tokenizer.json`. */
  readonly tokenizer: string | undefined;
  readonly backend: Backend;
}

export interface PromptSetConfig {
  readonly name: string;
  /** Absolute path of the CSV of statements. */
  readonly data: string;
  readonly textColumn: string;
  readonly labelColumn: string;
  /** Prompt template with `{statement}`, and optionally `{persona}` and `{label}` placeholders. */
  readonly template: string;
  /** The answer an honest model gives to a true / false statement, e.g. "A" / "B". */
  readonly trueLabel: string;
  readonly falseLabel: string;
  /** Persona texts for `{persona}`: positive = honest, negative = dishonest. Undefined when absent. */
  readonly positivePersona: string | undefined;
  readonly negativePersona: string | undefined;
  readonly pairing: Pairing;
  /** Marker text; the token that ends its last occurrence is the anchor position. Undefined = the last prompt token. */
  readonly anchor: string | undefined;
  /** Tokens added to the anchor position (negative = earlier). */
  readonly anchorOffset: number;
  /** Which statements of the CSV the set reads, by the hash of each statement's text (common/split.ts). */
  readonly split: PromptSplit;
  /** Fractions of `direction`, `tuning` and `evaluation`; they sum to 1. */
  readonly splitFractions: readonly [number, number, number];
  /** CSV column holding each row's option order (`TF` / `FT`); undefined = every row shows True first. */
  readonly orderColumn: string | undefined;
  /** Option texts for `{option_a}` / `{option_b}`. */
  readonly trueText: string;
  readonly falseText: string;
  /** Use only the first N statements (in file order, after the split). */
  readonly limit: number | undefined;
  /** Keep only pairs the model already answers as its persona should (METHOD §4.2 `coronly`). */
  readonly correctOnly: boolean;
}

export interface DirectionConfig {
  readonly name: string;
  readonly model: string;
  /** Undefined only with `method random`, which reads no prompts. */
  readonly prompts: string | undefined;
  readonly method: DirectionMethod;
  readonly component: Component;
  readonly layers: LayerSelection;
  /** Positions relative to the anchor, sorted ascending. */
  readonly positions: readonly number[];
  readonly normalise: boolean;
  /** Another direction whose component is removed from this one (then renormalised if `normalise`). */
  readonly projectOut: string | undefined;
  readonly batch: number;
  /** Fraction of the pairs left out of the estimate and used for the separation diagnostics (0 = none). */
  readonly holdout: number;
  /** Seed of `method random`. */
  readonly seed: number;
  readonly output: string;
}

export interface TokenLossConfig {
  readonly target: TokenTarget;
  readonly weight: number;
  readonly blocks: BlockSelection;
  /** Back-propagate the token loss only on steps where it is at least this. Undefined = always. */
  readonly skipBelow: number | undefined;
}

export interface ProjectionLossConfig {
  readonly weight: number;
  readonly blocks: BlockSelection;
  /** In-mode hinge: loss = relu(margin − cos) instead of (1 − cos)/2. Undefined = no margin. */
  readonly margin: number | undefined;
}

export interface OptimizerConfig {
  readonly name: OptimizerName;
  /** Learning rate of blocks trained only by the token loss. */
  readonly lrToken: number;
  /** Learning rate of blocks trained by the projection loss (alone or with the token loss). */
  readonly lrProjection: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Global gradient-norm clip; 0 = off. */
  readonly clipNorm: number;
}

export interface ScheduleConfig {
  /** Warmup length in steps; when undefined, `warmupFraction` of the total steps. */
  readonly warmupSteps: number | undefined;
  readonly warmupFraction: number;
  readonly decay: Decay;
  /** Floor of the decay as a fraction of each group's learning rate. */
  readonly minLrRatio: number;
}

export interface EarlyStoppingConfig {
  readonly enabled: boolean;
  /** Held-out evaluations without a new best of the smoothed metric before stopping. */
  readonly patience: number;
  readonly minSteps: number;
  /** The smoothed metric is the mean of the last `window` held-out evaluations. */
  readonly window: number;
  /** Steps between held-out evaluations (the last step is always evaluated). */
  readonly every: number;
  /** `auto`: the projection loss when the run has a direction, else the token loss. */
  readonly metric: EarlyStoppingMetric;
}

export interface TuneConfig {
  readonly name: string;
  readonly model: string;
  readonly prompts: string;
  readonly direction: string | undefined;
  readonly mode: TuneMode;
  readonly flip: boolean;
  readonly layers: LayerSelection;
  /** Positions relative to the anchor where the projection loss applies; each one of the direction's positions. */
  readonly positions: readonly number[];
  readonly labels: TuneLabels;
  readonly tokenLoss: TokenLossConfig;
  /** Undefined when the run has no direction (token loss only: "Truth"/"Lie" tuning). */
  readonly projectionLoss: ProjectionLossConfig | undefined;
  readonly optimizer: OptimizerConfig;
  readonly schedule: ScheduleConfig;
  readonly batch: number;
  readonly epochs: number;
  readonly maxSteps: number | undefined;
  readonly earlyStopping: EarlyStoppingConfig;
  /** Fraction of statements held out for validation and A/B evaluation. */
  readonly holdout: number;
  readonly seed: number;
  readonly output: string;
}

export interface SearchConfig {
  readonly name: string;
  readonly tune: string;
  readonly tokenBlocks: BlockSelection;
  readonly projectionBlocks: BlockSelection;
  /** `separate`: (token subset) × (projection subset); `joint`: one subset trained by both losses. */
  readonly sets: SearchSets;
  readonly strategy: SearchStrategy;
  readonly maxBlocks: number | undefined;
  /** Undefined = one epoch of the tune's training data. */
  readonly stepsPerTrial: number | undefined;
  readonly eta: number;
  readonly minSteps: number;
  readonly budget: number | undefined;
  readonly layers: LayerSelection | undefined;
  readonly rankBy: RankBy;
  readonly samplePrompt: string | undefined;
  readonly sampleTokens: number;
  readonly output: string;
}

export interface PerplexityConfig {
  readonly data: string;
  readonly maxLength: number;
  readonly stride: number;
  readonly batch: number;
  readonly bootstrap: number;
  /** The unit the bootstrap resamples: whole documents of the text, or the windows' scored spans. */
  readonly bootstrapUnit: BootstrapUnitName;
  readonly seed: number;
  readonly maxTokens: number | undefined;
  readonly newlines: NewlineMode;
}

export interface AbEvalConfig {
  /** Prompt sets to evaluate, in order (the first is the target in comparisons); undefined = the tuned run's set. */
  readonly prompts: readonly string[] | undefined;
  readonly holdout: boolean;
  readonly limit: number | undefined;
}

export interface SteeringConfig {
  readonly direction: string;
  readonly layers: readonly number[];
  /** Every multiplier k runs as +k and -k; the unsteered control always runs once. */
  readonly multipliers: readonly number[];
  /** Steer all listed layers at once (v·k / number of layers each) instead of one layer at a time. */
  readonly combine: boolean;
  /** `norm`: multipliers in units of each layer's mean block-output norm at `position` on the steering prompts. */
  readonly scale: SteeringScale;
  /** The direction's position whose vectors are added (resolved when lowering: the tuned run's, ...). */
  readonly position: number;
  /** A prompt set to steer on; undefined = the `ab` items, else the tuned run's held-out statements. */
  readonly prompts: string | undefined;
  /** Greedy tokens of each steered generation (0 = none). */
  readonly maxNewTokens: number;
  /** The best cell's bound on the relative perplexity increase (0.1 = +10%); undefined = no bound (no perplexity block). */
  readonly maxPplIncrease: number | undefined;
}

export interface ProjectionEvalConfig {
  /** Undefined = the tuned run's direction. */
  readonly direction: string | undefined;
  /** Undefined = the tuned run's layers. */
  readonly layers: LayerSelection | undefined;
  /** Undefined = the tuned run's first position. */
  readonly position: number | undefined;
  /** Undefined = the tuned run's held-out prompts. */
  readonly prompts: string | undefined;
  readonly limit: number | undefined;
}

export interface GenerateEvalConfig {
  /** Undefined = the tuned run's held-out prompts. */
  readonly prompts: string | undefined;
  readonly limit: number;
  readonly maxNewTokens: number;
  /** Prompts per generate call (left-padded batch). */
  readonly batch: number;
  /** Score each continuation with a word lexicon (job/sections/eval-score.ts); undefined = no score. */
  readonly score: GenerateScoreConfig | undefined;
}

export interface GenerateScoreConfig {
  /** Absolute path of the lexicon file (`WORD WEIGHT` per line). */
  readonly lexicon: string;
}

export interface EvalConfig {
  readonly name: string;
  readonly model: string;
  /** A tune section: compare the base model with its tuned weights. */
  readonly tuned: string | undefined;
  readonly perplexity: PerplexityConfig | undefined;
  readonly ab: AbEvalConfig | undefined;
  readonly steering: SteeringConfig | undefined;
  readonly projection: ProjectionEvalConfig | undefined;
  readonly generate: GenerateEvalConfig | undefined;
  readonly output: string;
}

export interface ExportConfig {
  readonly name: string;
  readonly tune: string | undefined;
  readonly direction: string | undefined;
  readonly weights: ExportWeights;
  readonly dtype: ExportDtype;
  readonly directionFormats: readonly DirectionFormat[];
  /** The direction's position written to the GGUF control vector (resolved when lowering: the tune's, ...). */
  readonly position: number;
  /** Layers written to the GGUF control vector ('all' = every extracted layer); layer 0 is always left out. */
  readonly layers: LayerSelection;
  readonly output: string;
}

export interface CompareConfig {
  readonly name: string;
  /** Eval sections, in row order. */
  readonly evals: readonly string[];
  readonly output: string;
}

export interface SectionRef {
  readonly kind: SectionKind;
  readonly name: string;
}

export interface RunConfig {
  readonly version: 1;
  /** Absolute folder of the .rtune file (relative paths were resolved against it). */
  readonly baseDir: string;
  /** Absolute runs folder (top-level `runs`). */
  readonly runsDir: string;
  readonly models: Readonly<Record<string, ModelConfig>>;
  readonly prompts: Readonly<Record<string, PromptSetConfig>>;
  readonly directions: Readonly<Record<string, DirectionConfig>>;
  readonly tunes: Readonly<Record<string, TuneConfig>>;
  readonly searches: Readonly<Record<string, SearchConfig>>;
  readonly evals: Readonly<Record<string, EvalConfig>>;
  readonly exports: Readonly<Record<string, ExportConfig>>;
  readonly compares: Readonly<Record<string, CompareConfig>>;
  /** Every section in file order. */
  readonly order: readonly SectionRef[];
}
