/**
 * llama2.c checkpoint loader: the real stories260K.bin (config, HF names and shapes, and a float64 HF-layout forward
 * pass with rotate_half RoPE that must reproduce the golden top-5 logits, which checks the q/k permutation end to
 * end), the permutation itself, synthetic checkpoints with a separate classifier, and the error cases.
 */

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

import {
  CheckpointError,
  CheckpointErrorKind,
  permuteHfToLlama2c,
  permuteLlama2cToHf,
  readLlama2cCheckpoint,
  readLlama2cHeader,
} from '../../../engine/io/llama2c';
import { Llama2cConfig, llama2cFloatCount } from '../../../model/llama2c';

const REPO_ROOT = path.resolve(__dirname, '../../../..');
const DATA = process.env.RTUNE_SHARED_DATA ?? path.resolve(REPO_ROOT, '../shared/data');
const STORIES = path.join(DATA, 'llama2c-stories260K');
const CHECKPOINT = path.join(STORIES, 'stories260K.bin');
const missingData = fs.existsSync(CHECKPOINT) ? false : `missing ${CHECKPOINT}`;

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-llama2c-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

function expectError(fn: () => unknown, kind: CheckpointErrorKind, file: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CheckpointError, `expected CheckpointError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.ok(err.message.includes(path.basename(file)), err.message);
    assert.equal(err.file, file);
    return true;
  });
}

/** A synthetic checkpoint whose floats are 0, 1, 2, ... so every value tells where it came from. */
function writeSynthetic(name: string, header: number[], floats?: number): string {
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = header;
  const config: Llama2cConfig = {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: Math.abs(vocab),
    seqLen,
    sharedClassifier: vocab > 0,
  };
  const count = floats ?? llama2cFloatCount(config);
  const body = new Float32Array(count).map((_, i) => i);
  const file = path.join(tmpRoot, name);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(new Int32Array(header).buffer), Buffer.from(body.buffer)]));
  return file;
}

describe('stories260K.bin', { skip: missingData }, () => {
  test('config and HF tensor names/shapes', () => {
    const { config, tensors } = readLlama2cCheckpoint(CHECKPOINT);
    assert.deepEqual(config, {
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
      sharedClassifier: true,
    });
    assert.deepEqual(readLlama2cHeader(CHECKPOINT), config);
    assert.equal(tensors.size, 1 + 5 * 9 + 1);
    assert.equal(tensors.has('lm_head.weight'), false);
    const shapes = Object.fromEntries([...tensors].map(([name, t]) => [name, t.shape]));
    assert.deepEqual(shapes['model.embed_tokens.weight'], [512, 64]);
    assert.deepEqual(shapes['model.norm.weight'], [64]);
    for (let layer = 0; layer < 5; layer++) {
      const p = `model.layers.${layer}`;
      assert.deepEqual(shapes[`${p}.input_layernorm.weight`], [64]);
      assert.deepEqual(shapes[`${p}.post_attention_layernorm.weight`], [64]);
      assert.deepEqual(shapes[`${p}.self_attn.q_proj.weight`], [64, 64]);
      assert.deepEqual(shapes[`${p}.self_attn.k_proj.weight`], [32, 64]);
      assert.deepEqual(shapes[`${p}.self_attn.v_proj.weight`], [32, 64]);
      assert.deepEqual(shapes[`${p}.self_attn.o_proj.weight`], [64, 64]);
      assert.deepEqual(shapes[`${p}.mlp.gate_proj.weight`], [172, 64]);
      assert.deepEqual(shapes[`${p}.mlp.up_proj.weight`], [172, 64]);
      assert.deepEqual(shapes[`${p}.mlp.down_proj.weight`], [64, 172]);
    }
    let total = 0;
    for (const [name, t] of tensors) {
      assert.equal(
        t.data.length,
        t.shape.reduce((a, b) => a * b, 1),
        name,
      );
      assert.ok(t.data.every(Number.isFinite), name);
      total += t.data.length;
    }
    assert.equal(total, 260_032); // PROVENANCE.md: stored floats excluding the RoPE tables
  });

  test('an HF-layout float64 forward pass reproduces the golden logits after "Once upon a time"', () => {
    const golden = JSON.parse(fs.readFileSync(path.join(STORIES, 'golden_numpy_reference.json'), 'utf8')) as {
      encode_examples: Record<string, number[]>;
      logits_after_bos_top5: Array<[number, number]>;
      logits_after_prompt_once_upon_a_time_top5: Array<[number, number]>;
    };
    const checkpoint = readLlama2cCheckpoint(CHECKPOINT);
    const check = (tokens: number[], expected: Array<[number, number]>): void => {
      const logits = hfLlamaForwardLast(checkpoint, tokens);
      const top = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, 5);
      assert.deepEqual(
        top,
        expected.map(([id]) => id),
      );
      for (const [id, value] of expected) assert.ok(Math.abs(logits[id] - value) < 1e-3, `logit ${id}: ${logits[id]} vs ${value}`);
    };
    check([1], golden.logits_after_bos_top5);
    check(golden.encode_examples['Once upon a time'], golden.logits_after_prompt_once_upon_a_time_top5);
  });
});

describe('RoPE permutation', () => {
  const nHeads = 3;
  const headSize = 8;
  const cols = 2;
  const rows = nHeads * headSize;
  // Each row holds (row, row + 0.5) so a permuted matrix shows where every row went.
  const weight = new Float32Array(rows * cols).map((_, i) => Math.floor(i / cols) + (i % cols) * 0.5);

  test('row j*2+p of each head moves to p*(headSize/2)+j', () => {
    const hf = permuteLlama2cToHf(weight, nHeads, headSize, cols);
    const half = headSize / 2;
    for (let h = 0; h < nHeads; h++) {
      for (let j = 0; j < half; j++) {
        for (let p = 0; p < 2; p++) {
          const target = h * headSize + p * half + j;
          assert.equal(hf[target * cols], h * headSize + 2 * j + p);
          assert.equal(hf[target * cols + 1], h * headSize + 2 * j + p + 0.5);
        }
      }
    }
  });

  test('is a bijection and the inverse restores the original', () => {
    const hf = permuteLlama2cToHf(weight, nHeads, headSize, cols);
    const sources = new Set<number>();
    for (let r = 0; r < rows; r++) sources.add(hf[r * cols]);
    assert.equal(sources.size, rows);
    assert.deepEqual(permuteHfToLlama2c(hf, nHeads, headSize, cols), weight);
    assert.deepEqual(permuteLlama2cToHf(permuteHfToLlama2c(weight, nHeads, headSize, cols), nHeads, headSize, cols), weight);
    assert.notDeepEqual(hf, weight);
  });

  test('interleaved RoPE on llama2.c rows equals rotate_half RoPE on HF rows', () => {
    const dim = 5;
    const w = new Float32Array(rows * dim).map((_, i) => Math.sin(i * 1.7));
    const x = [0.3, -1.2, 0.7, 2.0, -0.4];
    const pos = 7;
    const project = (m: Float32Array): number[] => Array.from({ length: rows }, (_, r) => x.reduce((acc, xv, c) => acc + m[r * dim + c] * xv, 0));
    const interleaved = ropeInterleaved(project(w), headSize, pos);
    const rotateHalf = ropeRotateHalf(project(permuteLlama2cToHf(w, nHeads, headSize, dim)), headSize, pos);
    // Applying the row permutation to the interleaved result must give the rotate_half result.
    const expected = permuteLlama2cToHf(Float32Array.from(interleaved), nHeads, headSize, 1);
    rotateHalf.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `${i}: ${v} vs ${expected[i]}`));
  });

  test('rejects odd head sizes and wrong lengths', () => {
    assert.throws(() => permuteLlama2cToHf(new Float32Array(6), 2, 3, 1), /even head size/);
    assert.throws(() => permuteLlama2cToHf(new Float32Array(7), 2, 4, 1), /expected 2×4×1/);
  });
});

describe('synthetic checkpoints', () => {
  test('negative vocab_size: separate classifier at the end after the skipped RoPE tables', () => {
    // dim 4, hidden 6, 1 layer, 2 heads (head size 2), 1 kv head, vocab -3 (separate classifier), seq 5.
    const file = writeSynthetic('separate.bin', [4, 6, 1, 2, 1, -3, 5]);
    const { config, tensors } = readLlama2cCheckpoint(file);
    assert.equal(config.sharedClassifier, false);
    assert.equal(config.vocabSize, 3);
    const embedding = tensors.get('model.embed_tokens.weight');
    assert.deepEqual(
      embedding?.data,
      new Float32Array(12).map((_, i) => i),
    );
    const lmHead = tensors.get('lm_head.weight');
    assert.deepEqual(lmHead?.shape, [3, 4]);
    const total = llama2cFloatCount(config);
    assert.deepEqual(
      lmHead?.data,
      new Float32Array(12).map((_, i) => total - 12 + i),
    );
    // Layout: emb 12, rms_att 4, wq 16, wk 8: k_proj (1 kv head of size 2) rows swap nothing (half = 1).
    assert.deepEqual(tensors.get('model.layers.0.input_layernorm.weight')?.data, new Float32Array([12, 13, 14, 15]));
    assert.deepEqual(tensors.get('model.layers.0.self_attn.q_proj.weight')?.data.slice(0, 4), new Float32Array([16, 17, 18, 19]));
    const norm = tensors.get('model.norm.weight');
    assert.deepEqual(
      norm?.data,
      new Float32Array(4).map((_, i) => total - 12 - 2 * 5 - 4 + i),
    );
  });

  test('q/k rows are permuted per head in a multi-layer file', () => {
    // dim 8, 2 heads of size 4, 1 kv head, 2 layers: q row order per head becomes [0, 2, 1, 3].
    const file = writeSynthetic('perm.bin', [8, 4, 2, 2, 1, 3, 2]);
    const { tensors } = readLlama2cCheckpoint(file);
    const q1 = tensors.get('model.layers.1.self_attn.q_proj.weight');
    const wqStart = 3 * 8 + 2 * 8; // embedding + rms_att of both layers
    const layer1 = wqStart + 64;
    const firstColumn = Array.from({ length: 8 }, (_, r) => (q1?.data[r * 8] ?? NaN) - layer1);
    assert.deepEqual(
      firstColumn,
      [0, 2, 1, 3, 4, 6, 5, 7].map((r) => r * 8),
    );
  });

  test('truncated copy of a real checkpoint -> truncated', { skip: missingData }, () => {
    const file = path.join(tmpRoot, 'stories-truncated.bin');
    fs.writeFileSync(file, fs.readFileSync(CHECKPOINT).subarray(0, 500_000));
    expectError(() => readLlama2cCheckpoint(file), 'truncated', file);
    assert.throws(() => readLlama2cCheckpoint(file), /needs 1056540/);
  });

  test('extra bytes, bad header values, versioned exports and short files -> header / truncated', () => {
    const extra = writeSynthetic(
      'extra.bin',
      [4, 6, 1, 2, 1, 3, 5],
      llama2cFloatCount({
        dim: 4,
        hiddenDim: 6,
        nLayers: 1,
        nHeads: 2,
        nKvHeads: 1,
        vocabSize: 3,
        seqLen: 5,
        sharedClassifier: true,
      }) + 1,
    );
    expectError(() => readLlama2cCheckpoint(extra), 'header', extra);
    const badHeads = writeSynthetic('bad-heads.bin', [6, 6, 1, 4, 1, 3, 5], 10);
    expectError(() => readLlama2cHeader(badHeads), 'header', badHeads);
    assert.throws(() => readLlama2cHeader(badHeads), /multiple of n_heads/);
    const badKv = writeSynthetic('bad-kv.bin', [8, 6, 1, 4, 3, 3, 5], 10);
    assert.throws(() => readLlama2cHeader(badKv), /multiple of n_kv_heads/);
    const zero = writeSynthetic('zero.bin', [0, 6, 1, 4, 1, 3, 5], 10);
    expectError(() => readLlama2cHeader(zero), 'header', zero);
    const versioned = path.join(tmpRoot, 'v1.bin');
    fs.writeFileSync(versioned, Buffer.concat([Buffer.from(new Uint32Array([0x616b3432, 1]).buffer), Buffer.alloc(256)]));
    expectError(() => readLlama2cHeader(versioned), 'header', versioned);
    const short = path.join(tmpRoot, 'short.bin');
    fs.writeFileSync(short, Buffer.alloc(10));
    expectError(() => readLlama2cHeader(short), 'truncated', short);
    expectError(() => readLlama2cHeader(path.join(tmpRoot, 'nope.bin')), 'io', path.join(tmpRoot, 'nope.bin'));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Reference code for the tests: float64 loops, HF Llama conventions.

function ropeInterleaved(v: number[], headSize: number, pos: number): number[] {
  const out = [...v];
  for (let i = 0; i < v.length; i += 2) {
    const theta = pos / 10000 ** ((i % headSize) / headSize);
    out[i] = v[i] * Math.cos(theta) - v[i + 1] * Math.sin(theta);
    out[i + 1] = v[i] * Math.sin(theta) + v[i + 1] * Math.cos(theta);
  }
  return out;
}

function ropeRotateHalf(v: number[], headSize: number, pos: number): number[] {
  const out = [...v];
  const half = headSize / 2;
  for (let base = 0; base < v.length; base += headSize) {
    for (let i = 0; i < half; i++) {
      const theta = pos / 10000 ** ((2 * i) / headSize);
      const a = v[base + i];
      const b = v[base + half + i];
      out[base + i] = a * Math.cos(theta) - b * Math.sin(theta);
      out[base + half + i] = b * Math.cos(theta) + a * Math.sin(theta);
    }
  }
  return out;
}

/** Logits at the last position of a HF-layout Llama (RMSNorm eps 1e-5, rotate_half RoPE, GQA, SwiGLU, tied head). */
function hfLlamaForwardLast(checkpoint: ReturnType<typeof readLlama2cCheckpoint>, tokens: number[]): number[] {
  const { config, tensors } = checkpoint;
  const { dim, nLayers, nHeads, nKvHeads, vocabSize } = config;
  const headSize = dim / nHeads;
  const w = (name: string): Float32Array => {
    const t = tensors.get(name);
    assert.ok(t, name);
    return t.data;
  };
  const matvec = (m: Float32Array, x: number[], outDim: number): number[] =>
    Array.from({ length: outDim }, (_, r) => x.reduce((acc, xv, c) => acc + m[r * x.length + c] * xv, 0));
  const rmsnorm = (x: number[], g: Float32Array): number[] => {
    const scale = 1 / Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length + 1e-5);
    return x.map((v, i) => v * scale * g[i]);
  };
  const emb = w('model.embed_tokens.weight');
  const xs = tokens.map((t) => Array.from(emb.subarray(t * dim, (t + 1) * dim)));
  for (let layer = 0; layer < nLayers; layer++) {
    const p = `model.layers.${layer}`;
    const keys: number[][] = [];
    const values: number[][] = [];
    const queries: number[][] = [];
    xs.forEach((x, pos) => {
      const h = rmsnorm(x, w(`${p}.input_layernorm.weight`));
      queries.push(ropeRotateHalf(matvec(w(`${p}.self_attn.q_proj.weight`), h, dim), headSize, pos));
      keys.push(ropeRotateHalf(matvec(w(`${p}.self_attn.k_proj.weight`), h, nKvHeads * headSize), headSize, pos));
      values.push(matvec(w(`${p}.self_attn.v_proj.weight`), h, nKvHeads * headSize));
    });
    xs.forEach((x, pos) => {
      const attended: number[] = [];
      for (let head = 0; head < nHeads; head++) {
        const kvHead = Math.floor(head / (nHeads / nKvHeads));
        const q = queries[pos].slice(head * headSize, (head + 1) * headSize);
        const scores = keys.slice(0, pos + 1).map((k) => q.reduce((acc, qv, i) => acc + qv * k[kvHead * headSize + i], 0) / Math.sqrt(headSize));
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        for (let i = 0; i < headSize; i++) {
          attended.push(exps.reduce((acc, e, t) => acc + (e / sum) * values[t][kvHead * headSize + i], 0));
        }
      }
      const out = matvec(w(`${p}.self_attn.o_proj.weight`), attended, dim);
      out.forEach((v, i) => {
        x[i] += v;
      });
    });
    for (const x of xs) {
      const h = rmsnorm(x, w(`${p}.post_attention_layernorm.weight`));
      const hidden = config.hiddenDim;
      const gate = matvec(w(`${p}.mlp.gate_proj.weight`), h, hidden);
      const up = matvec(w(`${p}.mlp.up_proj.weight`), h, hidden);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
      const down = matvec(w(`${p}.mlp.down_proj.weight`), act, dim);
      down.forEach((v, i) => {
        x[i] += v;
      });
    }
  }
  const last = rmsnorm(xs[xs.length - 1], w('model.norm.weight'));
  return matvec(emb, last, vocabSize);
}
