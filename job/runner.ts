/**
 * Runs the sections of a validated `.rtune` file (a RunConfig from language/) on the engine: direction
 * extraction, tuning, evaluation (A/B, steering, perplexity with a paired bootstrap) and export. Each section
 * writes a run folder (run-folder.ts) and streams typed events. Used by `rtune run` and by the worker process.
 *
 * Models are loaded once per `model` section and shared; a tuned model is kept as its trained tensors and
 * swapped in for evaluation and export, so base and tuned never need two copies of the weights.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DirectionConfig, EvalConfig, ExportConfig, PromptSetConfig, RunConfig, SearchConfig, SectionRef, TuneConfig } from '../language/config';
import { initBackend, type BackendPreference } from '../engine/backend';
import { perplexity } from '../engine/eval/perplexity';
import { exportHfModel, llamaCppArchitecture, writeDirectionsSafetensors, writeFileAtomic, writeGgufControlVector } from '../engine/export';
import { aggregate, dot, norm, separation } from '../engine/method/directions';
import { abEvaluate, abRows, steeringGrid, type AbItem } from '../engine/method/evaluate';
import { captureActivations } from '../engine/method/extract';
import { newlineNote, readText } from '../engine/util/text';
import { anchor, contrastPairs, correctPairs, parseStatementsCsv, promptBeforeLabel, renderTemplate, type ContrastPair, type ContrastSide, type SideAnswer, type StatementRow } from '../engine/method/prompts';
import { blockSearch } from '../engine/method/search';
import { tune, type TuneExample, type TuneOptions } from '../engine/method/tune';
import { forward, type Model } from '../engine/model/forward';
import { generate } from '../engine/generate';
import { loadModel } from '../engine/model/load';
import { openModel, type Session } from '../engine/session';
import { pairedBootstrap, perplexityComparison, type AbMetrics } from '../engine/stats';
import { Rng } from '../engine/util/random';
import type { JobEvent, RunEnded, SearchTrial } from '../protocol/job';
import type { RunSummary } from '../protocol/lsp';
import { planSections } from './plan';
import { RunFolder } from './run-folder';

export interface RunOptions {
  /** Absolute path of the .rtune file (for run summaries). */
  file?: string;
  emit?: (e: JobEvent) => void;
  signal?: AbortSignal;
  /** wasm threads (default 1). */
  threads?: number;
  /** Backend for model sections that say `backend auto` (the editor's `rtune.backend` setting). */
  backend?: BackendPreference;
  /** Also run what the named sections stand on (their direction, tune): default true. */
  prerequisites?: boolean;
}

interface DirectionResult {
  layers: number[];
  offsets: number[];
  /** vectors.get(layer)[k] = unit direction at offsets[k]. */
  vectors: Map<number, Float32Array[]>;
}

interface TunedResult {
  model: string;
  /** HF name → trained values (memory layout). */
  weights: Map<string, Float32Array>;
  heldout: StatementRow[];
  prompts: string;
}

class Cancelled extends Error {}

export class Runner {
  private readonly sessions = new Map<string, Session>();
  private readonly directions = new Map<string, DirectionResult>();
  private readonly tuned = new Map<string, TunedResult>();

  constructor(private readonly config: RunConfig, private readonly opts: RunOptions = {}) {}

  dispose(): void {
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
  }

  /** Create a section's run folder and announce it (a `run` event) before anything else is streamed. */
  private openFolder(outputDir: string, section: string, kind: 'direction' | 'tune' | 'search' | 'eval' | 'export', config: unknown, opts: { stamp?: boolean } = {}): RunFolder {
    const folder = new RunFolder(outputDir, section, kind, this.opts.file, config, opts);
    this.emit({ type: 'run', run: folder.id, section, kind, dir: path.resolve(folder.dir), ...(this.opts.file !== undefined ? { file: this.opts.file } : {}) }, folder);
    return folder;
  }

  private emit(e: JobEvent, folder?: RunFolder): void {
    folder?.event(e);
    this.opts.emit?.(e);
  }

  private async session(name: string): Promise<Session> {
    const have = this.sessions.get(name);
    if (have) return have;
    const m = this.config.models[name];
    if (!m) throw new Error(`unknown model section "${name}"`);
    const backend = await initBackend(m.backend === 'auto' && this.opts.backend !== undefined ? this.opts.backend : m.backend, { threads: this.opts.threads ?? 1 });
    this.emit({ type: 'log', level: 'info', message: `model ${name}: ${m.source.path} on ${backend.device}` });
    const s = openModel(m.source.path, m.tokenizer !== undefined ? { tokenizerPath: m.tokenizer } : {});
    this.sessions.set(name, s);
    return s;
  }

  private rows(p: PromptSetConfig): StatementRow[] {
    const rows = parseStatementsCsv(fs.readFileSync(p.data, 'utf8'), p.data, { text: p.textColumn, label: p.labelColumn });
    return p.limit !== undefined ? rows.slice(0, p.limit) : rows;
  }

  private render(p: PromptSetConfig, r: StatementRow, persona: string | undefined, label: string | undefined): string {
    const vars: Record<string, string> = { statement: r.statement };
    if (persona !== undefined) vars['persona'] = persona;
    if (label !== undefined) vars['label'] = label;
    return renderTemplate(p.template, vars, `prompts ${p.name}`);
  }

  /** One side of a contrastive pair, rendered with its persona and label. */
  private renderSide(p: PromptSetConfig, side: ContrastSide): string {
    return this.render(p, side.row, side.persona === 'positive' ? p.positivePersona : p.negativePersona, side.label === 'true' ? p.trueLabel : p.falseLabel);
  }

