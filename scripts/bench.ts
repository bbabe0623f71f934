/**
 * Engine benchmark (a script, not a test): prints a table of forward, forward+backward and train-step
 * throughput, peak RSS and tensor-count drift, for stories260K and for a GPT-2-small-shaped stack
 * (d 768, 12 heads, MLP 3072, 2 blocks, seq 128, batch 4, random weights; vocab 256 so the LM head does not
 * dominate, matching the "block stack" of ../shared/docs/BACKENDS.md), plus perplexity throughput.
 * Where Debian's python3-torch is installed, both workloads run in PyTorch (scripts/bench-torch.py) at the same
 * thread count, for the ratios. On wasm the matmuls run on the native BLAS addon where it is built
 * (engine/native-matmul.ts; RTUNE_NATIVE_BLAS=0 for wasm's own). --profile adds kernel times of one forward+backward.
 *
 * Usage: npm run bench [-- --backend wasm --steps 5 --threads 2 --profile]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendPreference } from '../engine/backend';
import { backendOptionsFromEnv } from '../job/backend-env';
import { perplexity } from '../engine/eval/perplexity';
import { normalizeHfConfig, type ModelConfig } from '../model/config';
import { forward, type Model } from '../engine/model/forward';
import { loadModel, randomModel, setTrainable } from '../engine/model/load';
import { nextTokenLoss } from '../engine/model/loss';
import { AdamW } from '../engine/train/adamw';
import { Rng } from '../engine/util/random';
import { medianMs } from './bench-timing';

interface Row {
  workload: string;
  torch?: Torch;
  fwdMs: number;
  fwdBwdMs: number;
  trainMs: number;
  tokens: number;
  drift: number;
  rssMb: number;
}

let peakRss = 0;
function sampleRss(): void {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}

const timeIt = (n: number, f: () => Promise<void>): Promise<number> => medianMs(n, f, sampleRss);

async function benchModel(name: string, model: Model, batch: number, seq: number, steps: number): Promise<Row> {
  const rng = new Rng(1);
  const ids = Array.from({ length: batch }, () => Array.from({ length: seq }, () => rng.int(model.config.vocabSize)));
  const vars = setTrainable(model, 'all');
  const fwd = await timeIt(steps, async () => {
    const l = tf.tidy(() => forward(model, ids).logits as tf.Tensor);
    await l.data();
    l.dispose();
  });
  const fb = await timeIt(steps, async () => {
    const { value, grads } = tf.variableGrads(() => nextTokenLoss(forward(model, ids).logits as tf.Tensor3D, ids), vars);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  });
  const opt = new AdamW([{ name: 'all', vars, weightDecay: 0.01 }]);
  const trainStep = async (): Promise<void> => {
    const { value, grads } = tf.variableGrads(() => nextTokenLoss(forward(model, ids).logits as tf.Tensor3D, ids), vars);
    opt.apply(grads, 1e-4);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  };
  const train = await timeIt(steps, trainStep);
  const before = tf.memory().numTensors;
  await trainStep();
  await trainStep();
  const drift = (tf.memory().numTensors - before) / 2;
  opt.dispose();
  setTrainable(model, 'none');
  return { workload: name, fwdMs: fwd, fwdBwdMs: fb, trainMs: train, tokens: batch * seq, drift, rssMb: peakRss / 2 ** 20 };
}

interface Torch {
  version: string;
  threads: number;
  fwdMs: number;
  fwdBwdMs: number;
  trainMs: number;
}

/** The same workload in PyTorch (scripts/bench-torch.py) at `threads` threads, where Debian's python3-torch is installed. */
/** Kernel time by kernel name for one forward+backward of `model` (tf.profile; wasm kernels are synchronous, so wall time). */
async function profile(model: Model, batch: number, seq: number): Promise<string> {
  const rng = new Rng(2);
  const ids = Array.from({ length: batch }, () => Array.from({ length: seq }, () => rng.int(model.config.vocabSize)));
  const vars = setTrainable(model, 'all');
  const info = await tf.profile(async () => {
    const { value, grads } = tf.variableGrads(() => nextTokenLoss(forward(model, ids).logits as tf.Tensor3D, ids), vars);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  });
  setTrainable(model, 'none');
  const by = new Map<string, number>();
  for (const k of info.kernels) by.set(k.name, (by.get(k.name) ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  const top = [...by].sort((a, b) => b[1] - a[1]).slice(0, 8);
  return `kernel time ${total.toFixed(0)} ms: ` + top.map(([n, ms]) => `${n} ${ms.toFixed(0)} ms (${((100 * ms) / total).toFixed(0)}%)`).join(', ');
}

function torchBench(config: ModelConfig, batch: number, seq: number, steps: number, threads: number): Torch | undefined {
  const py = '/usr/bin/python3';
  const script = path.resolve(__dirname, '..', '..', 'scripts', 'bench-torch.py');
  if (!fs.existsSync(py) || !fs.existsSync(script)) return undefined;
  const arch = config.arch === 'gpt2' ? 'gpt2' : 'llama';
  const c = config;
  const args = [c.hiddenSize, c.nHeads, c.nKvHeads, c.intermediateSize, c.nLayers, c.vocabSize, batch, seq, steps, threads].map(String);
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const r = spawnSync(py, [script, arch, ...args], { encoding: 'utf8', env });
  if (r.status !== 0) return undefined;
  const [version, t, f, fb, tr] = r.stdout.trim().split(' ');
  return { version: version ?? '?', threads: Number(t), fwdMs: Number(f), fwdBwdMs: Number(fb), trainMs: Number(tr) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { backend: { type: 'string' }, steps: { type: 'string' }, threads: { type: 'string' }, profile: { type: 'boolean' } },
  });
  const steps = Number(values.steps ?? 5);
  const info = await initBackend((values.backend ?? 'wasm') as BackendPreference, {
    ...backendOptionsFromEnv(process.env),
    threads: Number(values.threads ?? process.env['RTUNE_WASM_THREADS'] ?? 1),
  });
  const rows: Row[] = [];
  const shared = path.resolve(__dirname, '..', '..', '..', 'shared', 'data');
  const storiesPath = path.join(shared, 'llama2c-stories260K', 'stories260K.bin');
  let pplLine = '';
  const profiles: string[] = [];
  if (fs.existsSync(storiesPath)) {
    const stories = loadModel(storiesPath);
    if (values.profile) profiles.push(`profile, stories260K forward+backward: ${await profile(stories, 8, 256)}`);
    rows.push({ ...(await benchModel('stories260K (B 8 x T 256)', stories, 8, 256, steps)), torch: torchBench(stories.config, 8, 256, steps, info.threads) });
    const ids = Array.from({ length: 8192 }, (_, i) => (i * 31 + 7) % 512);
    const t = performance.now();
    const r = await perplexity(stories, ids, { maxLength: 256, stride: 128, batch: 8 });
    const s = (performance.now() - t) / 1000;
    pplLine = `perplexity stories260K, 8,192 tokens, max_length 256, stride 128, batch 8: ${(r.scoredTokens / s).toFixed(0)} scored tok/s (${s.toFixed(1)} s)`;
    stories.dispose();
  }
  const gpt2Stack = normalizeHfConfig({ model_type: 'gpt2', vocab_size: 256, n_embd: 768, n_layer: 2, n_head: 12, n_positions: 128 }, 'bench');
  const stack = randomModel(gpt2Stack, 1);
  if (values.profile) profiles.push(`profile, GPT-2-small stack forward+backward: ${await profile(stack, 4, 128)}`);
  rows.push({
    ...(await benchModel('GPT-2-small stack, 2 blocks (B 4 x T 128)', stack, 4, 128, steps)),
    torch: torchBench(gpt2Stack, 4, 128, steps, info.threads),
  });
  stack.dispose();

  const fmt = (ms: number, tok: number) => `${ms.toFixed(0)} ms (${((tok / ms) * 1000).toFixed(0)} tok/s)`;
  const ratio = (ours: number, theirs: number | undefined) => (theirs ? `${(ours / theirs).toFixed(2)}x` : '-');
  const torchVersion = rows.find((r) => r.torch)?.torch;
  const lines = [
    `machine: ${os.cpus()[0]?.model ?? 'cpu'} x ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg()[0]?.toFixed(1)}; ` +
      `node ${process.version}; backend ${info.backend}: ${info.device}`,
    torchVersion
      ? `PyTorch ${torchVersion.version} on CPU at ${torchVersion.threads} thread${torchVersion.threads === 1 ? '' : 's'} (the same thread count)`
      : 'PyTorch: not measured (install Debian python3-torch and libopenblas0-pthread for the ratios)',
    '',
    '| workload | forward | forward+backward | train step (AdamW) | PyTorch fwd / fwd+bwd / train | rtune/PyTorch fwd+bwd | rtune/PyTorch train | tensor drift/step | peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => {
      const t = r.torch;
      const torchCell = t ? `${t.fwdMs.toFixed(0)} / ${t.fwdBwdMs.toFixed(0)} / ${t.trainMs.toFixed(0)} ms` : '-';
      return (
        `| ${r.workload} | ${fmt(r.fwdMs, r.tokens)} | ${fmt(r.fwdBwdMs, r.tokens)} | ${fmt(r.trainMs, r.tokens)} | ${torchCell} | ` +
        `${ratio(r.fwdBwdMs, t?.fwdBwdMs)} | ${ratio(r.trainMs, t?.trainMs)} | ${r.drift} | ${r.rssMb.toFixed(0)} MB |`
      );
    }),
    '',
    pplLine,
    ...profiles,
  ];
  console.log(lines.join('\n'));
}

// Exit explicitly: wasm pthread workers keep the event loop alive.
main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
