/**
 * What `rtune run` shows and how it stops: the streamed progress on stderr (or every event as a JSON line on
 * stdout with --json), the summary table (or the JSON summary line) listing every section — done, failed,
 * cancelled, skipped — and the signals. The first Ctrl-C cancels gracefully (the running section stops within a
 * batch, keeps what it finished and ends `cancelled`); a second Ctrl-C, or SIGTERM, marks every run folder this
 * process still has open `cancelled`, synchronously, and exits at once.
 */
import { closeOpenRuns } from '../job/run-folder';
import type { JobEvent } from '../protocol/job';
import type { RunSummary } from '../protocol/lsp';
import { ProgressBar } from './progress';

/** The event sink of `rtune run`: JSON lines on stdout, or progress bars and log lines on stderr. */
export function runEmitter(json: boolean): (e: JobEvent) => void {
  const bars = new Map<string, ProgressBar>();
  return (e) => {
    if (json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    if (e.type === 'progress') {
      let bar = bars.get(e.job);
      if (!bar) bars.set(e.job, (bar = new ProgressBar(e.job)));
      bar.update(e.done, e.total, e.unit, e.message ?? '');
      if (e.done === e.total) {
        bar.finish();
        bars.delete(e.job);
      }
    } else if (e.type === 'step' && e.step % 10 === 0) {
      process.stderr.write(
        `  step ${e.step}  token ${e.tokenLoss.toFixed(4)}  projection ${e.projectionLoss.toFixed(4)}  lr ${e.lr.toExponential(2)}  |g| ${e.gradNorm.toFixed(3)}  cos ${e.cosine.map((c) => c.toFixed(2)).join(' ')}\n`,
      );
    } else if (e.type === 'eval') {
      process.stderr.write(`  held-out at step ${e.step}: token ${e.tokenLoss.toFixed(4)}  projection ${e.projectionLoss.toFixed(4)}\n`);
    } else if (e.type === 'log') {
      process.stderr.write(`${e.level === 'info' ? '' : `${e.level}: `}${e.message}\n`);
    } else if (e.type === 'runEnd' && e.status !== 'done') {
      process.stderr.write(`${e.kind} ${e.section}: ${e.headline.startsWith(`${e.status}`) ? '' : `${e.status}: `}${e.headline}\n`);
    }
  };
}

/** Prints the summary of every section (a table, or one JSON line with --json); returns the exit code. */
export function reportRun(summaries: readonly RunSummary[], json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify({ type: 'summary', runs: summaries })}\n`);
  else {
    process.stdout.write('\n| section | status | result |\n| --- | --- | --- |\n');
    for (const s of summaries) process.stdout.write(`| ${s.kind} ${s.section} | ${s.status} | ${s.headline.replace(/\|/g, '\\|')} |\n`);
    for (const s of summaries) if (s.detail) process.stdout.write(`\n${s.kind} ${s.section}:\n\n${s.detail}\n`);
  }
  return summaries.length > 0 && summaries.every((s) => s.status === 'done') ? 0 : 1;
}

/** Exit code of a run stopped by a signal (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/**
 * SIGINT and SIGTERM for `rtune run` (see the file header); `ctl` is aborted on the first Ctrl-C. Returns the
 * function that removes the handlers.
 */
export function handleRunSignals(ctl: AbortController): () => void {
  const hardStop = (why: string): void => {
    const marked = closeOpenRuns('cancelled', `cancelled: ${why}`);
    process.stderr.write(`\nstopped (${why}); ${marked.length} run folder(s) marked cancelled${marked.map((d) => `\n  ${d}`).join('')}\n`);
    process.exit(EXIT_INTERRUPTED);
  };
  const onSigint = (): void => {
    if (!ctl.signal.aborted) {
      process.stderr.write('\ncancelling: the running section stops after its current batch and keeps what it finished (Ctrl-C again to stop now)…\n');
      ctl.abort();
      return;
    }
    hardStop('a second Ctrl-C');
  };
  const onSigterm = (): void => hardStop('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  return () => {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigterm);
  };
}
