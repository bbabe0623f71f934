/**
 * GPU benchmark for a lent GPU machine (a script, not a test; nothing here is asserted). Bundled with its runtime
 * by `node scripts/device-pack.mjs` into `.device/` (that machine has no network and no node_modules), run there by
 * `scripts/device-check.sh`, which adds PyTorch CUDA's numbers for the same shapes when PyTorch is installed.
 *
 * Workloads (random weights, fp32): a GPT-2-small-shaped model (12 layers, d 768, vocab 50257) and a
 * Qwen2-0.5B-shaped one (24 layers, d 896, GQA 14/2, SwiGLU 4864, vocab 151936, 494M parameters). For each:
 * forward, forward+backward of every parameter, and a tuning step (AdamW on the MLP down and attention output
 * projections of two middle layers, as a representation-tuning run trains), as median ms and tokens/s, with the
 * backend's peak memory. A correctness line: stories260K's perplexity on fixed tokens, to compare across backends
 * (the float64 reference for the test suite's sequence lives in test/engine/stories260k.test.ts).
 *
 * Usage: node device-bench.js --backend webgpu|wasm [--workloads gpt2-12,qwen2-0.5b] [--steps 5] [--stories PATH] [--json]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendPreference } from '../engine/backend';
import { describeAdapter, requestWebgpuAdapter } from '../engine/webgpu';
import { perplexity } from '../engine/eval/perplexity';
import { normalizeHfConfig } from '../model/config';
import { parameterCount } from '../model/params';
import { forward, type Model } from '../engine/model/forward';
import { loadModel, randomModel, setTrainable } from '../engine/model/load';
import { nextTokenLoss } from '../engine/model/loss';
import { AdamW } from '../engine/train/adamw';
import { Rng } from '../engine/util/random';
import { medianMs } from './bench-timing';

/** The shapes, as Hugging Face config.json fields (the same ones device-check.sh gives PyTorch). */
export const WORKLOADS: Record<string, { hf: Record<string, unknown>; batch: number; seq: number; tuned: (name: string, nLayers: number) => boolean }> = {
  // A smoke test of the script itself (seconds on a CPU).
  tiny: {
    hf: { model_type: 'gpt2', vocab_size: 512, n_embd: 64, n_layer: 4, n_head: 4, n_positions: 128 },
    batch: 2,
    seq: 64,
    tuned: (n, L) => middle(n, L) && /\.(mlp\.c_proj|attn\.c_proj)\./.test(n),
  },
  'gpt2-12': {
    hf: { model_type: 'gpt2', vocab_size: 50257, n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024 },
    batch: 4,
    seq: 256,
    tuned: (n, L) => middle(n, L) && /\.(mlp\.c_proj|attn\.c_proj)\./.test(n),
  },
  'qwen2-0.5b': {
    hf: {
      model_type: 'qwen2',
      vocab_size: 151936,
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      max_position_embeddings: 32768,
      rope_theta: 1000000,
      rms_norm_eps: 1e-6,
      tie_word_embeddings: true,
    },
    batch: 4,
    seq: 256,
    tuned: (n, L) => middle(n, L) && /\.(mlp\.down_proj|self_attn\.o_proj)\./.test(n),
  },
};

/** Two middle layers' parameters (`.h.N.` for GPT-2, `.layers.N.` for the Llama family). */
function middle(name: string, nLayers: number): boolean {
  const m = /\.(?:h|layers)\.(\d+)\./.exec(name);
  if (!m) return false;
  const i = Number(m[1]);
  return i === Math.floor(nLayers / 2) - 1 || i === Math.floor(nLayers / 2);
}

interface Result {
  workload: string;
  params: number;
  tokens: number;
  fwdMs?: number;
  fwdBwdMs?: number;
  tuneMs?: number;
  peakGpuMiB?: number;
  rssMiB: number;
  error?: string;
}

let peakBytes = 0;
function sampleMemory(): void {
  const m = tf.memory() as { numBytesAllocatedInGPU?: number; numBytesInGPU?: number; numBytes: number };
  peakBytes = Math.max(peakBytes, m.numBytesAllocatedInGPU ?? m.numBytesInGPU ?? m.numBytes);
}

