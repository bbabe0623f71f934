/**
 * The job manager: a visible queue of jobs (one at a time), each run in its own backend worker process
 * (worker-process.ts). Shows a cancellable progress notification, a status-bar item (job, step, loss, queue),
 * streams events into the panels' RunState, writes the job log to the output channel, tells the language
 * server that results changed (so inline results refresh), and reports failures with the log's last lines.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ResultsChangedNotification } from '../protocol/lsp';
import type { JobEvent } from '../protocol/job';
import type { WorkerRunRequest } from '../protocol/worker';
import { JobQueue, type Job, type JobHandle } from './job-queue';
import type { PanelHost } from './panels';
import { loadRunFolder, type RunState } from './run-state';
import type { RtuneSettings } from './settings';
import { startWorkerJob } from './worker-process';

export interface JobSpec {
  /** The document the job comes from. */
  uri: string;
  file: string;
  text: string;
  sections: string[];
  /** Which panel to bring up when the job's first run of that kind opens. */
  reveal: boolean;
  /** A finished tune run folder whose checkpoint the job's eval/export sections use (`rtune run --from`). */
  from?: string;
  /** Compute every direction and tune again (`rtune run --fresh`). */
  fresh?: boolean;
}

export interface JobHost {
  extensionPath: string;
  settings(): RtuneSettings;
  /** Absolute runs folder for a file (resolved `rtune.runsFolder`), or undefined. */
  runsFolderFor(file: string): string | undefined;
  notifyServer(method: string, params: unknown): void;
}

export class JobController implements vscode.Disposable {
  readonly queue: JobQueue<JobSpec>;
  private readonly status: vscode.StatusBarItem;
  private readonly subscriptions: (() => void)[] = [];
  private disposed = false;

  constructor(
    private readonly host: JobHost,
    private readonly state: RunState,
    private readonly panels: PanelHost,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.queue = new JobQueue((job) => this.start(job));
    this.status = vscode.window.createStatusBarItem('rtune.job', vscode.StatusBarAlignment.Left, 10);
    this.status.name = 'RTune job';
    this.status.command = 'rtune.cancelJob';
    this.subscriptions.push(this.queue.onChange(() => this.render()));
  }

  enqueue(title: string, spec: JobSpec): Job<JobSpec> {
    const ahead = this.queue.running ? 1 + this.queue.queued.length : 0;
    const job = this.queue.enqueue(title, spec);
    if (ahead > 0) void vscode.window.showInformationMessage(`RTune: "${title}" is queued behind ${ahead} job${ahead === 1 ? '' : 's'}.`);
    return job;
  }

  private workerPath(s: RtuneSettings): string {
    return s.workerPath !== '' ? path.join(s.workerPath, 'dist', 'worker.js') : path.join(this.host.extensionPath, 'dist', 'worker.js');
  }

