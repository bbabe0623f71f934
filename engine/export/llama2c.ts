/**
 * A (tuned) model from a llama2.c source written back as a llama2.c "version 0" checkpoint, the `.bin` that
 * llama2.c's `run` reads (`./run model.bin -z tokenizer.bin`): the 7-int32 header (vocab_size negative when the
 * classifier is not the embedding), then the f32 arrays in run.c's memory_map_weights order (token embedding,
 * rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, the legacy freq_cis tables, wcls when unshared). The q/k
 * rows go back from HF's rotate_half order to llama2.c's interleaved pairs (permuteHfToLlama2c), the inverse of the
 * loader (engine/io/llama2c.ts), so an untouched model writes its source file's weights bit for bit. The
 * freq_cis tables (which run.c skips) are written as llama2.c's export.py computes them, in float32.
 *
 * Non-goals: the versioned exports ("ak42", int8), models that are not llama2.c-shaped (GQA is fine; biases,
 * other RoPE bases or norms are not representable and are refused).
 */

import type { ModelConfig } from '../../model/config';
import { permuteHfToLlama2c } from '../io/llama2c';
import type { HostTensor } from '../model/load';
import { ExportError, writeFileAtomic } from './atomic';

/** Writes `tensors` (HF names and layouts, from modelToTensors) of a llama2.c-shaped model to `file`, atomically. */
export function writeLlama2cCheckpoint(file: string, config: ModelConfig, tensors: ReadonlyMap<string, HostTensor>): void {
  if (config.arch !== 'llama' || config.attentionBias || config.mlpBias || config.ropeTheta !== 10000 || config.ropeScaling !== undefined) {
    throw new ExportError(
      file,
      `${file}: this model has no llama2.c form (llama2.c holds Llama models without biases, with RoPE base 10000 and no RoPE scaling).`,
    );
  }
  const { hiddenSize: dim, intermediateSize: hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxPositions: seqLen } = config;
  const headSize = dim / nHeads;
  if (config.headDim !== headSize) throw new ExportError(file, `${file}: llama2.c needs head_dim = hidden_size / heads (${headSize}), not ${config.headDim}.`);
  const get = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (t === undefined) throw new ExportError(file, `${file}: the model has no tensor ${name}.`);
    return t.data;
  };
  const layers = (suffix: string, f: (data: Float32Array) => Float32Array = (d) => d) =>
    Array.from({ length: nLayers }, (_, l) => f(get(`model.layers.${l}.${suffix}`)));
  const header = new Int32Array([dim, hiddenDim, nLayers, nHeads, nKvHeads, config.tieWordEmbeddings ? vocabSize : -vocabSize, seqLen]);
  // export.py's precompute_freqs_cis, in float32: freqs[i] = 1 / 10000^(2i / head_size), angle = t * freqs[i].
  const half = headSize / 2;
  const cos = new Float32Array(seqLen * half);
  const sin = new Float32Array(seqLen * half);
  for (let i = 0; i < half; i++) {
    const freq = Math.fround(1 / Math.fround(Math.pow(10000, Math.fround((2 * i) / headSize))));
    for (let t = 0; t < seqLen; t++) {
      const angle = Math.fround(t * freq);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  const arrays: Float32Array[] = [
    get('model.embed_tokens.weight'),
    ...layers('input_layernorm.weight'),
    ...layers('self_attn.q_proj.weight', (d) => permuteHfToLlama2c(d, nHeads, headSize, dim)),
    ...layers('self_attn.k_proj.weight', (d) => permuteHfToLlama2c(d, nKvHeads, headSize, dim)),
    ...layers('self_attn.v_proj.weight'),
    ...layers('self_attn.o_proj.weight'),
    ...layers('post_attention_layernorm.weight'),
    ...layers('mlp.gate_proj.weight'),
    ...layers('mlp.down_proj.weight'),
    ...layers('mlp.up_proj.weight'),
    get('model.norm.weight'),
    cos,
    sin,
    ...(config.tieWordEmbeddings ? [] : [get('lm_head.weight')]),
  ];
  // Little-endian, as run.c reads it on every platform Node runs on.
  writeFileAtomic(
    file,
    [header, ...arrays].map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)),
  );
}