  /**
   * METHOD §4.2 `coronly`: cut both sides of every pair before `{label}` and keep the pair when each side gives
   * its own label the larger logit at the answer position. One flag per pair.
   */
  private async correctOnly(s: Session, p: PromptSetConfig, pairs: ContrastPair[]): Promise<boolean[]> {
    const idTrue = this.answerId(s, 'x', p.trueLabel);
    const idFalse = this.answerId(s, 'x', p.falseLabel);
    const answers = async (side: (x: ContrastPair) => ContrastSide): Promise<SideAnswer[]> => {
      const items: AbItem[] = pairs.map((x) => {
        const sd = side(x);
        const vars: Record<string, string> = { statement: sd.row.statement };
        const persona = sd.persona === 'positive' ? p.positivePersona : p.negativePersona;
        if (persona !== undefined) vars['persona'] = persona;
        return { ids: s.tokenizer.encode(promptBeforeLabel(p.template, vars, `prompts ${p.name}`)), gold: sd.label === 'true' ? 'A' : 'B' };
      });
      const rows = await abRows(s.model, items, idTrue, idFalse, this.opts.signal ? { signal: this.opts.signal } : {});
      return rows.map((r) => ({ logitTrue: r.logitA, logitFalse: r.logitB }));
    };
    return correctPairs(pairs, await answers((x) => x.positive), await answers((x) => x.negative));
  }

  /** Token ids and the anchor position (the last token when the prompt set names no anchor). */
  private anchored(s: Session, p: PromptSetConfig, text: string): { ids: number[]; position: number } {
    if (p.anchor === undefined) {
      const ids = s.tokenizer.encode(text);
      return { ids, position: ids.length - 1 + p.anchorOffset };
    }
    return anchor(s.tokenizer, text, p.anchor, p.anchorOffset);
  }

  private answerId(s: Session, prompt: string, label: string): number {
    const a = s.tokenizer.encode(prompt);
    const b = s.tokenizer.encode(`${prompt} ${label}`);
    if (b.length !== a.length + 1 || a.some((x, i) => b[i] !== x)) {
      throw new Error(`the answer label "${label}" is not one token appended to the prompt in this tokenizer; use single-token labels such as A and B`);
    }
    return b[b.length - 1] as number;
  }

  private layersOf(sel: readonly number[] | 'all', nLayers: number): number[] {
    return sel === 'all' ? Array.from({ length: nLayers }, (_, i) => i) : [...sel];
  }

  async runSection(ref: SectionRef): Promise<RunSummary | undefined> {
    switch (ref.kind) {
      case 'direction':
        return this.direction(this.config.directions[ref.name] as DirectionConfig);
      case 'tune':
        return this.tune(this.config.tunes[ref.name] as TuneConfig);
      case 'eval':
        return this.evaluate(this.config.evals[ref.name] as EvalConfig);
      case 'export':
        return this.export(this.config.exports[ref.name] as ExportConfig);
      case 'search':
        return this.search(this.config.searches[ref.name] as SearchConfig);
      default:
        return undefined;
    }
  }

  private async guarded(folder: RunFolder, job: string, body: () => Promise<RunSummary>): Promise<RunSummary> {
    const ended = (s: RunSummary): void => {
      // After finish() the event log is closed: tell watchers only.
      this.opts.emit?.({ type: 'runEnd', run: folder.id, section: folder.section, kind: folder.kind as RunEnded['kind'], status: s.status, headline: s.headline });
    };
    try {
      const summary = await body();
      ended(summary);
      return summary;
    } catch (e) {
      const cancelled = e instanceof Cancelled || this.opts.signal?.aborted === true;
      const message = e instanceof Error ? e.message : String(e);
      this.emit({ type: 'failed', job, kind: cancelled ? 'cancelled' : 'internal', message }, folder);
      ended(folder.finish(cancelled ? 'cancelled' : 'failed', cancelled ? 'cancelled' : `failed: ${message}`));
      throw e;
    }
  }

