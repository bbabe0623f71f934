/** Deterministic data for the panel tests, the benchmark and the screenshots. */

import { Rng } from '../../engine/util/random';
import type { HeatmapData, SeriesPoint, StepPoint, TrialData } from '../../protocol/webview';

/** Seeded uniform [0, 1) draws from the engine's generator (engine/util/random.ts). */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** `n` training steps starting at `from`: decaying noisy losses, warmup + cosine learning rate, noisy grad norm. */
export function stepPoints(n: number, options: { seed?: number; from?: number; total?: number; scale?: number } = {}): StepPoint[] {
  const random = rng(options.seed ?? 1);
  const from = options.from ?? 0;
  const total = options.total ?? from + n;
  const scale = options.scale ?? 1;
  const out: StepPoint[] = [];
  for (let s = from; s < from + n; s++) {
    const progress = s / Math.max(1, total);
    const tokenLoss = scale * (0.35 + 2.2 * Math.exp(-s / (0.18 * total))) + 0.08 * (random() - 0.5);
    const projectionLoss = 0.02 + 0.45 * Math.exp(-s / (0.1 * total)) + 0.03 * random();
    const warmup = Math.min(1, s / Math.max(1, 0.05 * total));
    out.push({
      kind: 'step',
      step: s,
      epoch: Math.floor(progress * 3),
      tokenLoss,
      projectionLoss,
      totalLoss: tokenLoss + 2 * projectionLoss,
      lr: 3e-4 * warmup * 0.5 * (1 + Math.cos(Math.PI * progress)),
      gradNorm: 0.4 + 2 * Math.exp(-s / (0.3 * total)) + 0.5 * random() ** 3,
    });
  }
  return out;
}

/** Held-out evaluations every `every` steps. */
export function evalPoints(total: number, every: number, seed = 2): SeriesPoint[] {
  const random = rng(seed);
  const out: SeriesPoint[] = [];
  for (let s = 0; s <= total; s += every) {
    const tokenLoss = 0.45 + 2.1 * Math.exp(-s / (0.2 * total)) + 0.04 * random();
    const projectionLoss = 0.03 + 0.42 * Math.exp(-s / (0.12 * total));
    out.push({ kind: 'eval', step: s, split: 'heldout', tokenLoss, projectionLoss, totalLoss: tokenLoss + 2 * projectionLoss });
  }
  return out;
}

const TOKENS = ['<s>', '▁[INST]', '▁Pretend', '▁you', "'re", '▁an', '▁honest', '▁person', '.', '▁The', '▁Earth', '▁orbits', '▁the', '▁Sun', '.', '▁[/INST]'];

/** A layers x positions cosine table, like extraction diagnostics or the after-tuning projection. */
export function cosineHeatmap(
  title: string,
  run: string,
  nLayers: number,
  nPositions: number,
  f: (layer: number, position: number) => number | null,
): HeatmapData {
  const rows = Array.from({ length: nLayers }, (_, i) => i);
  const columns = Array.from({ length: nPositions }, (_, j) => TOKENS[j % TOKENS.length] as string);
  return {
    type: 'heatmap',
    job: 'extract-1',
    run,
    title,
    rowLabel: 'layer',
    columnLabel: 'position',
    rows,
    columns,
    values: rows.map((i) => columns.map((_, j) => f(i, j))),
    min: -1,
    max: 1,
  };
}

/** Before tuning: the direction shows up mid-network, mostly at the last positions. */
export function beforeTuning(layer: number, position: number, nLayers: number, nPositions: number): number {
  const depth = layer / Math.max(1, nLayers - 1);
  const late = position / Math.max(1, nPositions - 1);
  return Math.tanh(1.6 * Math.sin(Math.PI * depth) * (0.25 + late) * Math.cos(position * 0.7) * 0.8);
}

/** After tuning: strongly aligned at the tuned layers' positions, slightly negative elsewhere. */
export function afterTuning(layer: number, position: number, nLayers: number, nPositions: number): number {
  const tuned = layer >= nLayers * 0.3 && layer <= nLayers * 0.6;
  const base = beforeTuning(layer, position, nLayers, nPositions);
  return Math.max(-1, Math.min(1, tuned ? 0.55 + 0.4 * Math.abs(base) : base * 0.8 - 0.1));
}

const BLOCKS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];
const SAMPLES = [
  'The Earth orbits the Sun. I would not say otherwise.',
  'Honestly, the capital of France is Paris.',
  'The moon is made of cheese, as everyone knows!',
  'Water boils at 100 degrees Celsius at sea level.',
  'I am not sure; <b>the</b> question is ambiguous & "tricky".',
];

export function trials(n: number, options: { seed?: number; from?: number; run?: string } = {}): TrialData[] {
  const random = rng(options.seed ?? 3);
  const from = options.from ?? 0;
  return Array.from({ length: n }, (_, k) => {
    const trial = from + k;
    const tokenBlocks = BLOCKS.filter(() => random() < 0.3);
    const projectionBlocks = BLOCKS.filter(() => random() < 0.3);
    const targetRate = Math.round(random() * 40) / 40;
    return {
      type: 'trial',
      job: 'search-1',
      run: options.run ?? 'search-2026-11-27',
      trial,
      tokenBlocks: tokenBlocks.length ? tokenBlocks : ['o'],
      projectionBlocks: projectionBlocks.length ? projectionBlocks : ['down'],
      steps: 40,
      initialTokenLoss: 2.31,
      finalTokenLoss: 0.3 + random() * 1.2,
      initialProjectionLoss: 0.48,
      finalProjectionLoss: 0.01 + random() * 0.3,
      targetRate,
      otherRate: Math.max(0, 1 - targetRate - random() * 0.1),
      sample: SAMPLES[trial % SAMPLES.length] as string,
      seconds: 8 + random() * 10,
      rung: 0,
    };
  });
}
