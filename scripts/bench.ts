/**
 * Engine benchmark (a script, not a test): prints a table of forward, forward+backward and train-step
 * throughput, peak RSS and tensor-count drift, for stories260K and for a GPT-2-small-shaped stack
 * (d 768, 12 heads, MLP 3072, 2 blocks, seq 128, batch 4, random weights; vocab 256 so the LM head does not
 * dominate, matching the "block stack" of ../shared/docs/BACKENDS.md), plus perplexity throughput.
 * Where Debian's python3-torch is installed, the same stack runs in PyTorch for a ratio.
 *
 * Usage: npm run bench [-- --backend wasm --steps 5]
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
import { normalizeHfConfig } from '../model/config';
import { forward, type Model } from '../engine/model/forward';
import { loadModel, randomModel, setTrainable } from '../engine/model/load';
import { nextTokenLoss } from '../engine/model/loss';
import { AdamW } from '../engine/train/adamw';
import { Rng } from '../engine/util/random';

interface Row {
  workload: string;
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

async function timeIt(n: number, f: () => Promise<void>): Promise<number> {
  await f(); // warm-up (kernel compilation, XNNPACK packing)
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
    sampleRss();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

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

function torchRatio(stepsArg: number): string | undefined {
  const py = '/usr/bin/python3';
  if (!fs.existsSync(py)) return undefined;
  const probe = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) return undefined;
  const script = `
import time, torch, torch.nn.functional as F
torch.manual_seed(0)
d, h, f, B, T, L, V = 768, 12, 3072, 4, 128, 2, 256
emb = torch.nn.Embedding(V, d); pos = torch.nn.Embedding(T, d)
blocks = [dict(ln1=torch.nn.LayerNorm(d), qkv=torch.nn.Linear(d, 3*d), proj=torch.nn.Linear(d, d), ln2=torch.nn.LayerNorm(d), fc=torch.nn.Linear(d, f), out=torch.nn.Linear(f, d)) for _ in range(L)]
lnf = torch.nn.LayerNorm(d)
params = list(emb.parameters()) + list(pos.parameters()) + [p for b in blocks for m in b.values() for p in m.parameters()] + list(lnf.parameters())
ids = torch.randint(0, V, (B, T))
mask = torch.triu(torch.full((T, T), float('-inf')), 1)
def fwd():
    x = emb(ids) + pos(torch.arange(T))
    for b in blocks:
        q, k, v = b['qkv'](b['ln1'](x)).split(d, -1)
        q, k, v = [t.view(B, T, h, d//h).transpose(1, 2) for t in (q, k, v)]
        a = torch.softmax(q @ k.transpose(-1, -2) / (d//h)**0.5 + mask, -1) @ v
        x = x + b['proj'](a.transpose(1, 2).reshape(B, T, d))
        x = x + b['out'](F.gelu(b['fc'](b['ln2'](x)), approximate='tanh'))
    logits = lnf(x) @ emb.weight.T
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
def med(fn, n):
    fn(); ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts)//2] * 1000
with torch.no_grad(): f_ms = med(fwd, ${stepsArg})
def fb():
    for p in params: p.grad = None
    fwd().backward()
print(f"{torch.__version__} {torch.get_num_threads()} {f_ms:.1f} {med(fb, ${stepsArg}):.1f}")
`;
  const r = spawnSync(py, ['-c', script], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { backend: { type: 'string' }, steps: { type: 'string' }, threads: { type: 'string' } } });
  const steps = Number(values.steps ?? 5);
  const info = await initBackend((values.backend ?? 'wasm') as BackendPreference, {
    ...backendOptionsFromEnv(process.env),
    threads: Number(values.threads ?? process.env['RTUNE_WASM_THREADS'] ?? 1),
  });
  const rows: Row[] = [];
  const shared = path.resolve(__dirname, '..', '..', '..', 'shared', 'data');
  const storiesPath = path.join(shared, 'llama2c-stories260K', 'stories260K.bin');
  let pplLine = '';
  if (fs.existsSync(storiesPath)) {
    const stories = loadModel(storiesPath);
    rows.push(await benchModel('stories260K (B 8 x T 256)', stories, 8, 256, steps));
    const ids = Array.from({ length: 8192 }, (_, i) => (i * 31 + 7) % 512);
    const t = performance.now();
    const r = await perplexity(stories, ids, { maxLength: 256, stride: 128, batch: 8 });
    const s = (performance.now() - t) / 1000;
    pplLine = `perplexity stories260K, 8,192 tokens, max_length 256, stride 128, batch 8: ${(r.scoredTokens / s).toFixed(0)} scored tok/s (${s.toFixed(1)} s)`;
    stories.dispose();
  }
  const gpt2Stack = normalizeHfConfig({ model_type: 'gpt2', vocab_size: 256, n_embd: 768, n_layer: 2, n_head: 12, n_positions: 128 }, 'bench');
  const stack = randomModel(gpt2Stack, 1);
  rows.push(await benchModel('GPT-2-small stack, 2 blocks (B 4 x T 128)', stack, 4, 128, steps));
  stack.dispose();

  const fmt = (ms: number, tok: number) => `${ms.toFixed(0)} ms (${((tok / ms) * 1000).toFixed(0)} tok/s)`;
  const lines = [
    `machine: ${os.cpus()[0]?.model ?? 'cpu'} x ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}; backend ${info.backend}: ${info.device}`,
    '',
    '| workload | forward | forward+backward | train step (AdamW) | tensor drift/step | peak RSS |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.workload} | ${fmt(r.fwdMs, r.tokens)} | ${fmt(r.fwdBwdMs, r.tokens)} | ${fmt(r.trainMs, r.tokens)} | ${r.drift} | ${r.rssMb.toFixed(0)} MB |`,
    ),
    '',
    pplLine,
  ];
  const torch = torchRatio(steps);
  const stackRow = rows[rows.length - 1] as Row;
  if (torch) {
    const [ver, threads, f, fb] = torch.split(' ');
    lines.push(
      `PyTorch ${ver} (${threads} threads), same stack: forward ${f} ms, forward+backward ${fb} ms; ` +
        `rtune/PyTorch forward+backward ratio ${(stackRow.fwdBwdMs / Number(fb)).toFixed(1)}x`,
    );
  } else {
    lines.push('PyTorch: not measured (install Debian python3-torch and libopenblas0-pthread for the ratio)');
  }
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