  private async direction(d: DirectionConfig): Promise<RunSummary> {
    const folder = this.openFolder(d.output, d.name, 'direction', d);
    return this.guarded(folder, 'direction', async () => {
      const s = await this.session(d.model);
      const p = this.config.prompts[d.prompts] as PromptSetConfig;
      const layers = this.layersOf(d.layers, s.model.config.nLayers);
      const offsets = [...d.positions];
      const contrast = contrastPairs(this.rows(p), p.pairing);
      if (contrast.unmatched > 0) {
        this.emit({ type: 'log', level: 'warn', message: `prompts ${p.name}: ${p.pairing} pairing matches true with false statements one to one; ${contrast.unmatched} statement(s) without a partner are left out` }, folder);
      }
      let pairs = contrast.pairs;
      const metrics: Record<string, number> = {};
      let kept = '';
      if (p.correctOnly) {
        const before = pairs.length;
        const flags = await this.correctOnly(s, p, pairs);
        pairs = pairs.filter((_, i) => flags[i]);
        metrics['pairsKept'] = pairs.length;
        metrics['pairsDropped'] = before - pairs.length;
        kept = `; correct_only kept ${pairs.length} of ${before}`;
        this.emit({ type: 'log', level: 'info', message: `prompts ${p.name}: correct_only kept ${pairs.length} of ${before} pairs (dropped ${before - pairs.length}: a side did not give its own label the larger logit)` }, folder);
        if (pairs.length === 0) {
          throw new Error(`prompts ${p.name}: correct_only kept none of the ${before} pairs: the model answers none of them as the personas should. Check the personas and true_label/false_label, or set correct_only false`);
        }
      }
      const req = (positive: boolean) => pairs.map((pair) => {
        const side = positive ? pair.positive : pair.negative;
        const a = this.anchored(s, p, this.renderSide(p, side));
        return { ids: a.ids, positions: offsets.map((o) => a.position + o) };
      });
      const progress = (done: number, total: number) => this.emit({ type: 'progress', job: 'direction', done, total, unit: 'prompts' }, folder);
      const pos = await captureActivations(s.model, req(true), layers, { batch: d.batch, ...(this.opts.signal ? { signal: this.opts.signal } : {}), onProgress: progress });
      const neg = await captureActivations(s.model, req(false), layers, { batch: d.batch, ...(this.opts.signal ? { signal: this.opts.signal } : {}) });
      const vectors = new Map<number, Float32Array[]>();
      const sepTable: number[][] = [];
      const effectTable: number[][] = [];
      // project_out: remove another direction's component, layer by layer and position by position (METHOD §4.5).
      const other = d.projectOut !== undefined ? this.directions.get(d.projectOut) : undefined;
      if (d.projectOut !== undefined && !other) throw new Error(`direction ${d.name}: project_out ${d.projectOut} needs direction ${d.projectOut} to run first (put its section earlier in the file and select both)`);
      const nuisance = (l: number, offset: number): Float64Array | undefined => {
        if (!other) return undefined;
        const k = other.offsets.indexOf(offset);
        const u = other.vectors.get(l)?.[k];
        if (k < 0 || !u) throw new Error(`direction ${d.name}: project_out ${d.projectOut} has no vector at layer ${l}, position ${offset}; extract it at the same layers and positions`);
        return Float64Array.from(u);
      };
      for (const l of layers) {
        const per: Float32Array[] = [];
        const seps: number[] = [];
        const effects: number[] = [];
        offsets.forEach((offset, k) => {
          const P = (pos.get(l) as Float32Array[][])[k] as Float32Array[];
          const N = (neg.get(l) as Float32Array[][])[k] as Float32Array[];
          const u = nuisance(l, offset);
          const v = aggregate(P, N, { method: d.method, component: d.component === 'pc2' ? 2 : 1, normalize: d.normalise, ...(u ? { projectOut: u } : {}) });
          per.push(Float32Array.from(v));
          const sep = separation(v, P, N);
          seps.push(sep.accuracy);
          effects.push(sep.effectSize);
        });
        vectors.set(l, per);
        sepTable.push(seps);
        effectTable.push(effects);
      }
      this.directions.set(d.name, { layers, offsets, vectors });
      this.emit({ type: 'heatmap', job: 'direction', run: folder.id, title: 'separation (positive projects above negative)', rowLabel: 'layer', columnLabel: 'position', rows: layers, columns: offsets.map(String), values: sepTable, min: 0, max: 1 }, folder);
      // How far apart the projections are: (mean positive - mean negative) / pooled sd, on a symmetric scale.
      const dMax = Math.max(1, ...effectTable.flat().filter(Number.isFinite).map(Math.abs));
      this.emit({ type: 'heatmap', job: 'direction', run: folder.id, title: 'separation effect size (Cohen\'s d of the projections)', rowLabel: 'layer', columnLabel: 'position', rows: layers, columns: offsets.map(String), values: effectTable, min: -dMax, max: dMax }, folder);
      writeDirectionsSafetensors(folder.path('direction.safetensors'), vectors, {
        model: this.config.models[d.model]?.source.path ?? d.model, tokenizer_hash: s.tokenizer.hash, template: p.template, layers: layers.join(','),
        positions: offsets.join(','), method: d.method, data: p.data, data_sha256: createHash('sha256').update(fs.readFileSync(p.data)).digest('hex'), n: String(pairs.length), pairing: p.pairing, correct_only: String(p.correctOnly), anchor: p.anchor ?? '(last token)',
      });
      let best = { layer: layers[0] as number, k: 0, acc: -1 };
      sepTable.forEach((row, i) => row.forEach((acc, k) => { if (acc > best.acc) best = { layer: layers[i] as number, k, acc }; }));
      const headline = `direction ${d.name}: best separation ${(100 * best.acc).toFixed(0)}% at layer ${best.layer}, position ${offsets[best.k]} (${pairs.length} ${p.pairing} pairs${kept})`;
      return folder.finish('done', headline, {
        metrics: { bestSeparation: best.acc, bestLayer: best.layer, pairs: pairs.length, ...metrics },
        result: { layers, offsets, separation: sepTable, effectSize: effectTable, pairing: p.pairing, pairs: pairs.length, ...(p.correctOnly ? { correctOnly: { kept: metrics['pairsKept'], dropped: metrics['pairsDropped'] } } : {}) },
      });
    });
  }

