/**
 * Multi-threaded wasm in Node. tfjs-backend-wasm 4.22 disables threads in Node (WASM_HAS_MULTITHREAD_SUPPORT is
 * false when IS_NODE) because Emscripten's pthread workers are created from `blob:` URLs, which Node's
 * worker_threads reject (ERR_WORKER_PATH). This shim (../shared/docs/BACKENDS.md §1) makes it work: during backend
 * initialisation only, `Blob`/`URL.createObjectURL` write the two generated scripts to temporary files, the main
 * script gets the bundle-internal module aliases it refers to, and each worker resolves the "blob" it receives to
 * that file. It depends on internals of the pinned 4.22 bundle, so every step is checked and any failure falls
 * back to the single-threaded backend.
 *
 * The C++ side caps threads at min(requested, 8, logical cores / 2); on a 2-core machine that is 1 unless the
 * reported core count is raised, which `threads` does for the duration of the initialisation.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

interface FakeBlob {
  __rtunePath: string;
}

/** Run `init` with threads enabled; restores every global it touched. */
export async function withWasmThreads<T>(threads: number, init: () => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-wasm-'));
  const g = globalThis as unknown as { Blob: unknown };
  const origBlob = g.Blob;
  const origCreate = URL.createObjectURL;
  // The CommonJS module object itself (the `import * as` namespace only has getters).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const osModule = require('node:os') as { cpus: () => os.CpuInfo[] };
  const origCpus = osModule.cpus;
  let n = 0;
  class ScriptBlob implements FakeBlob {
    __rtunePath: string;
    constructor(parts: unknown[]) {
      let text = parts.map((p) => String(p)).join('');
      if (text.startsWith('var WasmBackendModuleThreadedSimd')) {
        // The factory source refers to the bundle's CommonJS aliases; define them for the worker.
        text =
          "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os'),commonjsGlobal=globalThis;\n" +
          text;
      } else if (text.includes('urlOrBlob')) {
        // The worker script: resolve our file-backed "blobs" to their paths.
        text =
          '(function(){var c=URL.createObjectURL;URL.createObjectURL=function(b){return b&&b.__rtunePath?b.__rtunePath:c(b)};URL.revokeObjectURL=function(){}})();\n' +
          text;
      }
      this.__rtunePath = path.join(dir, `script-${n++}.js`);
      fs.writeFileSync(this.__rtunePath, text);
    }
  }
  g.Blob = ScriptBlob;
  URL.createObjectURL = ((b: unknown) => (b as FakeBlob).__rtunePath ?? origCreate(b as Blob)) as typeof URL.createObjectURL;
  const fakeCpus = Array.from({ length: Math.max(origCpus().length, threads * 2) }, () => origCpus()[0] as os.CpuInfo);
  osModule.cpus = () => fakeCpus;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  try {
    return await init();
  } finally {
    g.Blob = origBlob;
    URL.createObjectURL = origCreate;
    osModule.cpus = origCpus;
  }
}
