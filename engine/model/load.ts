/**
 * Building a Model from weights: a Hugging Face folder (config.json + model.safetensors or a sharded index),
 * a llama2.c `.bin` checkpoint, or random initialisation (tests, benchmarks, the demo-model trainer).
 * Shapes are validated against the architecture's parameter list; a missing or misshapen tensor is an error
 * that names the file, the tensor and the expected shape.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkMemory } from '../backend';
import { readLlama2cCheckpoint } from '../io/llama2c';
import { readSafetensorsModel } from '../io/safetensors';
import { Rng, transpose2d } from '../util/random';
import { parseHfConfig, ModelConfigError, type ModelConfig } from '../../model/config';
import { llama2cConfig } from '../../model/llama2c';
import { paramSpecs } from '../../model/params';
import type { Model } from './forward';

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** A checkpoint whose tensors do not fit the architecture its config describes. */
export class ModelLoadError extends Error {
  constructor(
    readonly file: string,
    readonly tensor: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

class LoadedModel implements Model {
  constructor(
    readonly config: ModelConfig,
    readonly params: Map<string, tf.Variable>,
    readonly path: string,
    readonly format: 'hf' | 'llama2c',
  ) {}

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Bytes a model needs in memory: weights, plus gradients and two Adam moments when training. */
export function estimateModelBytes(c: ModelConfig, training: boolean): number {
  const n = paramSpecs(c).reduce((acc, s) => acc + s.shape.reduce((a, b) => a * b, 1), 0);
  return n * 4 * (training ? 4 : 1);
}

/**
 * Create variables from tensors in disk (HF) layout. `file` names the source in error messages.
 * GPT-2 checkpoints saved without the `transformer.` prefix are accepted.
 */
export function modelFromTensors(config: ModelConfig, tensors: Map<string, HostTensor>, file: string, format: 'hf' | 'llama2c'): Model {
  const specs = paramSpecs(config);
  const largest = specs.reduce((a, s) => (s.shape.reduce((x, y) => x * y, 1) > a.size ? { size: s.shape.reduce((x, y) => x * y, 1), name: s.name } : a), {
    size: 0,
    name: '',
  });
  checkMemory(`model ${file}`, estimateModelBytes(config, false), largest.size * 4, largest.name);
  const params = new Map<string, tf.Variable>();
  try {
    for (const s of specs) {
      let t = tensors.get(s.name);
      if (!t && s.name.startsWith('transformer.')) t = tensors.get(s.name.slice('transformer.'.length));
      if (!t) {
        throw new ModelLoadError(
          file,
          s.name,
          `${file}: tensor "${s.name}" is missing (expected shape [${s.diskShape.join(', ')}]). Is config.json the config of these weights?`,
        );
      }
      if (!sameShape(t.shape, s.diskShape)) {
        throw new ModelLoadError(
          file,
          s.name,
          `${file}: tensor "${s.name}" has shape [${t.shape.join(', ')}], but config.json implies [${s.diskShape.join(', ')}]`,
        );
      }
      const data = s.transposed ? transpose2d(t.data, s.diskShape[0] as number, s.diskShape[1] as number) : t.data;
      // Unnamed: tfjs variable names are process-global, and two models (base and tuned) share HF names.
      const initial = tf.tensor(data, s.shape, 'float32');
      params.set(s.name, tf.variable(initial, false));
      initial.dispose();
    }
  } catch (e) {
    for (const v of params.values()) v.dispose();
    throw e;
  }
  return new LoadedModel(config, params, file, format);
}

/** The model's parameters in disk (HF) layout, for export and checkpoints. */
export async function modelToTensors(model: Model): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const s of paramSpecs(model.config)) {
    const v = model.params.get(s.name);
    if (!v) continue;
    const data = (await v.data()) as Float32Array;
    out.set(s.name, {
      shape: s.diskShape,
      data: s.transposed ? transpose2d(data, s.shape[0] as number, s.shape[1] as number) : new Float32Array(data),
    });
  }
  return out;
}

/** Read and normalise `config.json` of an HF model folder. */
export function readHfConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ModelConfigError(file, 'not found: a Hugging Face model folder needs config.json (or pass a llama2.c .bin file)');
  }
  return parseHfConfig(text, file);
}

/** Load a model from an HF folder or a llama2.c `.bin` file. */
export function loadModel(modelPath: string): Model {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(modelPath);
  } catch {
    throw new ModelConfigError(modelPath, 'model path not found (expected a Hugging Face model folder or a llama2.c .bin file)');
  }
  if (stat.isDirectory()) {
    const config = readHfConfig(modelPath);
    const { tensors } = readSafetensorsModel(modelPath);
    return modelFromTensors(config, tensors, modelPath, 'hf');
  }
  const ckpt = readLlama2cCheckpoint(modelPath);
  return modelFromTensors(llama2cConfig(ckpt.config), ckpt.tensors, modelPath, 'llama2c');
}

/**
 * Random weights (normal, std 0.02; norm gains neutral: 1, or 0 for Gemma's (1 + w) norms; biases 0), seeded. For
 * tests, benchmarks and training from scratch.
 */
export function randomModel(config: ModelConfig, seed: number, std = 0.02): Model {
  checkMemory(`random model (${config.nLayers} layers, hidden ${config.hiddenSize})`, estimateModelBytes(config, false));
  const rng = new Rng(seed);
  const tensors = new Map<string, HostTensor>();
  for (const s of paramSpecs(config)) {
    const n = s.diskShape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNorm = s.diskShape.length === 1 && /(ln_|layernorm|norm)/.test(s.name) && s.name.endsWith('weight');
    const isBias = s.name.endsWith('bias');
    const gain = config.normPlusOne && config.arch !== 'gpt2' ? 0 : 1;
    for (let i = 0; i < n; i++) data[i] = isNorm ? gain : isBias ? 0 : rng.normal() * std;
    tensors.set(s.name, { shape: s.diskShape, data });
  }
  return modelFromTensors(config, tensors, `random(seed=${seed})`, 'hf');
}

/**
 * Mark which parameters train. tf.variableGrads only differentiates trainable variables, and frozen ones cost
 * no gradient memory. Returns the trainable variables in a stable order.
 */
export function setTrainable(model: Model, which: 'all' | 'none' | ((name: string) => boolean)): tf.Variable[] {
  const out: tf.Variable[] = [];
  for (const [name, v] of model.params) {
    v.trainable = which === 'all' ? true : which === 'none' ? false : which(name);
    if (v.trainable) out.push(v);
  }
  return out;
}