  /** Examples, held-out split and TuneOptions of a tune section (shared by tuning and block search). */
  private async prepareTune(t: TuneConfig, run: string) {
    const s = await this.session(t.model);
    const p = this.config.prompts[t.prompts] as PromptSetConfig;
    const rows = new Rng(t.seed).shuffle(this.rows(p));
    const nHeld = Math.round(rows.length * t.holdout);
    const heldRows = rows.slice(0, nHeld);
    const trainRows = rows.slice(nHeld);
    const layers = this.layersOf(t.layers, s.model.config.nLayers);
    const dir = t.direction !== undefined ? this.directions.get(t.direction) : undefined;
    if (t.direction !== undefined && !dir) throw new Error(`tune ${t.name}: run direction ${t.direction} first (rtune run extracts it when both sections are selected)`);
    const ks = t.positions.map((p) => (dir ? dir.offsets.indexOf(p) : 0));
    const absent = t.positions.filter((_, i) => ks[i] === -1);
    if (dir && absent.length > 0) throw new Error(`tune ${t.name}: position ${absent.join(', ')} is not one of direction ${t.direction}'s positions [${dir.offsets.join(', ')}]`);
    // One direction per layer and position: the vector extracted at that offset.
    const directions = new Map<number, Float32Array[]>();
    for (const l of layers) {
      const vs = ks.map((k) => dir?.vectors.get(l)?.[k]);
      if (dir && vs.some((v) => !v)) throw new Error(`tune ${t.name}: direction ${t.direction} has no vector for layer ${l}`);
      if (dir) directions.set(l, vs as Float32Array[]);
    }
    // Training prompts use the set's negative persona when it has one (teach the dishonest persona the target
    // answers), else no persona.
    const example = (r: StatementRow): TuneExample => {
      const text = this.render(p, r, p.negativePersona, undefined);
      const a = this.anchored(s, p, text);
      const saysTrue = t.labels === 'honest' ? r.truth : !r.truth;
      // The language-modelling loss predicts the prompt's own tokens: no answer token.
      const answer = t.tokenLoss.target === 'lm' ? -1 : this.answerId(s, text, saysTrue ? p.trueLabel : p.falseLabel);
      return { ids: a.ids, answer, positions: t.positions.map((o) => a.position + o) };
    };
    const train = trainRows.map(example);
    const held = heldRows.map(example);
    const steps = t.maxSteps ?? t.epochs * Math.ceil(train.length / t.batch);
    const all = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];
    const options: TuneOptions = {
      run, layers, directions, mode: t.mode, flip: t.flip, ...(t.projectionLoss?.margin !== undefined ? { margin: t.projectionLoss.margin } : {}),
      tokenTarget: t.tokenLoss.target === 'soft' ? { soft: [this.answerId(s, 'x', p.trueLabel), this.answerId(s, 'x', p.falseLabel)] } : t.tokenLoss.target,
      tokenWeight: t.tokenLoss.weight, projectionWeight: dir && t.projectionLoss ? t.projectionLoss.weight : 0,
      tokenBlocks: t.tokenLoss.blocks === 'all' ? all : [...t.tokenLoss.blocks],
      projectionBlocks: dir && t.projectionLoss ? (t.projectionLoss.blocks === 'all' ? all : [...t.projectionLoss.blocks]) : [],
      lr: t.optimizer.lrProjection, lrToken: t.optimizer.lrToken, weightDecay: t.optimizer.weightDecay, betas: [t.optimizer.betas[0], t.optimizer.betas[1]],
      clip: t.optimizer.clipNorm, warmupSteps: t.schedule.warmupSteps ?? Math.round(t.schedule.warmupFraction * steps), steps, batch: t.batch, seed: t.seed,
      evalEvery: Math.max(1, t.earlyStopping.window), patience: t.earlyStopping.enabled ? t.earlyStopping.patience : Number.MAX_SAFE_INTEGER, minSteps: t.earlyStopping.minSteps,
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
    };
    return { s, p, train, held, heldRows, options };
  }

  /** Mean cosine with the direction over `rows` (rendered as training prompts), per direction layer × position. */
  private async cosineTable(s: Session, p: PromptSetConfig, rows: StatementRow[], dir: DirectionResult): Promise<number[][]> {
    const req = rows.map((r) => {
      const a = this.anchored(s, p, this.render(p, r, p.negativePersona, undefined));
      return { ids: a.ids, positions: dir.offsets.map((o) => a.position + o) };
    });
    const acts = await captureActivations(s.model, req, dir.layers, { ...(this.opts.signal ? { signal: this.opts.signal } : {}) });
    return dir.layers.map((l) =>
      dir.offsets.map((_, k) => {
        const v = (dir.vectors.get(l) as Float32Array[])[k] as Float32Array;
        const xs = (acts.get(l) as Float32Array[][])[k] as Float32Array[];
        const vn = norm(v) || 1;
        return xs.length > 0 ? xs.reduce((sum, x) => sum + dot(x, v) / (vn * (norm(x) || 1)), 0) / xs.length : NaN;
      }),
    );
  }

  private async tune(t: TuneConfig): Promise<RunSummary> {
    const folder = this.openFolder(t.output, t.name, 'tune', t);
    return this.guarded(folder, 'tune', async () => {
      const { s, p, train, held, heldRows, options } = await this.prepareTune(t, folder.id);
      // Tuning changes the shared model in place: keep the base values of what it trains, and put them back
      // after copying the tuned values out, so later sections see the base model unless they ask for the tuned one.
      const baseValues = new Map<string, tf.Tensor>();
      for (const [name, v] of s.model.params) baseValues.set(name, tf.clone(v));
      // Cosine with the direction at every extracted layer and position, on the held-out prompts (the training
      // prompts when nothing is held out), before and after: the heatmap panel's "before vs after" pair.
      const dir = t.direction !== undefined ? this.directions.get(t.direction) : undefined;
      const cosRows = heldRows.length > 0 ? heldRows : this.rows(p).slice(0, 64);
      const cosineHeatmap = async (when: 'before' | 'after'): Promise<number[][] | undefined> => {
        if (!dir) return undefined;
        const values = await this.cosineTable(s, p, cosRows, dir);
        this.emit({ type: 'heatmap', job: 'tune', run: folder.id, title: `cosine with the direction ${when} tuning (held-out mean)`, rowLabel: 'layer', columnLabel: 'position', rows: dir.layers, columns: dir.offsets.map(String), values, min: -1, max: 1 }, folder);
        return values;
      };
      const cosineBefore = await cosineHeatmap('before');
      const outcome = await tune(s.model, train, held, { ...options, onEvent: (e) => this.emit(e, folder) });
      const cosineAfter = outcome.status === 'cancelled' ? undefined : await cosineHeatmap('after');
      const weights = new Map<string, Float32Array>();
      for (const name of outcome.trained) weights.set(name, (await (s.model.params.get(name) as tf.Variable).data()) as Float32Array);
      for (const [name, t0] of baseValues) (s.model.params.get(name) as tf.Variable).assign(t0);
      tf.dispose([...baseValues.values()]);
      this.tuned.set(t.name, { model: t.model, weights, heldout: heldRows, prompts: t.prompts });
      const first = outcome.history[0];
      const last = outcome.history[outcome.history.length - 1];
      const status = outcome.status === 'cancelled' ? 'cancelled' : outcome.status === 'diverged' ? 'failed' : 'done';
      const headline = first && last
        ? `${outcome.status} after ${outcome.steps} steps: token ${first.tokenLoss.toFixed(3)} → ${last.tokenLoss.toFixed(3)}, projection ${first.projectionLoss.toFixed(3)} → ${last.projectionLoss.toFixed(3)}`
        : outcome.message;
      return folder.finish(status, headline, { detail: outcome.message, metrics: { steps: outcome.steps, tokenLoss: last?.tokenLoss ?? NaN, projectionLoss: last?.projectionLoss ?? NaN }, result: { ...outcome, history: undefined, trained: outcome.trained, ...(dir ? { cosine: { layers: dir.layers, positions: dir.offsets, before: cosineBefore, after: cosineAfter } } : {}) } });
    });
  }

  private async search(x: SearchConfig): Promise<RunSummary> {
    const folder = this.openFolder(x.output, x.name, 'search', x);
    return this.guarded(folder, 'search', async () => {
      const t0 = this.config.tunes[x.tune] as TuneConfig;
      const { s, train, held, options } = await this.prepareTune(t0, folder.id);
      const { tokenBlocks: _tb, projectionBlocks: _pb, steps: _st, signal: _sg, ...template } = options;
      const layers = x.layers !== undefined ? this.layersOf(x.layers, s.model.config.nLayers) : template.layers;
      const samplePrompt = x.samplePrompt !== undefined ? s.tokenizer.encode(x.samplePrompt) : (held[0] ?? train[0])?.ids;
      // Resume: the newest earlier run of this search that did not finish (cancelled, failed, or a crash that left
      // it "running") with the same configuration lends its finished trials; they are re-announced in this run's
      // events so its folder and the leaderboard are complete on their own.
      const resumed = resumableTrials(x.output, folder.id, x);
      if (resumed.trials.length > 0) {
        this.emit({ type: 'log', level: 'info', message: `search ${x.name}: resuming ${resumed.from}: ${resumed.trials.length} finished trial(s) are not run again` }, folder);
        for (const t of resumed.trials) this.emit({ ...t, run: folder.id }, folder);
      }
      const res = await blockSearch(s.model, train, held, {
        template: { ...template, layers, directions: template.directions },
        tokenCandidates: x.tokenBlocks === 'all' ? ['gate', 'up', 'down'] : [...x.tokenBlocks],
        projectionCandidates: x.projectionBlocks === 'all' ? ['q', 'k', 'v', 'o'] : [...x.projectionBlocks],
        sets: x.sets, ...(x.maxBlocks !== undefined ? { maxBlocks: x.maxBlocks } : {}),
        strategy: x.strategy, stepsPerTrial: x.stepsPerTrial ?? options.steps, eta: x.eta, minSteps: x.minSteps, rankBy: x.rankBy,
        ...(x.budget !== undefined ? { budget: x.budget } : {}),
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
        // Held-out A/B rates of each trial: the share of held-out prompts answered with the tune's target letter
        // (the truthful one for labels honest), from the answer logits.
        evaluate: async (m) => {
          if (t0.tokenLoss.target === 'lm') return { honestRate: NaN, lieRate: NaN }; // no answer letter to score
          let honest = 0;
          for (const e of held) {
            const t = tf.tidy(() => forward(m, [e.ids], { logits: 'last' }).logits as tf.Tensor3D);
            const row = await t.data();
            t.dispose();
            const p = this.config.prompts[t0.prompts] as PromptSetConfig;
            const a = this.answerId(s, 'x', p.trueLabel);
            const b = this.answerId(s, 'x', p.falseLabel);
            const says = (row[a] as number) > (row[b] as number) ? a : b;
            if (says === e.answer) honest++;
          }
          const rate = held.length > 0 ? honest / held.length : NaN;
          return { honestRate: rate, lieRate: held.length > 0 ? 1 - rate : NaN };
        },
        // A short greedy continuation of a fixed prompt after every trial (sample_prompt, else the first held-out
        // prompt, else the first training prompt), generated with the trial's tuned weights: deterministic, so
        // trials differ only by their weights.
        ...(samplePrompt ? { sample: async (m) => this.greedy(m, s, samplePrompt, x.sampleTokens) } : {}),
        ...(resumed.trials.length > 0 ? { resumeFrom: resumed.trials } : {}),
        onTrial: (trial) => this.emit(trial, folder),
      });
      const best = res.leaderboard[0];
      const headline = best
        ? `${res.trials.length} trials (${res.fullRuns.toFixed(1)} full runs): best token [${best.tokenBlocks.join(' ')}] / projection [${best.projectionBlocks.join(' ')}]`
        : res.message;
      const status = res.status === 'cancelled' ? 'cancelled' : 'done';
      return folder.finish(status, headline, { metrics: { trials: res.trials.length, fullRuns: res.fullRuns }, result: { leaderboard: res.leaderboard, totalSteps: res.totalSteps, stepsPerFullRun: res.stepsPerFullRun } });
    });
  }

  /**
   * Mean cosine between the block outputs at the anchored position and the direction, per layer, on held-out
   * (or given) prompts, for the base model and the tuned one, with a paired bootstrap CI of the per-prompt change
   * (cosine averaged over the layers).
   */
  private async projectionEval(e: EvalConfig, s: Session, tuned: TunedResult | undefined, folder: RunFolder) {
    const pc = e.projection as NonNullable<EvalConfig['projection']>;
    const tc = e.tuned !== undefined ? this.config.tunes[e.tuned] : undefined;
    const dname = pc.direction ?? tc?.direction;
    if (dname === undefined) throw new Error(`eval ${e.name}: projection_cosine needs a direction (projection_cosine { direction NAME }) or a tuned run with one`);
    const d = this.directions.get(dname);
    if (!d) throw new Error(`eval ${e.name}: run direction ${dname} first (select both sections)`);
    const position = pc.position ?? tc?.positions[0] ?? 0;
    const k = d.offsets.indexOf(position);
    if (k < 0) throw new Error(`eval ${e.name}: projection_cosine position ${position} is not one of direction ${dname}'s positions [${d.offsets.join(', ')}]`);
    const nLayers = s.model.config.nLayers;
    const layers = pc.layers !== undefined ? this.layersOf(pc.layers, nLayers) : tc ? this.layersOf(tc.layers, nLayers) : d.layers;
    const vecs = layers.map((l) => {
      const v = d.vectors.get(l)?.[k];
      if (!v) throw new Error(`eval ${e.name}: direction ${dname} has no vector at layer ${l}; extract it at that layer`);
      return v;
    });
    const pname = pc.prompts ?? tuned?.prompts;
    if (pname === undefined) throw new Error(`eval ${e.name}: projection_cosine needs prompts (projection_cosine { prompts NAME }) or a tuned run`);
    const p = this.config.prompts[pname] as PromptSetConfig;
    let rows = pc.prompts === undefined && tuned ? tuned.heldout : this.rows(p);
    if (pc.limit !== undefined) rows = rows.slice(0, pc.limit);
    if (rows.length === 0) throw new Error(`eval ${e.name}: projection_cosine has no prompts to read (the held-out split is empty; raise the tune's holdout)`);
    const req = rows.map((r) => {
      const a = this.anchored(s, p, this.render(p, r, p.negativePersona, undefined));
      return { ids: a.ids, positions: [a.position + position] };
    });
    /** cos[i][j] = cosine of prompt i's block output at layer j with the direction. */
    const measure = async (): Promise<number[][]> => {
      const acts = await captureActivations(s.model, req, layers, { batch: 16, ...(this.opts.signal ? { signal: this.opts.signal } : {}) });
      return req.map((_, i) => layers.map((l, j) => {
        const h = ((acts.get(l) as Float32Array[][])[0] as Float32Array[])[i] as Float32Array;
        const v = vecs[j] as Float32Array;
        let hv = 0;
        let hh = 0;
        let vv = 0;
        for (let c = 0; c < h.length; c++) {
          hv += (h[c] as number) * (v[c] as number);
          hh += (h[c] as number) ** 2;
          vv += (v[c] as number) ** 2;
        }
        return hv / (Math.sqrt(hh * vv) || 1);
      }));
    };
    const summarise = (cos: number[][]) => ({
      perLayer: layers.map((_, j) => cos.reduce((a, row) => a + (row[j] as number), 0) / cos.length),
      mean: cos.reduce((a, row) => a + row.reduce((x, y) => x + y, 0) / row.length, 0) / cos.length,
    });
    const base = await measure();
    const after = tuned ? await this.withTuned(s, tuned, measure) : undefined;
    const perPrompt = (cos: number[][]) => cos.map((row) => row.reduce((x, y) => x + y, 0) / row.length);
    const delta = after ? pairedBootstrap(perPrompt(base), perPrompt(after), { unit: 'token', resamples: 1000, seed: 42 }) : undefined;
    this.emit({ type: 'log', level: 'info', message: `projection onto ${dname}: base ${summarise(base).mean.toFixed(3)}${after ? `, tuned ${summarise(after).mean.toFixed(3)}` : ''}` }, folder);
    return { direction: dname, position, layers, n: rows.length, base: summarise(base), ...(after ? { tuned: summarise(after) } : {}), ...(delta ? { delta } : {}) };
  }

  /** Greedy continuation of `ids` (at most `tokens` new tokens), decoded. */
  private async greedy(m: Model, s: Session, ids: number[], tokens: number): Promise<string> {
    const r = await generate(m, [ids], { maxNewTokens: tokens, temperature: 0, ...(this.opts.signal ? { signal: this.opts.signal } : {}) });
    return s.tokenizer.decode(r.tokens[0] ?? []);
  }

  /** Run `fn` with a tuned run's weights swapped into the model, restoring the base weights afterwards. */
  private async withTuned<T>(s: Session, tuned: TunedResult | undefined, fn: () => Promise<T>): Promise<T> {
    if (!tuned) return fn();
    const saved = new Map<string, tf.Tensor>();
    for (const [name, w] of tuned.weights) {
      const v = s.model.params.get(name) as tf.Variable;
      saved.set(name, tf.clone(v));
      v.assign(tf.tensor(w, v.shape));
    }
    try {
      return await fn();
    } finally {
      for (const [name, t] of saved) (s.model.params.get(name) as tf.Variable).assign(t);
      tf.dispose([...saved.values()]);
    }
  }

  private async evaluate(e: EvalConfig): Promise<RunSummary> {
    const folder = this.openFolder(e.output, e.name, 'eval', e);
    return this.guarded(folder, 'eval', async () => {
      const s = await this.session(e.model);
      const tuned = e.tuned !== undefined ? this.tuned.get(e.tuned) : undefined;
      if (e.tuned !== undefined && !tuned) throw new Error(`eval ${e.name}: run tune ${e.tuned} first (select both sections)`);
      const parts: string[] = [];
      const metrics: Record<string, number> = {};
      const result: Record<string, unknown> = {};
      if (e.perplexity) {
        const pc = e.perplexity;
        const data = readText(pc.data, pc.newlines);
        const note = newlineNote(data.newlines, pc.data);
        if (note !== undefined) this.emit({ type: 'log', level: 'info', message: `eval ${e.name}: ${note}` }, folder);
        let ids = s.tokenizer.encode(data.text);
        if (pc.maxTokens !== undefined) ids = ids.slice(0, pc.maxTokens);
        const run = (which: string) => perplexity(s.model, ids, {
          maxLength: pc.maxLength, stride: pc.stride, batch: pc.batch,
          onProgress: (done, total, ppl) => this.emit({ type: 'progress', job: 'perplexity', done, total, unit: 'windows', message: `${which} ppl ${ppl.toFixed(3)}` }, folder),
        });
        const base = await run('base');
        metrics['pplBase'] = base.perplexity;
        if (tuned) {
          const after = await this.withTuned(s, tuned, () => run('tuned'));
          const cmp = perplexityComparison(base.tokenNll, after.tokenNll, { resamples: pc.bootstrap, seed: pc.seed });
          metrics['pplTuned'] = after.perplexity;
          metrics['pplDeltaPct'] = cmp.deltaPct;
          parts.push(`ppl ${base.perplexity.toFixed(2)} → ${after.perplexity.toFixed(2)} (${cmp.deltaPct >= 0 ? '+' : ''}${cmp.deltaPct.toFixed(1)}%, 95% CI ${cmp.ciPct[0].toFixed(1)}..${cmp.ciPct[1].toFixed(1)}%)`);
          result['perplexity'] = { base: base.perplexity, tuned: after.perplexity, comparison: cmp, tokens: base.tokens, scored: base.scoredTokens, newlines: data.newlines };
        } else {
          parts.push(`ppl ${base.perplexity.toFixed(2)}`);
          result['perplexity'] = { base: base.perplexity, tokens: base.tokens, scored: base.scoredTokens, newlines: data.newlines };
        }
      }
      if (e.ab) {
        const pname = e.ab.prompts ?? tuned?.prompts;
        if (pname === undefined) throw new Error(`eval ${e.name}: ab needs a prompts set (ab { prompts NAME }) or a tuned run`);
        const p = this.config.prompts[pname] as PromptSetConfig;
        let rows = e.ab.holdout && tuned ? tuned.heldout : this.rows(p);
        if (e.ab.limit !== undefined) rows = rows.slice(0, e.ab.limit);
        const idOf = (label: string) => this.answerId(s, 'x', label);
        const idA = idOf(p.trueLabel);
        const idB = idOf(p.falseLabel);
        const items: AbItem[] = rows.map((r) => ({
          ids: this.anchored(s, p, this.render(p, r, p.negativePersona, undefined)).ids,
          gold: r.truth ? 'A' : 'B',
        }));
        const base = await abEvaluate(s.model, items, idA, idB);
        const after = tuned ? await this.withTuned(s, tuned, () => abEvaluate(s.model, items, idA, idB)) : undefined;
        metrics['honestBase'] = base.honest;
        metrics['lieBase'] = base.lie;
        if (after) {
          metrics['honestTuned'] = after.honest;
          metrics['lieTuned'] = after.lie;
        }
        parts.push(`honest ${(100 * base.honest).toFixed(0)}%${after ? ` → ${(100 * after.honest).toFixed(0)}%` : ''} (n ${base.n})`);
        result['ab'] = { base, tuned: after };
        if (e.steering) {
          const d = this.directions.get(e.steering.direction);
          if (!d) throw new Error(`eval ${e.name}: run direction ${e.steering.direction} first`);
          const vecs = new Map([...d.vectors].map(([l, v]) => [l, v[0] as Float32Array]));
          result['steering'] = await steeringGrid(s.model, items, idA, idB, vecs, [...e.steering.layers], [...e.steering.multipliers], e.steering.combine);
        }
      }
      if (e.projection) {
        const r = await this.projectionEval(e, s, tuned, folder);
        result['projection'] = r;
        metrics['projectionCosBase'] = r.base.mean;
        if (r.tuned) {
          metrics['projectionCosTuned'] = r.tuned.mean;
          metrics['projectionCosDelta'] = r.delta?.diff ?? NaN;
        }
        parts.push(`cos(v) ${r.base.mean.toFixed(3)}${r.tuned ? ` → ${r.tuned.mean.toFixed(3)}` : ''} at layers ${r.layers.join(',')} (n ${r.n})`);
      }
      if (e.generate) {
        const g = e.generate;
        const pname = g.prompts ?? tuned?.prompts;
        if (pname === undefined) throw new Error(`eval ${e.name}: generate needs prompts (generate { prompts NAME }) or a tuned run`);
        const p = this.config.prompts[pname] as PromptSetConfig;
        const rows = (g.prompts === undefined && tuned ? tuned.heldout : this.rows(p)).slice(0, g.limit);
        const texts = rows.map((r) => this.render(p, r, p.negativePersona, undefined));
        const run = async () => {
          const out: string[] = [];
          for (const text of texts) out.push(await this.greedy(s.model, s, s.tokenizer.encode(text), g.maxNewTokens));
          return out;
        };
        const base = await run();
        const after = tuned ? await this.withTuned(s, tuned, run) : undefined;
        result['generate'] = texts.map((prompt, i) => ({ prompt, base: base[i], ...(after ? { tuned: after[i] } : {}) }));
        parts.push(`${texts.length} greedy generations`);
      }
      const detail = [abTable(result), projectionTable(result), generationsText(result)].filter((x) => x !== undefined).join('\n\n') || undefined;
      return folder.finish('done', parts.join('; ') || 'nothing to evaluate', { metrics, result, ...(detail ? { detail } : {}) });
    });
  }

  private async export(x: ExportConfig): Promise<RunSummary> {
    // Every export goes to a new timestamped folder under the named output (never over an earlier export), and
    // `<output>/latest` (a plain text file, written atomically) names the newest finished one.
    const folder = this.openFolder(x.output, x.name, 'export', x, { stamp: true });
    return this.guarded(folder, 'export', async () => {
      const written: string[] = [];
      if (x.tune !== undefined && x.weights !== 'none') {
        const tuned = this.tuned.get(x.tune);
        if (!tuned) throw new Error(`export ${x.name}: run tune ${x.tune} first`);
        const s = await this.session(tuned.model);
        const srcPath = this.config.models[tuned.model]?.source.path ?? '';
        const tokDir = fs.statSync(srcPath).isDirectory() ? srcPath : undefined;
        const base = x.weights === 'changed' ? loadModel(srcPath) : undefined;
        try {
          await this.withTuned(s, tuned, () => exportHfModel(s.model, tokDir, folder.path('model'), {
            mode: x.weights === 'changed' ? 'changed' : 'full', dtype: x.dtype.toUpperCase() as 'F32' | 'F16' | 'BF16',
            ...(base ? { base: { model: base, path: srcPath } } : {}),
          }));
        } finally {
          base?.dispose();
        }
        written.push('model/');
      }
      if (x.direction !== undefined) {
        const d = this.directions.get(x.direction);
        if (!d) throw new Error(`export ${x.name}: run direction ${x.direction} first`);
        const model = this.config.directions[x.direction]?.model ?? '';
        const s = await this.session(model);
        if (x.directionFormats.includes('safetensors')) {
          writeDirectionsSafetensors(folder.path('direction.safetensors'), d.vectors, { offsets: d.offsets.join(','), layers: d.layers.join(',') });
          written.push('direction.safetensors');
        }
        if (x.directionFormats.includes('gguf')) {
          const first = new Map([...d.vectors].filter(([l]) => l > 0).map(([l, v]) => [l, v[0] as Float32Array]));
          writeGgufControlVector(folder.path('direction.gguf'), first, { architecture: llamaCppArchitecture(s.model.config) });
          written.push('direction.gguf');
        }
      }
      const summary = folder.finish('done', `exported ${written.join(', ') || 'nothing'} to ${folder.dir}`);
      writeFileAtomic(path.join(x.output, 'latest'), `${folder.id}\n`);
      return summary;
    });
  }
}