  private start(job: Job<JobSpec>): JobHandle {
    const s = this.host.settings();
    const runsFolder = this.host.runsFolderFor(job.spec.file);
    const request: Omit<WorkerRunRequest, 'type' | 'protocolVersion'> = {
      file: job.spec.file,
      text: job.spec.text,
      sections: job.spec.sections,
      backend: s.backend,
      threads: s.threads,
      builtinRoot: this.host.extensionPath,
      maxMemoryBytes: Math.round(s.maxMemoryGiB * 2 ** 30),
      ...(runsFolder !== undefined ? { runsFolder } : {}),
      ...(job.spec.from !== undefined ? { from: job.spec.from } : {}),
      ...(job.spec.fresh === true ? { fresh: true } : {}),
    };
    this.log.info(
      `job ${job.id} "${job.title}": starting (${path.basename(job.spec.file)}${job.spec.sections.length ? `, ${job.spec.sections.join(', ')}` : ', all sections'}; backend ${s.backend})`,
    );
    let report: ((value: { message?: string; increment?: number }) => void) | undefined;
    let lastPct = 0;
    const worker = startWorkerJob({
      workerPath: this.workerPath(s),
      request,
      onOutput: (line) => this.log.info(`[worker] ${line}`),
      onEvent: (e) => {
        this.onEvent(job, e);
        if (e.type === 'progress' && e.total > 0 && report) {
          const pct = Math.floor((100 * e.done) / e.total);
          report({ message: `${e.job}: ${e.done}/${e.total} ${e.unit}${e.message ? ` · ${e.message}` : ''}`, increment: Math.max(0, pct - lastPct) });
          lastPct = pct;
          if (e.done === e.total) lastPct = 0;
        }
      },
    });
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `RTune: ${job.title}`, cancellable: true }, (progress, token) => {
      report = (v) => progress.report(v);
      token.onCancellationRequested(() => this.queue.cancel(job.id));
      return job.finished;
    });
    const done = worker.done.then((outcome) => {
      for (const sum of worker.summaries) {
        const run = worker.runs.find((r) => r.section === sum.section && r.kind === sum.kind);
        if (run) this.panels.post(this.state.setStatus(run.run, sum.status, sum.headline));
        this.log.info(`job ${job.id}: ${sum.kind} ${sum.section}: ${sum.status}: ${sum.headline}`);
        if (sum.detail) this.log.info(sum.detail);
      }
      if (outcome.status !== 'done') {
        for (const r of worker.runs) {
          const info = this.state.runs.get(r.run);
          if (info?.status === 'running')
            this.panels.post(this.state.setStatus(r.run, outcome.status === 'cancelled' ? 'cancelled' : 'failed', outcome.message));
        }
      }
      for (const r of worker.runs) this.host.notifyServer(ResultsChangedNotification.method, { uri: job.spec.uri, runDir: r.dir });
      if (worker.runs.length === 0) this.host.notifyServer(ResultsChangedNotification.method, { uri: job.spec.uri });
      if (outcome.status === 'failed') {
        this.log.error(`job ${job.id} "${job.title}" failed: ${outcome.message ?? ''}`);
        void vscode.window.showErrorMessage(`RTune: ${job.title} failed: ${outcome.message ?? 'unknown error'}`, 'Show Log').then((pick) => {
          if (pick === 'Show Log') this.log.show(true);
        });
      } else if (outcome.status === 'cancelled') {
        this.log.info(`job ${job.id} "${job.title}" cancelled`);
      } else {
        const last = worker.summaries[worker.summaries.length - 1];
        this.log.info(`job ${job.id} "${job.title}" done`);
        if (last) vscode.window.setStatusBarMessage(`$(check) RTune: ${last.headline}`, 10_000);
      }
      return outcome;
    });
    return { cancel: () => worker.cancel(), done };
  }

  private onEvent(job: Job<JobSpec>, e: JobEvent): void {
    if (this.disposed) return;
    if (e.type === 'log') {
      const line = `[${job.id}] ${e.message}`;
      if (e.level === 'error') this.log.error(line);
      else if (e.level === 'warn') this.log.warn(line);
      else this.log.info(line);
    } else if (e.type === 'failed') {
      this.log.error(`[${job.id}] ${e.job}: ${e.kind}: ${e.message}`);
    } else if (e.type === 'run') {
      this.log.info(`[${job.id}] ${e.kind} ${e.section} → ${e.dir}`);
    }
    this.panels.post(this.state.apply(e));
    // A section loaded from an earlier run folder: show that run (its curves, heatmaps) as if it had just run.
    if (e.type === 'reused') this.showReused(e.dir);
    if ((e.type === 'run' || e.type === 'reused') && job.spec.reveal) {
      try {
        if (e.kind === 'tune') this.panels.show('loss-curves', true);
        else if (e.kind === 'search') this.panels.show('leaderboard', true);
        else if (e.kind === 'direction' && !this.panels.isOpen('heatmap')) this.panels.show('heatmap', true);
      } catch (err) {
        this.log.error(`could not open a panel: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
    if (e.type === 'step' || e.type === 'progress' || e.type === 'run') this.render();
  }

  private showReused(dir: string): void {
    try {
      loadRunFolder(this.state, dir);
      this.panels.refresh();
    } catch (err) {
      this.log.warn(`could not show the reused run ${dir}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private render(): void {
    const running = this.queue.running;
    const queued = this.queue.queued.length;
    if (!running) {
      this.status.hide();
      return;
    }
    const info = this.state.currentRun;
    const parts = [`$(loading~spin) RTune: ${running.title}`];
    if (info?.last && info.kind === 'tune')
      parts.push(
        `step ${info.last.step}${info.progress ? `/${info.progress.total}` : ''} · loss ${Number.isFinite(info.last.totalLoss) ? info.last.totalLoss.toFixed(3) : 'NaN'}`,
      );
    else if (info?.progress) parts.push(`${info.progress.done}/${info.progress.total} ${info.progress.unit}`);
    if (queued > 0) parts.push(`+${queued} queued`);
    this.status.text = parts.join(' · ');
    this.status.tooltip = `${running.title}${queued > 0 ? `\nqueued: ${this.queue.queued.map((j) => j.title).join(', ')}` : ''}\nClick to cancel a job.`;
    this.status.show();
  }

  dispose(): void {
    this.disposed = true;
    this.queue.cancelAll();
    for (const u of this.subscriptions) u();
    this.status.dispose();
  }
}
