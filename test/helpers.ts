/** Shared test helpers: backend selection, data paths, tolerances. */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { initBackend, type BackendPreference } from '../engine/backend';
import type { BackendInfo } from '../protocol/job';

/** Repository root (tests run from out/test/...). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** ../shared/data beside the checkout, or RTUNE_SHARED_DATA. */
/** The tiny random-weight models the engine tests share (config.json fields): GPT-2, and Llama with GQA and an untied head. */
export const TINY_GPT2_HF: Record<string, unknown> = { model_type: 'gpt2', vocab_size: 37, n_embd: 16, n_layer: 2, n_head: 4, n_positions: 32 };
export const TINY_LLAMA_HF: Record<string, unknown> = {
  model_type: 'llama',
  vocab_size: 41,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
};

export const SHARED_DATA = process.env['RTUNE_SHARED_DATA'] ?? path.resolve(REPO_ROOT, '..', 'shared', 'data');

export function sharedData(...parts: string[]): string {
  return path.join(SHARED_DATA, ...parts);
}

/** Skip reason when a shared asset is absent (outside CI such tests may skip; CI always has ../shared). */
export function missingShared(...parts: string[]): string | false {
  const p = sharedData(...parts);
  if (fs.existsSync(p)) return false;
  if (process.env['CI']) throw new Error(`shared asset missing in CI: ${p}`);
  return `missing ${p}`;
}

/**
 * Tests run on wasm by default (the offline default backend); RTUNE_TEST_BACKEND=cpu|webgpu|tensorflow overrides,
 * RTUNE_WASM_THREADS sets wasm threads (default 1), RTUNE_NATIVE_BLAS=0 keeps wasm's own matmuls where the native
 * BLAS addon is built (by default tests use it when it is).
 */
export function testBackend(): Promise<BackendInfo> {
  return initBackend((process.env['RTUNE_TEST_BACKEND'] as BackendPreference | undefined) ?? 'wasm', {
    threads: Number(process.env['RTUNE_WASM_THREADS'] ?? 1),
    nativeMatmul: process.env['RTUNE_NATIVE_BLAS'] !== '0',
  });
}

export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number)) / Math.max(Math.abs(b[i] as number), floor);
    if (d > m) m = d;
  }
  return m;
}
