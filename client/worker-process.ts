/**
 * Starts one job in a backend worker process (dist/worker.js, protocol/worker.ts) and adapts it to the job
 * queue's `JobHandle`. Node only, no `vscode`: the tests run real workers through it.
 *
 * Crash handling: the worker's stderr is kept (last 40 lines); if it exits without a final `done`/`error` message
 * (killed, out of memory, a native crash), every run folder it opened and did not finish is marked failed with
 * the exit reason and those lines, and the outcome is `failed` with the same text.
 * Cancel: sends `cancel`; if the worker has not exited 15 s later, it is killed (its folders are then marked
 * cancelled-by-kill, i.e. failed with that message).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { markRunFailed } from '../job/run-folder';
import type { JobEvent, RunOpened } from '../protocol/job';
import type { RunSummary } from '../protocol/lsp';
import { WORKER_PROTOCOL_VERSION, type WorkerMessage, type WorkerRunRequest } from '../protocol/worker';
import type { JobHandle, JobOutcome } from './job-queue';

export interface WorkerJobOptions {
  /** Path of the worker bundle (dist/worker.js). */
  workerPath: string;
  request: Omit<WorkerRunRequest, 'type' | 'protocolVersion'>;
  onEvent?: (e: JobEvent) => void;
  /** Lines the worker wrote to stdout/stderr (engine warnings, native library noise). */
  onOutput?: (line: string) => void;
  /** Extra environment for the worker. */
  env?: Record<string, string>;
  /** Kill a cancelled worker that has not exited after this long (ms). Default 15,000. */
  killAfterMs?: number;
}

export interface WorkerJob extends JobHandle {
  /** Summaries of the sections that finished (filled when `done` settles). */
  readonly summaries: RunSummary[];
  /** Run folders the job opened, in order. */
  readonly runs: RunOpened[];
  readonly process: ChildProcess;
}

const TAIL_LINES = 40;

export function startWorkerJob(o: WorkerJobOptions): WorkerJob {
  const child = fork(o.workerPath, [], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // In VS Code's Electron host, fork() must run Electron as plain Node.
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...o.env },
    serialization: 'json',
  });
  const tail: string[] = [];
  const runs: RunOpened[] = [];
  const summaries: RunSummary[] = [];
  let final: WorkerMessage | undefined;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;

  const onLines = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      o.onOutput?.(line);
    }
  };
  child.stdout?.on('data', onLines);
  child.stderr?.on('data', onLines);

  child.on('message', (m: WorkerMessage) => {
    if (m.type === 'event') {
      if (m.event.type === 'run') runs.push(m.event);
      if (m.event.type === 'log') {
        tail.push(m.event.message);
        if (tail.length > TAIL_LINES) tail.shift();
      }
      o.onEvent?.(m.event);
    } else {
      final = m;
      summaries.push(...m.summaries);
    }
  });

  const done = new Promise<JobOutcome>((resolve) => {
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      if (final?.type === 'done') {
        resolve({ status: 'done' });
        return;
      }
      if (final?.type === 'error') {
        resolve({ status: final.kind === 'cancelled' ? 'cancelled' : 'failed', message: final.message });
        return;
      }
      const why = spawnError
        ? `the worker could not start: ${spawnError.message}`
        : cancelled && signal === 'SIGKILL'
          ? 'the worker did not stop within the cancel timeout and was killed'
          : `the worker process exited unexpectedly (${signal !== null ? `signal ${signal}` : `exit code ${String(code)}`})`;
      const message = tail.length > 0 ? `${why}. Last output:\n${tail.join('\n')}` : why;
      const finishedSections = new Set(summaries.map((s) => `${s.kind}\u241f${s.section}`));
      // Killed after a cancel that did not stop it in time: the user's cancel, so its folders end cancelled.
      const status = cancelled && signal === 'SIGKILL' ? 'cancelled' : 'failed';
      for (const r of runs) {
        if (finishedSections.has(`${r.kind}\u241f${r.section}`)) continue;
        try {
          markRunFailed(r.dir, { section: r.section, kind: r.kind, ...(r.file !== undefined ? { file: r.file } : {}), message, status });
        } catch {
          // the folder may be gone; the outcome still reports the failure
        }
      }
      resolve({ status, message });
    };
    child.on('exit', (code, signal) => finish(code, signal));
    child.on('error', (e) => {
      if (child.exitCode === null && child.pid !== undefined) return; // a send error while running; 'exit' follows
      finish(null, null, e);
    });
  });

  child.send({ type: 'run', protocolVersion: WORKER_PROTOCOL_VERSION, ...o.request } satisfies WorkerRunRequest);

  return {
    process: child,
    runs,
    summaries,
    done,
    cancel(): void {
      if (cancelled || child.exitCode !== null) return;
      cancelled = true;
      if (child.connected) child.send({ type: 'cancel' });
      killTimer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs ?? 15_000);
      killTimer.unref();
    },
  };
}