/**
 * Trials of the newest earlier run of a search in `output` (other than `current`) when that run did not finish and
 * was made with the same configuration; otherwise none. Reads `config.json`, `status.json` and the `trial` events.
 */
export function resumableTrials(output: string, current: string, config: unknown): { from: string; trials: SearchTrial[] } {
  let names: string[] = [];
  try {
    names = fs.readdirSync(output).filter((n) => n !== current).sort();
  } catch {
    return { from: '', trials: [] };
  }
  const prev = names[names.length - 1];
  if (prev === undefined) return { from: '', trials: [] };
  const dir = path.join(output, prev);
  try {
    const status = (JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { status?: string }).status;
    if (status === 'done') return { from: prev, trials: [] };
    if (fs.readFileSync(path.join(dir, 'config.json'), 'utf8').trim() !== JSON.stringify(config, null, 2).trim()) return { from: prev, trials: [] };
    const trials: SearchTrial[] = [];
    for (const line of fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n')) {
      try {
        const e = JSON.parse(line) as JobEvent;
        if (e.type === 'trial') trials.push(e);
      } catch {
        // a torn last line from a crash
      }
    }
    return { from: prev, trials };
  } catch {
    return { from: prev, trials: [] };
  }
}

/** Markdown A/B table (base, steered cells, tuned) with Wilson intervals, for the summary's detail. */
function abTable(result: Record<string, unknown>): string | undefined {
  const ab = result['ab'] as { base: AbMetrics; tuned?: AbMetrics } | undefined;
  if (!ab) return undefined;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const row = (name: string, m: AbMetrics) =>
    `| ${name} | ${pct(m.honest)} [${pct(m.honestCi.lo)}, ${pct(m.honestCi.hi)}] | ${pct(m.lie)} [${pct(m.lieCi.lo)}, ${pct(m.lieCi.hi)}] | ${m.bias >= 0 ? '+' : ''}${m.bias.toFixed(2)} |`;
  const rows = ['| condition | honest (95% CI) | lie (95% CI) | A/B bias |', '| --- | --- | --- | --- |', row('base', ab.base)];
  for (const c of (result['steering'] as Array<{ layers: number[]; multiplier: number; metrics: AbMetrics }> | undefined) ?? []) {
    if (c.multiplier !== 0) rows.push(row(`steered L${c.layers.join('+')} x${c.multiplier}`, c.metrics));
  }
  if (ab.tuned) rows.push(row('tuned', ab.tuned));
  return `${rows.join('\n')}\n\nn = ${ab.base.n}; bias = P(says A) - P(gold is A).`;
}

