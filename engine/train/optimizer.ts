/**
 * The optimiser a tune section names (`optimizer { name … }`), built over the run's parameter groups, and the
 * finiteness check the training loop runs after every update. Non-goals: the update rules (adamw.ts, sgd.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig } from '../../protocol/contract';
import { Adam, AdamW, type Optimizer, type ParamGroup } from './adamw';
import { Sgd } from './sgd';
import { checkDeviceErrors } from '../backend';

export type { Optimizer, ParamGroup } from './adamw';

/** `adamw` (decoupled decay), `adam` (L2 decay), `sgd` (no betas or eps), with the configuration's betas and eps. */
export function createOptimizer(o: Pick<OptimizerConfig, 'name' | 'betas' | 'eps'>, groups: ParamGroup[]): Optimizer {
  const adam = { beta1: o.betas[0], beta2: o.betas[1], eps: o.eps };
  switch (o.name) {
    case 'adamw':
      return new AdamW(groups, adam);
    case 'adam':
      return new Adam(groups, adam);
    case 'sgd':
      return new Sgd(groups);
  }
}

/**
 * True when every element of every variable is finite (one host sync). On webgpu it also throws a BackendError when
 * the device reported an error since the last check: the update then computed wrong values without any NaN.
 */
export async function allFinite(vars: readonly tf.Variable[]): Promise<boolean> {
  if (vars.length === 0) return true;
  const ok = tf.tidy(() => tf.all(tf.stack(vars.map((v) => tf.all(tf.isFinite(v))))));
  const r = (await ok.data())[0];
  ok.dispose();
  checkDeviceErrors('a training step');
  return r === 1;
}
