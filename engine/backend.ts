/**
 * Chooses and initialises the TensorFlow.js backend for a job, best first:
 * `tensorflow` (tfjs-node-gpu, then tfjs-node; optional dependencies), `webgpu` (Dawn for Node via the
 * `webgpu` package, webgpu.ts; in `auto` only on a hardware adapter), `wasm` (ships inside npm, works offline),
 * `cpu` (pure JS, last resort).
 * Every job reports what it got (BackendInfo) and why better backends were skipped. The engine reads no
 * environment variables: the CLI and the worker turn RTUNE_WEBGPU, RTUNE_DAWN_FLAGS and RTUNE_WASM_THREADS into
 * BackendOptions (job/backend-env.ts).
 *
 * Non-goals: installing optional backends; splitting tensors larger than webgpu's storage-buffer binding limit
 * (checkMemory refuses them, naming the tensor and the limit).
 * Facts used here are measured in ../shared/docs/BACKENDS.md.
 */
import * as tf from '@tensorflow/tfjs';
import * as os from 'node:os';
import type { BackendInfo } from '../protocol/job';
import { enableNativeMatmul } from './native-matmul';
import { withWasmThreads } from './wasm-threads';
import { describeAdapter, requestWebgpuAdapter, startWebgpu, takeWebgpuErrors, type DeviceMessageSink } from './webgpu';

import { BACKEND_NAMES, type Backend, type BackendName } from '../protocol/contract';

export { BACKEND_NAMES, type BackendName } from '../protocol/contract';
/** A backend or `auto` (the contract's Backend). */
export type BackendPreference = Backend;

/** wasm32 memories are capped at 4 GiB; allocations past it wrap around and corrupt earlier tensors (BACKENDS.md §6). */
export const WASM_MEMORY_LIMIT_BYTES = 4 * 1024 ** 3;
/** We refuse jobs whose estimate exceeds this share of a hard limit: estimates miss allocator slack and scratch. */
const SAFETY_FRACTION = 0.85;

/** How initBackend sets up a backend; the defaults are what a caller that says nothing gets. */
export interface BackendOptions {
  /** wasm threads. Default 1. */
  threads?: number;
  /** Try webgpu in `auto` mode (a hardware adapter only). Default true; false skips webgpu there. */
  webgpuInAuto?: boolean;
  /** Where Dawn's device errors go (they would land on stdout otherwise). Default: stderr, prefixed "webgpu: ". */
  onDeviceMessage?: DeviceMessageSink;
  /** Dawn toggles passed to the webgpu package's `create`. Default none. */
  dawnFlags?: readonly string[];
  /**
   * On wasm, compute matmuls with the native BLAS addon (native-matmul.ts) when it is built, with as many BLAS
   * threads as wasm threads. Default true; false keeps the wasm kernels.
   */
  nativeMatmul?: boolean;
}

let current: BackendInfo | undefined;

export class BackendError extends Error {
  constructor(
    message: string,
    readonly kind: 'unavailable' | 'memory' | 'device',
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const first = e.message.split('\n')[0] ?? '';
    return typeof code === 'string' ? `${code}: ${first}` : first;
  }
  return String(e);
}

async function tryTensorflow(notes: string[]): Promise<BackendInfo | undefined> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(pkg);
    } catch (e) {
      notes.push(`tensorflow: ${pkg} not usable (${errorText(e)})`);
      continue;
    }
    if (await tf.setBackend('tensorflow')) {
      await tf.ready();
      const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
      const gpu = b.isUsingGpuDevice === true;
      return {
        backend: 'tensorflow',
        device: gpu ? `GPU (libtensorflow via ${pkg})` : `CPU (libtensorflow via ${pkg})`,
        threads: os.cpus().length,
        notes,
      };
    }
    notes.push(`tensorflow: ${pkg} loaded but the backend did not initialise`);
  }
  return undefined;
}

async function tryWebgpu(notes: string[], opts: BackendOptions, auto: boolean): Promise<BackendInfo | undefined> {
  const found = await requestWebgpuAdapter(opts.dawnFlags ?? [], notes);
  if (!found) return undefined;
  const adapter = describeAdapter(found.adapter);
  // A software adapter (lavapipe, SwiftShader, WARP) computes correctly but slower than wasm (BACKENDS.md table),
  // so `auto` passes over it; `webgpu` named explicitly still runs on it.
  if (auto && adapter.software) {
    notes.push(`webgpu: skipped in auto mode, the adapter is a software renderer (${adapter.name}); name backend webgpu to use it`);
    return undefined;
  }
  try {
    await startWebgpu(found.gpu, found.adapter, opts.onDeviceMessage);
  } catch (e) {
    notes.push(`webgpu: backend failed to initialise (${errorText(e)})`);
    return undefined;
  }
  const l = adapter.limits;
  return {
    backend: 'webgpu',
    device: `${adapter.name} (webgpu via Dawn, ${adapter.software ? 'software' : 'hardware'} adapter)`,
    threads: 1,
    notes: [
      ...notes,
      `webgpu limits: ${l.maxStorageBuffersPerShaderStage} storage buffers per stage, ` +
        `largest storage binding ${mib(l.maxStorageBufferBindingSize)}, largest buffer ${mib(l.maxBufferSize)}`,
    ],
  };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

async function tryWasm(notes: string[], want: number, native: boolean): Promise<BackendInfo | undefined> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setThreadsCount(n: number): void; getThreadsCount(): number };
    let ok = false;
    if (want > 1) {
      try {
        wasm.setThreadsCount(want);
        ok = await withWasmThreads(want, () => tf.setBackend('wasm'));
        if (!ok) notes.push(`wasm: ${want} threads did not initialise; using 1`);
      } catch (e) {
        notes.push(`wasm: ${want} threads failed (${errorText(e)}); using 1`);
        ok = false;
      }
      if (!ok) {
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
        wasm.setThreadsCount(1);
      }
    }
    if (!ok && !(await tf.setBackend('wasm'))) throw new Error('setBackend returned false');
    await tf.ready();
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
    const n = wasm.getThreadsCount();
    let matmul = '';
    if (native) {
      const s = enableNativeMatmul(n);
      if (s.active) {
        matmul = ', native BLAS matmul';
        notes.push(`wasm: matmuls on the native BLAS addon, ${n} thread${n === 1 ? '' : 's'} (${s.blas ?? ''})`);
      } else notes.push(`wasm: matmuls on wasm, the native BLAS addon is off: ${s.reason ?? ''}`);
    }
    return { backend: 'wasm', device: `CPU (wasm${simd ? ' simd' : ''}, ${n} thread${n === 1 ? '' : 's'}${matmul})`, threads: n, notes };
  } catch (e) {
    notes.push(`wasm: failed to initialise (${errorText(e)})`);
    return undefined;
  }
}

