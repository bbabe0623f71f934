/**
 * `RunConfig`: the typed, validated, deeply frozen configuration a `.rtune` file lowers to (language/lower.ts).
 * This is the only thing the engine, the worker and the CLI consume: every default is filled in (from the one
 * schema, language/schema.ts), every path is absolute, every reference names a section that exists, and layer
 * ranges are expanded to sorted index lists. Sections refer to each other by name; look them up in the maps.
 * Imports only the import-free block map, so the engine may import this file.
 * Non-goals: no behaviour, no defaults (the schema owns them), nothing the engine computes (layer counts of
 * models are resolved by the engine when a selection says `all`).
 */

import { BlockName } from './blocks';

export type { BlockName } from './blocks';

export type SectionKind = 'model' | 'prompts' | 'direction' | 'tune' | 'search' | 'eval' | 'export';
export type Backend = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** A layer selection: explicit, sorted, de-duplicated block indices (0 = first decoder block), or every layer. */
export type LayerSelection = readonly number[] | 'all';

/**
 * A block selection: generic block names (blocks.ts maps them to each architecture's tensors), in canonical
 * order, or `all` = every block the model's architecture has (GPT-2 has no `gate`).
 */
export type BlockSelection = readonly BlockName[] | 'all';

export interface ModelConfig {
  readonly name: string;
  /** `builtin`: the project's demo model (path = `<extension>/examples/demo-model`); `path`: a local folder or llama2.c `.bin`. */
  readonly source: { readonly kind: 'builtin'; readonly id: 'demo'; readonly path: string } | { readonly kind: 'path'; readonly path: string };
  /** Tokenizer file for llama2.c checkpoints (`tokenizer.bin`); HF folders use their own `tokenizer.json`. */
  readonly tokenizer: string | undefined;
  readonly backend: Backend;
  readonly seed: number;
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
  readonly pairing: 'paired' | 'unpaired' | 'by_label';
  /** Marker text; the token that ends its last occurrence is the anchor position. Undefined = the last prompt token. */
  readonly anchor: string | undefined;
  /** Tokens added to the anchor position (negative = earlier). */
  readonly anchorOffset: number;
  /** Use only the first N statements (after the file order). */
  readonly limit: number | undefined;
  /** Keep only pairs the model already answers as its persona should (METHOD §4.2 `coronly`). */
  readonly correctOnly: boolean;
}

export interface DirectionConfig {
  readonly name: string;
  readonly model: string;
  readonly prompts: string;
  readonly method: 'meandiff' | 'pca' | 'pca-diff';
  readonly component: 'pc1' | 'pc2';
  readonly layers: LayerSelection;
  /** Positions relative to the anchor, sorted ascending. */
  readonly positions: readonly number[];
  readonly normalise: boolean;
  /** Another direction whose component is removed from this one (then renormalised if `normalise`). */
  readonly projectOut: string | undefined;
  readonly batch: number;
  readonly output: string;
}

export interface TokenLossConfig {
  readonly target: 'hard' | 'soft' | 'lm';
  readonly weight: number;
  readonly blocks: BlockSelection;
}

export interface ProjectionLossConfig {
  readonly weight: number;
  readonly blocks: BlockSelection;
  /** In-mode hinge: loss = relu(margin − cos) instead of (1 − cos)/2. Undefined = no margin. */
  readonly margin: number | undefined;
}

export interface OptimizerConfig {
  readonly name: 'adamw' | 'adam' | 'sgd';
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
  readonly decay: 'cosine' | 'linear' | 'constant';
  /** Floor of the decay as a fraction of each group's learning rate. */
  readonly minLrRatio: number;
}

export interface EarlyStoppingConfig {
  readonly enabled: boolean;
  readonly patience: number;
  readonly minSteps: number;
  readonly window: number;
  /** `auto`: the projection loss when the run has a direction, else the token loss. */
  readonly metric: 'auto' | 'projection' | 'token' | 'total';
}

export interface TuneConfig {
  readonly name: string;
  readonly model: string;
  readonly prompts: string;
  readonly direction: string | undefined;
  readonly mode: 'in' | 'out';
  readonly flip: boolean;
  readonly layers: LayerSelection;
  /** Positions relative to the anchor where the projection loss applies; each one of the direction's positions. */
  readonly positions: readonly number[];
  readonly labels: 'honest' | 'dishonest';
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
  readonly sets: 'separate' | 'joint';
  readonly strategy: 'exhaustive' | 'halving';
  readonly maxBlocks: number | undefined;
  /** Undefined = one epoch of the tune's training data. */
  readonly stepsPerTrial: number | undefined;
  readonly eta: number;
  readonly minSteps: number;
  readonly budget: number | undefined;
  readonly layers: LayerSelection | undefined;
  readonly rankBy: 'total' | 'projection' | 'token' | 'ab_accuracy';
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
  readonly seed: number;
  readonly maxTokens: number | undefined;
  /** `lf`: CRLF and lone CR are read as LF; `raw`: the text as its bytes are. */
  readonly newlines: 'lf' | 'raw';
}

export interface AbEvalConfig {
  /** A prompt set to evaluate; undefined = the tuned run's held-out statements. */
  readonly prompts: string | undefined;
  readonly holdout: boolean;
  readonly limit: number | undefined;
}

export interface SteeringConfig {
  readonly direction: string;
  readonly layers: readonly number[];
  readonly multipliers: readonly number[];
  /** Steer all listed layers at once (vector / n layers each) instead of one layer at a time. */
  readonly combine: boolean;
  readonly scale: 'absolute' | 'norm';
  readonly prompts: string | undefined;
  readonly maxNewTokens: number;
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
  readonly weights: 'full' | 'changed' | 'none';
  readonly dtype: 'f32' | 'f16' | 'bf16';
  readonly directionFormats: readonly ('safetensors' | 'gguf')[];
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
  /** Every section in file order. */
  readonly order: readonly SectionRef[];
}
