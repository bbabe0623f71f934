/**
 * WebGPU through Dawn (the `webgpu` package) under tfjs-backend-webgpu, set up the way the engine needs it:
 * - our own GPUDevice, created with the adapter's limits for storage buffers per shader stage, binding size and
 *   buffer size (tfjs 4.22 requests the last two but keeps the default 8 storage buffers per stage);
 * - `AddN` split into calls of at most (storage buffers per stage − 1) inputs: tfjs-webgpu's AddN binds every input
 *   at once and, past the limit, Dawn rejects the pipeline and the sum silently reads stale memory (8 scalars
 *   1..8 gave 12345; BACKENDS.md §4);
 * - Dawn's uncaptured errors taken by a listener (they are printed on stdout otherwise, which corrupts JSON-lines
 *   output) and handed to a sink (stderr by default), and kept so callers and tests can check that none happened;
 * - the adapter classified as hardware or software (lavapipe/llvmpipe, SwiftShader, WARP): `auto` never picks a
 *   software adapter, which is slower than wasm (BACKENDS.md table).
 * Non-goals: choosing between backends (backend.ts); splitting tensors larger than a storage buffer (the callers
 * refuse them with checkMemory).
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'node:path';

/** What the engine reports of the adapter it runs on. */
export interface WebgpuAdapter {
  /** Vendor, architecture, device and description as Dawn reports them, e.g. "mesa software llvmpipe …". */
  name: string;
  /** A CPU rasteriser (lavapipe/llvmpipe, SwiftShader, WARP) or Dawn's fallback adapter. */
  software: boolean;
  /** The limits the device was created with (the adapter's). */
  limits: { maxStorageBuffersPerShaderStage: number; maxStorageBufferBindingSize: number; maxBufferSize: number };
}

interface GpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

interface GpuErrorEvent {
  error: { message: string };
  preventDefault(): void;
}

interface GpuDevice {
  limits: Record<string, number>;
  addEventListener(type: 'uncapturederror', listener: (e: GpuErrorEvent) => void): void;
  lost: Promise<{ reason?: string; message?: string }>;
}

interface GpuAdapter {
  info?: GpuAdapterInfo;
  limits: Record<string, number>;
  features: { has(name: string): boolean };
  requestDevice(descriptor: object): Promise<GpuDevice>;
}

interface Gpu {
  requestAdapter(options?: object): Promise<GpuAdapter | null>;
}

/** Limits tfjs-backend-webgpu 4.22 requests (src/base.ts), plus the storage buffers per stage it leaves at 8. */
const REQUESTED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBuffersPerShaderStage',
] as const;

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b|\bsoftware\b/i;

/** True for CPU rasterisers: Dawn's fallback adapter, Mesa llvmpipe/lavapipe, SwiftShader, Microsoft WARP. */
export function isSoftwareAdapter(info: GpuAdapterInfo): boolean {
  if (info.isFallbackAdapter === true) return true;
  return SOFTWARE_ADAPTER.test([info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' '));
}

/** Errors Dawn reported on the current device since the last takeWebgpuErrors (at most MAX_KEPT kept). */
const errors: string[] = [];
let errorCount = 0;
const MAX_KEPT = 50;
/** Messages printed by the default sink before it only counts. */
const MAX_PRINTED = 20;

/** Where Dawn's error messages go: one call per message. */
export type DeviceMessageSink = (message: string) => void;

const stderrSink: DeviceMessageSink = (message) => {
  if (errorCount <= MAX_PRINTED) process.stderr.write(`webgpu: ${message}\n`);
  if (errorCount === MAX_PRINTED) process.stderr.write('webgpu: further device errors are counted, not printed\n');
};

/**
 * Validation and out-of-memory errors Dawn reported since the last call, and how many there were (results computed
 * after one are not trustworthy). Clears the record.
 */
export function takeWebgpuErrors(): { count: number; messages: string[] } {
  const out = { count: errorCount, messages: errors.splice(0) };
  errorCount = 0;
  return out;
}

type Dawn = { create(flags: string[]): Gpu; globals: Record<string, unknown> };

/**
 * The webgpu package. Its entry is an ES module, which require() loads from Node 20.19 on; older Node (VS Code's
 * Electron before Node 20.19) gets Dawn's binary straight from the package, as the entry would load it.
 */
