/**
 * The optional native matmul path: the wasm backend's `BatchMatMul` and `_FusedMatMul` kernels replaced by
 * calls into native/rtune_blas.node, which runs the system BLAS's sgemm (OpenBLAS, Accelerate) on the tensors where
 * they already live, the wasm heap (no copies). scripts/build-native.mjs builds the addon at install time where a
 * BLAS is present; without it, or with `nativeMatmul: false` in BackendOptions (RTUNE_NATIVE_BLAS=0), the wasm
 * kernels stay. The BLAS runs with the job's thread count, so wasm and BLAS threads agree.
 *
 * Cases the addon does not cover fall through to the original wasm kernel: non-float32 inputs, batch dimensions
 * that broadcast other than one-against-many, and fused matmuls with an activation or a bias other than one
 * value per output column.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

interface Addon {
  sgemm(
    heap: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    a: number,
    aStride: number,
    b: number,
    bStride: number,
    c: number,
    transA: boolean,
    transB: boolean,
  ): void;
  setThreads(n: number): number;
  info(): string;
}

/** The parts of tfjs-backend-wasm's BackendWasm used here (backend_wasm.ts: dataIdMap, makeOutput, wasm.HEAPF32). */
interface WasmBackend {
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  wasm: { HEAPF32: Float32Array; wasmMemory?: WebAssembly.Memory };
}

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: WasmBackend;
  attrs: { transposeA?: boolean; transposeB?: boolean; activation?: string };
}

export interface NativeMatmulStatus {
  active: boolean;
  /** The BLAS and its build line (OpenBLAS's openblas_get_config), when active. */
  blas?: string;
  /** Why the native path is off, when it is. */
  reason?: string;
}

const KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;
let addon: Addon | undefined;
let loadError: string | undefined;
let originals: Map<string, tf.KernelConfig> | undefined;
let view: Float32Array | undefined;
let calls = 0;

