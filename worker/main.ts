/**
 * The backend worker process (bundled to dist/worker.js). The extension's job manager forks one per job and talks
 * to it over Node's IPC channel (protocol/worker.ts): it receives one `run` request, parses the .rtune text with
 * language/, runs the sections through job/runner (the same code path as `rtune run`), forwards every JobEvent,
 * and ends with one `done` or `error` message, then exits. A `cancel` request aborts the job within one step; the
 * run folder is marked cancelled by the runner. A resident-memory watchdog stops the job with a `memory` failure
 * when `maxMemoryBytes` is exceeded, and exits hard if the job does not stop within 10 s. RTUNE_WEBGPU and
 * RTUNE_DAWN_FLAGS in its environment reach the engine as backend options (job/backend-env.ts).
 * It is its own process and folder: it loads the compute engine, which the language server and the extension
 * never do (test/architecture/deps.test.ts).
 * Non-goals: knowing about VS Code; keeping state between jobs.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { loadRunConfig } from '../language/analysis';
import { formatDiagnostics } from '../language/report';
import { backendOptionsFromEnv } from '../job/backend-env';
import { failureKind } from '../job/failure';
import { runConfig } from '../job/runner';
import type { JobEvent, JobFailed } from '../protocol/job';
import type { RunSummary } from '../protocol/lsp';
import { checkWorkerRequest, type WorkerMessage, type WorkerRunRequest } from '../protocol/worker';
import { createNodeEnv } from '../language/node-env';
import { hubCacheLookup } from '../hub/cache';

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      process.stdout.write(`${JSON.stringify(m)}\n`);
      resolve();
      return;
    }
    // The extension went away (window reload, crash): nobody to tell; the run folders still get their status.
    if (!process.connected) {
      resolve();
      return;
    }
    process.send(m, undefined, {}, () => resolve());
  });
}

class MemoryExceeded extends Error {}

async function run(req: WorkerRunRequest, ctl: AbortController): Promise<WorkerMessage> {
  const loaded = loadRunConfig(req.text, {
    baseDir: path.dirname(req.file),
    builtinRoot: req.builtinRoot,
    env: createNodeEnv({ hub: hubCacheLookup() }),
    ...(req.runsFolder !== undefined ? { defaultRunsDir: req.runsFolder } : {}),
  });
  if ('errors' in loaded) {
    return {
      type: 'error',
      kind: 'input',
      message: `${req.file} has errors; fix them and run again:\n${formatDiagnostics(req.file, req.text, loaded.errors)}`,
      summaries: [],
    };
  }
  const summaries: RunSummary[] = [];
  let memoryError: MemoryExceeded | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  if (req.maxMemoryBytes > 0) {
    watchdog = setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (rss > req.maxMemoryBytes && memoryError === undefined) {
        memoryError = new MemoryExceeded(
          `the job used ${(rss / 2 ** 30).toFixed(2)} GiB, over the rtune.maxMemoryGiB limit of ${(req.maxMemoryBytes / 2 ** 30).toFixed(2)} GiB; ` +
            'raise the setting, or use fewer prompts, a smaller batch or fewer layers',
        );
        ctl.abort();
        setTimeout(() => process.exit(3), 10_000).unref();
      }
    }, 250);
    watchdog.unref();
  }
  let firstFailure: JobFailed['kind'] | undefined;
  const emit = (e: JobEvent): void => {
    if (e.type === 'failed' && e.kind !== 'cancelled') firstFailure ??= e.kind;
    void send({ type: 'event', event: e });
  };
  const threads = req.threads > 0 ? req.threads : Math.min(os.cpus().length, 8);
  try {
    const backendOptions = backendOptionsFromEnv(process.env);
    summaries.push(
      ...(await runConfig(loaded.config, req.sections, {
        file: req.file,
        source: { text: req.text, analysis: loaded.analysis },
        emit,
        signal: ctl.signal,
        threads,
        backend: req.backend,
        backendOptions,
        ...(req.fresh === true ? { fresh: true } : {}),
        ...(req.from !== undefined ? { from: req.from } : {}),
      })),
    );
    if (memoryError) return { type: 'error', kind: 'memory', message: memoryError.message, summaries };
    if (ctl.signal.aborted) return { type: 'error', kind: 'cancelled', message: 'cancelled', summaries };
    // A failed section does not stop the others (they run, or are skipped when they need it): the job failed.
    const failed = summaries.filter((x) => x.status === 'failed');
    if (failed.length > 0) {
      const message = failed.map((x) => `${x.kind} ${x.section}: ${x.headline}`).join('\n');
      return { type: 'error', kind: firstFailure ?? 'internal', message, summaries };
    }
    return { type: 'done', summaries };
  } catch (e) {
    if (memoryError) return { type: 'error', kind: 'memory', message: memoryError.message, summaries };
    // After an abort, whatever stopped the job is the cancellation; otherwise the error's type says what it was.
    const kind = ctl.signal.aborted ? 'cancelled' : failureKind(e);
    if (kind === 'cancelled') return { type: 'error', kind, message: 'cancelled', summaries };
    return { type: 'error', kind, message: e instanceof Error ? e.message : String(e), summaries };
  } finally {
    if (watchdog) clearInterval(watchdog);
  }
}

function main(): void {
  const ctl = new AbortController();
  let started = false;
  process.on('message', (raw: unknown) => {
    const req = checkWorkerRequest(raw);
    if (typeof req === 'string') {
      void send({ type: 'error', kind: 'internal', message: `worker: invalid request: ${req}`, summaries: [] }).then(() => process.exit(2));
      return;
    }
    if (req.type === 'cancel') {
      ctl.abort();
      return;
    }
    if (started) return;
    started = true;
    void run(req, ctl).then(async (m) => {
      await send(m);
      process.disconnect?.();
      process.exit(0);
    });
  });
  // The extension went away: stop rather than compute for nobody.
  process.on('disconnect', () => {
    ctl.abort();
    setTimeout(() => process.exit(0), 5_000).unref();
  });
}

main();