function loadDawn(): Dawn {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('webgpu') as Dawn;
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ERR_REQUIRE_ESM') throw e;
    const dir = path.dirname(require.resolve('webgpu/package.json'));
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(dir, 'dist', `${process.platform}-${arch}`, 'dawn.node')) as Dawn;
  }
}

/** Load Dawn and ask for its best adapter; undefined (with a note) when the package or an adapter is missing. */
export async function requestWebgpuAdapter(dawnFlags: readonly string[], notes: string[]): Promise<{ gpu: Gpu; adapter: GpuAdapter } | undefined> {
  let gpu: Gpu;
  try {
    const webgpu = loadDawn();
    Object.assign(globalThis, webgpu.globals);
    gpu = webgpu.create([...dawnFlags]);
  } catch (e) {
    notes.push(`webgpu: the webgpu package did not load (${e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e)})`);
    return undefined;
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) {
    notes.push('webgpu: no GPU adapter (Dawn found no Vulkan/Metal/D3D12 device; install libvulkan1 and a driver)');
    return undefined;
  }
  return { gpu, adapter };
}

/** Describe an adapter for reports. */
export function describeAdapter(adapter: GpuAdapter): WebgpuAdapter {
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') || 'GPU';
  return {
    name,
    software: isSoftwareAdapter(info),
    limits: {
      maxStorageBuffersPerShaderStage: adapter.limits['maxStorageBuffersPerShaderStage'] ?? 8,
      maxStorageBufferBindingSize: adapter.limits['maxStorageBufferBindingSize'] ?? 134217728,
      maxBufferSize: adapter.limits['maxBufferSize'] ?? 268435456,
    },
  };
}

/**
 * Create the device with the adapter's limits, register tfjs's `webgpu` backend over it and make it current.
 * Throws when tfjs-backend-webgpu does not load or initialise.
 */
export async function startWebgpu(gpu: Gpu, adapter: GpuAdapter, sink: DeviceMessageSink = stderrSink): Promise<void> {
  const requiredLimits: Record<string, number> = {};
  for (const k of REQUESTED_LIMITS) {
    const v = adapter.limits[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  device.addEventListener('uncapturederror', (e) => {
    e.preventDefault();
    errorCount++;
    if (errors.length < MAX_KEPT) errors.push(e.error.message);
    sink(e.error.message.trim());
  });
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') sink(`device lost (${info.reason ?? 'unknown'}): ${info.message ?? ''}`);
  });
  const g = globalThis as { navigator?: { gpu?: unknown } };
  // tfjs-backend-webgpu checks navigator.gpu when it loads and when a backend is constructed (BACKENDS.md §4).
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('@tensorflow/tfjs-backend-webgpu') as { WebGPUBackend: new (device: GpuDevice, info?: GpuAdapterInfo) => tf.KernelBackend };
  // Replace the factory the package registered at load time (its own device, 8 storage buffers per stage) with ours.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new mod.WebGPUBackend(device, adapter.info), 3);
  splitAddN(Math.max(2, (device.limits['maxStorageBuffersPerShaderStage'] ?? 8) - 1));
  if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend returned false');
  await tf.ready();
}

let addNSplit = false;

/** Register webgpu's AddN again so that no call binds more than `maxInputs` inputs (one buffer is the output). */
function splitAddN(maxInputs: number): void {
  if (addNSplit) return;
  const kernel = tf.getKernel('AddN', 'webgpu');
  if (!kernel) return;
  const inner = kernel.kernelFunc;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    ...kernel,
    kernelFunc: (args) => {
      const backend = args.backend as unknown as { disposeData(id: object): void };
      let inputs = args.inputs as unknown as tf.TensorInfo[];
      const temps: tf.TensorInfo[] = [];
      while (inputs.length > maxInputs) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < inputs.length; i += maxInputs) {
          const chunk = inputs.slice(i, i + maxInputs);
          if (chunk.length === 1) next.push(chunk[0] as tf.TensorInfo);
          else {
            const r = inner({ ...args, inputs: chunk as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
            temps.push(r);
            next.push(r);
          }
        }
        inputs = next;
      }
      const out = inner({ ...args, inputs: inputs as unknown as tf.NamedTensorInfoMap });
      for (const t of temps) backend.disposeData(t.dataId);
      return out;
    },
  });
  addNSplit = true;
}
