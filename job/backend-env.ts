/**
 * Backend settings that the processes driving the engine (the `rtune` command, the worker) take from their
 * environment; the engine itself reads none and gets them as BackendOptions.
 *   RTUNE_WEBGPU=0          never try webgpu in `auto` mode (by default `auto` takes it on a hardware adapter only:
 *                           a software one such as lavapipe is slower than wasm); RTUNE_WEBGPU=1 is the default
 *   RTUNE_DAWN_FLAGS=a,b    Dawn toggles for the webgpu package
 *   RTUNE_NATIVE_BLAS=0     keep the wasm backend's own matmuls even where the native BLAS addon is built
 * RTUNE_BACKEND and RTUNE_WASM_THREADS are read by the CLI, which validates them like its flags.
 */
import type { BackendOptions } from '../engine/backend';

export function backendOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): Omit<BackendOptions, 'threads'> {
  const flags = env['RTUNE_DAWN_FLAGS'];
  return {
    ...(env['RTUNE_WEBGPU'] === '0' ? { webgpuInAuto: false } : {}),
    ...(env['RTUNE_NATIVE_BLAS'] === '0' ? { nativeMatmul: false } : {}),
    ...(flags ? { dawnFlags: flags.split(',') } : {}),
  };
}