async function tryCpu(notes: string[]): Promise<BackendInfo | undefined> {
  if (!(await tf.setBackend('cpu'))) return undefined;
  await tf.ready();
  return { backend: 'cpu', device: 'CPU (pure JavaScript)', threads: 1, notes };
}

/**
 * Initialise a backend. `auto` tries tensorflow, webgpu, wasm, cpu in that order; a named backend is forced
 * and its failure is an error (a user who asked for webgpu must not silently get cpu).
 * Calling again with the same preference returns the backend already chosen.
 */
export async function initBackend(pref: BackendPreference = 'auto', opts: BackendOptions = {}): Promise<BackendInfo> {
  if (current && (pref === 'auto' || pref === current.backend)) return current;
  const notes: string[] = [];
  const order: BackendName[] = pref === 'auto' ? [...BACKEND_NAMES] : [pref];
  // Auto mode takes webgpu only on a hardware adapter: without a real GPU Dawn finds CPU rasterisers that are
  // slower than wasm (BACKENDS.md table).
  for (const name of order) {
    let info: BackendInfo | undefined;
    if (name === 'tensorflow') info = await tryTensorflow(notes);
    else if (name === 'webgpu') {
      if (pref === 'auto' && opts.webgpuInAuto === false) {
        notes.push('webgpu: skipped in auto mode (RTUNE_WEBGPU=0)');
        continue;
      }
      info = await tryWebgpu(notes, opts, pref === 'auto');
    } else if (name === 'wasm') info = await tryWasm(notes, opts.threads ?? 1, opts.nativeMatmul !== false);
    else info = await tryCpu(notes);
    if (info) {
      current = info;
      return info;
    }
  }
  throw new BackendError(`backend '${pref}' is not available here:\n  ${notes.join('\n  ')}`, 'unavailable');
}

export function currentBackend(): BackendInfo | undefined {
  return current;
}

/** The largest single buffer the webgpu adapter allows, or undefined on other backends. */
function webgpuBufferLimit(): number | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const b = tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number } } };
  return b.device?.limits?.maxStorageBufferBindingSize;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * Refuse a job whose memory would exceed the backend's hard limit, with the estimate in the message, instead of
 * letting wasm wrap around and corrupt tensors silently or webgpu return zeros for oversized buffers.
 * `totalBytes` is the job's estimate; `largestTensorBytes` the biggest single tensor (webgpu's per-buffer limit).
 */
export function checkMemory(what: string, totalBytes: number, largestTensorBytes = 0, largestTensorName?: string): void {
  const backend = tf.getBackend();
  if (backend === 'wasm' && totalBytes > WASM_MEMORY_LIMIT_BYTES * SAFETY_FRACTION) {
    throw new BackendError(
      `${what} needs about ${gib(totalBytes)}, more than the wasm backend's 4 GiB memory can hold safely ` +
        `(limit used: ${gib(WASM_MEMORY_LIMIT_BYTES * SAFETY_FRACTION)}). Use a smaller batch or max_length, ` +
        `train fewer blocks, or use the tensorflow or webgpu backend.`,
      'memory',
    );
  }
  const limit = webgpuBufferLimit();
  if (limit !== undefined && largestTensorBytes > limit) {
    throw new BackendError(
      `${what} has a tensor${largestTensorName ? ` (${largestTensorName})` : ''} of ${mib(largestTensorBytes)}, larger than this GPU's ` +
        `largest storage buffer binding (maxStorageBufferBindingSize ${mib(limit)}); webgpu cannot bind it and would compute ` +
        `wrong values. Use the wasm or tensorflow backend for this model (rtune does not split such tensors on webgpu yet).`,
      'memory',
    );
  }
}

/**
 * Throw when webgpu's device reported errors (an invalid pipeline or buffer: what follows it computed wrong values,
 * silently). `what` names the work, e.g. "training step 12". No-op on other backends.
 */
export function checkDeviceErrors(what: string): void {
  if (tf.getBackend() !== 'webgpu') return;
  const e = takeWebgpuErrors();
  if (e.count === 0) return;
  throw new BackendError(
    `webgpu reported ${e.count} device error${e.count === 1 ? '' : 's'} during ${what}; its results are wrong. First: ${e.messages[0] ?? ''}`,
    'device',
  );
}