/** native/build/rtune_blas.node above this file (out/engine/, dist/ or the checkout's engine/). */
function addonPath(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    const p = path.join(dir, 'native', 'build', 'rtune_blas.node');
    if (fs.existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  return undefined;
}

function loadAddon(): Addon | undefined {
  if (addon || loadError) return addon;
  const p = addonPath();
  if (!p) {
    loadError = 'native/build/rtune_blas.node is not built (needs a BLAS at install time: Debian libopenblas-dev; then npm run build:native)';
    return undefined;
  }
  try {
    const m = { exports: {} as unknown };
    process.dlopen(m, p); // not require(): bundlers would try to resolve the path
    addon = m.exports as Addon;
  } catch (e) {
    loadError = `${p} did not load (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
  return addon;
}

/** A Float32Array over the whole wasm memory, re-made when the memory grew (its buffer changes then). */
function heap(b: WasmBackend): Float32Array {
  const buf = b.wasm.wasmMemory?.buffer ?? b.wasm.HEAPF32.buffer;
  if (!view || view.buffer !== buf) view = new Float32Array(buf);
  return view;
}

function offset(b: WasmBackend, t: tf.TensorInfo): number {
  const d = b.dataIdMap.get(t.dataId);
  if (!d) throw new Error('native matmul: a tensor has no data on the wasm backend');
  return d.memoryOffset / 4;
}

function size(shape: number[]): number {
  return shape.reduce((x, y) => x * y, 1);
}

/** C = op(A) op(B) on the heap, or undefined when the shapes need the wasm kernel's general path. */
function nativeMatMul(args: KernelArgs): tf.TensorInfo | undefined {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const ta = args.attrs.transposeA === true;
  const tb = args.attrs.transposeB === true;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = a.shape[ta ? ra - 1 : ra - 2] as number;
  const k = a.shape[ta ? ra - 2 : ra - 1] as number;
  const kb = b.shape[tb ? rb - 1 : rb - 2] as number;
  const n = b.shape[tb ? rb - 2 : rb - 1] as number;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = size(outerA);
  const batchB = size(outerB);
  if (k !== kb) return undefined; // the wasm kernel reports the shape error
  let outer: number[];
  if (batchA === batchB && outerA.join() === outerB.join()) outer = outerA;
  else if (batchB === 1 && outerB.every((d) => d === 1) && outerA.length >= outerB.length) outer = outerA;
  else if (batchA === 1 && outerA.every((d) => d === 1) && outerB.length >= outerA.length) outer = outerB;
  else return undefined;
  const be = args.backend;
  const out = be.makeOutput([...outer, m, n], 'float32');
  const batch = Math.max(batchA, batchB);
  // The heap view is taken after makeOutput: allocating may have grown the memory.
  (addon as Addon).sgemm(heap(be), batch, m, n, k, offset(be, a), batchA === 1 ? 0 : m * k, offset(be, b), batchB === 1 ? 0 : k * n, offset(be, out), ta, tb);
  calls++;
  return out;
}

function original(name: string): tf.KernelConfig {
  return (originals as Map<string, tf.KernelConfig>).get(name) as tf.KernelConfig;
}

function batchMatMulKernel(args: KernelArgs): tf.TensorInfo {
  return nativeMatMul(args) ?? (original('BatchMatMul').kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo);
}

function fusedMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const { bias, preluActivationWeights } = args.inputs;
  const act = args.attrs.activation ?? 'linear';
  const fallback = (): tf.TensorInfo => original('_FusedMatMul').kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  if (act !== 'linear' || preluActivationWeights) return fallback();
  const out = nativeMatMul(args);
  if (!out || !bias) return out ?? fallback();
  const n = out.shape[out.shape.length - 1] as number;
  if (bias.dtype !== 'float32' || size(bias.shape) !== n || (bias.shape.length > 0 && bias.shape[bias.shape.length - 1] !== n)) {
    (args.backend as unknown as { disposeData(id: object): void }).disposeData(out.dataId);
    return fallback();
  }
  const h = heap(args.backend);
  const o = offset(args.backend, out);
  const bo = offset(args.backend, bias);
  const bv = h.subarray(bo, bo + n);
  const rows = size(out.shape) / n;
  for (let r = 0; r < rows; r++) {
    const base = o + r * n;
    for (let j = 0; j < n; j++) h[base + j] = (h[base + j] as number) + (bv[j] as number);
  }
  return out;
}

/**
 * Route the wasm backend's matmuls to the native addon with `threads` BLAS threads. Call after the wasm backend is
 * initialised. Returns whether it is active and, if not, why.
 */
export function enableNativeMatmul(threads: number): NativeMatmulStatus {
  const a = loadAddon();
  if (!a) return { active: false, reason: loadError };
  a.setThreads(Math.max(1, threads));
  if (!originals) {
    const found = new Map<string, tf.KernelConfig>();
    for (const name of KERNELS) {
      const k = tf.getKernel(name, 'wasm');
      if (!k) return { active: false, reason: `the wasm backend has no ${name} kernel to replace` };
      found.set(name, k);
    }
    originals = found;
    for (const name of KERNELS) {
      const func = (name === 'BatchMatMul' ? batchMatMulKernel : fusedMatMulKernel) as unknown as tf.KernelFunc;
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: func, setupFunc: original(name).setupFunc });
    }
  }
  return { active: true, blas: a.info().trim() };
}

/** Put the wasm backend's own matmul kernels back (a no-op when the native path is off). */
export function disableNativeMatmul(): void {
  if (!originals) return;
  for (const name of KERNELS) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(original(name));
  }
  originals = undefined;
}

/** Whether the native kernels are registered now. */
export function nativeMatmulActive(): boolean {
  return originals !== undefined;
}

/** Matmuls the native path has computed so far (tests check that it ran). */
export function nativeMatmulCalls(): number {
  return calls;
}