/** Markdown table of the projection evaluation (mean cosine with the direction per layer, base vs tuned). */
function projectionTable(result: Record<string, unknown>): string | undefined {
  const r = result['projection'] as { direction: string; position: number; layers: number[]; n: number; base: { perLayer: number[]; mean: number }; tuned?: { perLayer: number[]; mean: number }; delta?: { diff: number; lo: number; hi: number } } | undefined;
  if (!r) return undefined;
  const f = (x: number) => x.toFixed(3);
  const rows = ['| layer | cos base | cos tuned |', '| --- | --- | --- |'];
  r.layers.forEach((l, j) => rows.push(`| ${l} | ${f(r.base.perLayer[j] as number)} | ${r.tuned ? f(r.tuned.perLayer[j] as number) : '-'} |`));
  rows.push(`| mean | ${f(r.base.mean)} | ${r.tuned ? f(r.tuned.mean) : '-'} |`);
  const ci = r.delta ? `; change ${r.delta.diff >= 0 ? '+' : ''}${f(r.delta.diff)} (95% paired-bootstrap CI ${f(r.delta.lo)}..${f(r.delta.hi)})` : '';
  return `${rows.join('\n')}\n\ncosine with direction ${r.direction} at anchor ${r.position >= 0 ? '+' : ''}${r.position}, n = ${r.n} prompts${ci}.`;
}

/** The greedy generations, base and tuned, as a readable list. */
function generationsText(result: Record<string, unknown>): string | undefined {
  const g = result['generate'] as Array<{ prompt: string; base: string; tuned?: string }> | undefined;
  if (!g) return undefined;
  const q = (x: string) => JSON.stringify(x);
  return g.map((x, i) => `${i + 1}. prompt ${q(x.prompt)}\n   base:  ${q(x.base)}${x.tuned !== undefined ? `\n   tuned: ${q(x.tuned)}` : ''}`).join('\n');
}

/** Run the named sections (or all runnable ones) in file order. */
export async function runConfig(config: RunConfig, sections: string[], opts: RunOptions = {}): Promise<RunSummary[]> {
  const chosen = planSections(config, sections, { prerequisites: opts.prerequisites ?? true });
  const runner = new Runner(config, opts);
  const out: RunSummary[] = [];
  try {
    for (const ref of chosen) {
      if (opts.signal?.aborted) throw new Cancelled('cancelled');
      const r = await runner.runSection(ref);
      if (r) out.push(r);
    }
  } finally {
    runner.dispose();
  }
  return out;
}
