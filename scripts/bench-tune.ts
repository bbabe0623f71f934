/**
 * Tuning benchmark (a script, not a test): dual-loss tuning steps/s and tokens/s, peak RSS and tensor drift for the
 * demo model and for stories260K (synthetic prompts: throughput does not depend on the text), and the cost of a
 * block search as a multiple of one tuning run (the target: a full 105-pair search with successive
 * halving costs at most 15 single runs, against 105 for the research's reload-every-trial loop).
 *
 * Usage: npm run build && npx tsc -p tsconfig.test.json && node out/scripts/bench-tune.js [--threads N] [--steps N]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend';
import { blockSearch, halvingSchedule } from '../engine/method/search';
import { enumerateBlockSets } from '../model/block-sets';
import { tune, type TuneExample, type TuneOptions } from '../engine/method/tune';
import type { Model } from '../engine/model/forward';
import { loadModel } from '../engine/model/load';
import { Rng } from '../engine/util/random';

function examples(model: Model, n: number, len: number, seed: number): TuneExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => ({
    ids: Array.from({ length: len }, () => 3 + rng.int(model.config.vocabSize - 3)),
    answer: 3 + rng.int(model.config.vocabSize - 3),
    positions: [len - 2],
  }));
}

function options(model: Model, steps: number, batch: number): TuneOptions {
  const rng = new Rng(1);
  const layers = [Math.min(1, model.config.nLayers - 1), Math.min(2, model.config.nLayers - 1)].filter((l, i, a) => a.indexOf(l) === i);
  const directions = new Map(
    layers.map((l) => {
      const v = Float32Array.from({ length: model.config.hiddenSize }, () => rng.normal());
      const n = Math.hypot(...v);
      return [l, v.map((x) => x / n)];
    }),
  );
  return {
    run: 'bench',
    layers,
    directions,
    mode: 'in',
    flip: false,
    tokenTarget: 'hard',
    tokenWeight: 1,
    projectionWeight: 1,
    tokenBlocks: ['down'],
    projectionBlocks: ['v', 'o'],
    optimizer: { name: 'adamw', lrToken: 1e-4, lrProjection: 1e-4, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0, clipNorm: 1 },
    schedule: { warmupSteps: 1, warmupFraction: 0, decay: 'cosine', minLrRatio: 0.1 },
    earlyStopping: { enabled: false, patience: 1, minSteps: 0, window: 1, every: 1e9, metric: 'total' },
    steps,
    batch,
    seed: 1,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { threads: { type: 'string' }, steps: { type: 'string' } } });
  const steps = Number(values.steps ?? 20);
  const info = await initBackend('wasm', { threads: Number(values.threads ?? 1) });
  const root = path.resolve(__dirname, '..', '..');
  const models: Array<[string, string, number]> = [['demo model', path.join(root, 'examples', 'demo-model'), 24]];
  const stories = path.resolve(root, '..', 'shared', 'data', 'llama2c-stories260K', 'stories260K.bin');
  if (fs.existsSync(stories)) models.push(['stories260K', stories, 64]);
  const lines = [
    `machine: ${os.cpus()[0]?.model ?? 'cpu'} x ${os.cpus().length}; node ${process.version}; ${info.device}`,
    '',
    '| model | prompt tokens | batch | steps/s | tokens/s | tensor drift/step | peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  let searchLine = '';
  for (const [name, p, len] of models) {
    const model = loadModel(p);
    const train = examples(model, 64, len, 2);
    await tune(model, train, [], options(model, 2, 16)); // warm-up
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    await tune(model, train, [], options(model, steps, 16));
    const s = (performance.now() - t0) / 1000;
    const drift = (tf.memory().numTensors - before) / steps;
    lines.push(
      `| ${name} | ${len} | 16 | ${(steps / s).toFixed(2)} | ${((steps * 16 * len) / s).toFixed(0)} | ${drift} | ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB |`,
    );
    if (name === 'demo model') {
      // A real successive-halving search over 2x2 candidates, timed against one run of the same length.
      const t1 = performance.now();
      const res = await blockSearch(model, train, [], {
        template: (({ tokenBlocks: _a, projectionBlocks: _b, steps: _c, ...rest }) => rest)(options(model, steps, 16)),
        tokenCandidates: ['up', 'down'],
        projectionCandidates: ['v', 'o'],
        sets: 'separate',
        strategy: 'halving',
        stepsPerTrial: steps,
        eta: 3,
        minSteps: 2,
      });
      const searchS = (performance.now() - t1) / 1000;
      const full = halvingSchedule(enumerateBlockSets(['gate', 'up', 'down'], ['q', 'k', 'v', 'o'], 'separate').length, 3, 4);
      searchLine =
        `block search (demo, 9 candidates, halving): ${res.trials.length} trials in ${searchS.toFixed(1)} s = ${(searchS / s).toFixed(1)} x one ${steps}-step run ` +
        `(${res.fullRuns.toFixed(1)} runs by step count). Full 105-pair search, eta 3, min 4 steps: ${full.totalSteps} steps = ` +
        `${(full.totalSteps / (4 * 3 ** (full.rungs.length - 1))).toFixed(1)} single runs of the final rung's length (target <= 15; the research: 105).`;
    }
    model.dispose();
  }
  lines.push('', searchLine);
  console.log(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