async function bench(name: string, steps: number): Promise<Result> {
  const w = WORKLOADS[name];
  if (!w) throw new Error(`unknown workload ${name}; use ${Object.keys(WORKLOADS).join(', ')}`);
  const config = normalizeHfConfig(w.hf, name);
  const out: Result = { workload: `${name} (B ${w.batch} x T ${w.seq})`, params: parameterCount(config), tokens: w.batch * w.seq, rssMiB: 0 };
  peakBytes = 0;
  let model: Model | undefined;
  try {
    model = randomModel(config, 1);
    const rng = new Rng(1);
    const ids = Array.from({ length: w.batch }, () => Array.from({ length: w.seq }, () => rng.int(config.vocabSize)));
    const m = model;
    out.fwdMs = await medianMs(
      steps,
      async () => {
        const l = tf.tidy(() => forward(m, ids).logits as tf.Tensor);
        await l.data();
        l.dispose();
      },
      sampleMemory,
    );
    const all = setTrainable(m, 'all');
    out.fwdBwdMs = await medianMs(
      steps,
      async () => {
        const { value, grads } = tf.variableGrads(() => nextTokenLoss(forward(m, ids).logits as tf.Tensor3D, ids), all);
        await value.data();
        tf.dispose([value, ...Object.values(grads)]);
      },
      sampleMemory,
    );
    const tuned = setTrainable(m, (n) => w.tuned(n, config.nLayers));
    if (tuned.length === 0) throw new Error('no tuned parameters matched (parameter names changed?)');
    const opt = new AdamW([{ name: 'tuned', vars: tuned, weightDecay: 0 }]);
    out.tuneMs = await medianMs(
      steps,
      async () => {
        const { value, grads } = tf.variableGrads(() => nextTokenLoss(forward(m, ids).logits as tf.Tensor3D, ids), tuned);
        opt.apply(grads, 1e-4);
        await value.data();
        tf.dispose([value, ...Object.values(grads)]);
      },
      sampleMemory,
    );
    opt.dispose();
    setTrainable(m, 'none');
  } catch (e) {
    out.error = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  } finally {
    model?.dispose();
  }
  out.peakGpuMiB = peakBytes / 2 ** 20;
  out.rssMiB = process.memoryUsage().rss / 2 ** 20;
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { backend: { type: 'string' }, workloads: { type: 'string' }, steps: { type: 'string' }, stories: { type: 'string' }, json: { type: 'boolean' } },
  });
  const info = await initBackend((values.backend ?? 'webgpu') as BackendPreference, { threads: os.cpus().length });
  const steps = Number(values.steps ?? 5);
  const lines: string[] = [`backend ${info.backend}: ${info.device}; node ${process.version}; ${os.cpus()[0]?.model ?? 'cpu'} x ${os.cpus().length}`];
  if (info.notes.length > 0) lines.push(`notes: ${info.notes.join('; ')}`);
  if (info.backend === 'webgpu') {
    const a = await requestWebgpuAdapter([], []);
    if (a) lines.push(`adapter limits: ${JSON.stringify(describeAdapter(a.adapter).limits)}`);
  }
  let ppl: number | undefined;
  if (values.stories && fs.existsSync(values.stories)) {
    const stories = loadModel(values.stories);
    const ids = Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) % 512);
    ppl = (await perplexity(stories, ids, { maxLength: 256, stride: 128, batch: 8 })).perplexity;
    stories.dispose();
    lines.push(`stories260K perplexity of a fixed synthetic 4,096-token sequence (compare across backends): ${ppl.toPrecision(10)}`);
  }
  const results: Result[] = [];
  for (const name of (values.workloads ?? 'gpt2-12,qwen2-0.5b').split(',')) results.push(await bench(name, steps));
  if (values.json) {
    console.log(JSON.stringify({ backend: info, perplexity: ppl, results }));
    return;
  }
  const cell = (ms: number | undefined, tok: number) => (ms === undefined ? '—' : `${ms.toFixed(0)} ms (${((tok / ms) * 1000).toFixed(0)} tok/s)`);
  lines.push(
    '',
    '| workload | params | forward | forward+backward | tuning step | peak backend memory | RSS | error |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const r of results) {
    lines.push(
      `| ${r.workload} | ${(r.params / 1e6).toFixed(1)}M | ${cell(r.fwdMs, r.tokens)} | ${cell(r.fwdBwdMs, r.tokens)} | ${cell(r.tuneMs, r.tokens)} | ` +
        `${(r.peakGpuMiB ?? 0).toFixed(0)} MiB | ${r.rssMiB.toFixed(0)} MiB | ${r.error ?? ''} |`,
    );
  }
  console.log(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
