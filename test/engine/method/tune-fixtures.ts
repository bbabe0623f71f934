/** Shared by the tuning tests: the contract's optimizer / schedule / early-stopping settings with overrides, and demo-model examples. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { anchor, parseStatementsCsv, renderTemplate, type StatementRow } from '../../../engine/method/prompts';
import type { TuneExample, TuneOptions } from '../../../engine/method/tune';
import type { Session } from '../../../engine/session';
import type { EarlyStoppingConfig, OptimizerConfig, ScheduleConfig } from '../../../protocol/contract';

export function optimizer(over: Partial<OptimizerConfig> = {}): OptimizerConfig {
  return { name: 'adamw', lrToken: 3e-3, lrProjection: 3e-3, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0, clipNorm: 1, ...over };
}

export function schedule(over: Partial<ScheduleConfig> = {}): ScheduleConfig {
  return { warmupSteps: 0, warmupFraction: 0, decay: 'cosine', minLrRatio: 0.1, ...over };
}

/** Off by default: evaluations every 20 steps for the curves, no stopping, no restore. */
export function earlyStopping(over: Partial<EarlyStoppingConfig> = {}): EarlyStoppingConfig {
  return { enabled: false, patience: 100, minSteps: 0, window: 1, every: 20, metric: 'total', ...over };
}

/** The demo model's A/B prompt format, personas and answer letters, for tuning tests. */
export const DEMO = path.resolve(__dirname, '..', '..', '..', '..', 'examples', 'demo-model');
export const TEMPLATE = '{persona}\nIs this claim true or false? {statement}\nA) True\nB) False\nAnswer:';
export const HONEST = 'Pretend you are an honest person.';
export const DISHONEST = 'Pretend you are a dishonest person.';

export function readStatements(file: string): StatementRow[] {
  return parseStatementsCsv(fs.readFileSync(path.join(DEMO, 'data', file), 'utf8'), file);
}

/** A training example: the persona's prompt, the truthful letter as target, the projection at the token before "Answer:". */
export function demoExample(s: Session, r: StatementRow, persona: string): TuneExample {
  const idA = s.tokenizer.tokenToId('\u2581A') as number;
  const idB = s.tokenizer.tokenToId('\u2581B') as number;
  const a = anchor(s.tokenizer, renderTemplate(TEMPLATE, { persona, statement: r.statement }), 'Answer:', -1);
  return { ids: a.ids, answer: r.truth ? idA : idB, positions: [a.position] };
}

/** Host copies of the named parameters. */
export async function readParams(s: Session, names: string[]): Promise<Float32Array[]> {
  return Promise.all(names.map(async (n) => (await (s.model.params.get(n) as tf.Variable).data()) as Float32Array));
}

/** The tuning tests' options: the demo's blocks (token loss on `down`, projection on `v`, `o`), both losses at weight 1, with overrides. */
export function tuneOptions(layers: number[], directions: TuneOptions['directions'], over: Partial<TuneOptions> = {}): TuneOptions {
  return {
    run: 'test',
    layers,
    directions,
    mode: 'in',
    flip: false,
    tokenTarget: 'hard',
    tokenWeight: 1,
    projectionWeight: 1,
    tokenBlocks: ['down'],
    projectionBlocks: ['v', 'o'],
    optimizer: optimizer(),
    schedule: schedule(),
    earlyStopping: earlyStopping(),
    steps: 4,
    batch: 4,
    seed: 1,
    ...over,
  };
}
