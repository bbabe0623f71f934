/**
 * One job at a time, the rest waiting in order: jobs share one backend (one GPU, or the CPU cores), so running
 * two at once would only make both slower and could exhaust memory. Pure: starting a job is an injected
 * function, so the tests drive the queue with fake jobs and the extension with worker processes.
 */

import type { FinalStatus, RunStatus } from '../protocol/contract';

export type JobState = 'queued' | RunStatus;

export interface JobOutcome {
  status: FinalStatus;
  message?: string;
}

/** A started job: `cancel` asks it to stop (it still settles `done`, normally as cancelled). */
export interface JobHandle {
  cancel(): void;
  done: Promise<JobOutcome>;
}

export interface Job<S> {
  readonly id: number;
  readonly title: string;
  readonly spec: S;
  state: JobState;
  outcome?: JobOutcome;
  /** Settles when the job ends, however it ends (never rejects). */
  readonly finished: Promise<JobOutcome>;
}

export class JobQueue<S> {
  private nextId = 1;
  private readonly waiting: Job<S>[] = [];
  private current: { job: Job<S>; handle: JobHandle } | undefined;
  private readonly settle = new Map<number, (o: JobOutcome) => void>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly start: (job: Job<S>) => JobHandle) {}

  get running(): Job<S> | undefined {
    return this.current?.job;
  }

  get queued(): readonly Job<S>[] {
    return this.waiting;
  }

  /** Called after every state change (enqueue, start, finish, cancel). Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  enqueue(title: string, spec: S): Job<S> {
    let resolve!: (o: JobOutcome) => void;
    const finished = new Promise<JobOutcome>((r) => (resolve = r));
    const job: Job<S> = { id: this.nextId++, title, spec, state: 'queued', finished };
    this.settle.set(job.id, resolve);
    this.waiting.push(job);
    this.changed();
    this.pump();
    return job;
  }

  /**
   * Cancels a job: the running one by default, or the one with `id` (a queued job is removed without starting).
   * Returns false when there was nothing to cancel.
   */
  cancel(id?: number): boolean {
    if (this.current && (id === undefined || this.current.job.id === id)) {
      this.current.handle.cancel();
      return true;
    }
    const i = this.waiting.findIndex((j) => j.id === id);
    if (id === undefined || i < 0) return false;
    const [job] = this.waiting.splice(i, 1);
    if (job) this.end(job, { status: 'cancelled', message: 'cancelled before it started' });
    return true;
  }

  /** Cancels the running job and everything queued. */
  cancelAll(): void {
    for (const j of [...this.waiting]) this.cancel(j.id);
    this.cancel();
  }

  private end(job: Job<S>, outcome: JobOutcome): void {
    job.state = outcome.status;
    job.outcome = outcome;
    this.settle.get(job.id)?.(outcome);
    this.settle.delete(job.id);
    this.changed();
  }

  private pump(): void {
    if (this.current) return;
    const job = this.waiting.shift();
    if (!job) return;
    job.state = 'running';
    let handle: JobHandle;
    try {
      handle = this.start(job);
    } catch (e) {
      this.end(job, { status: 'failed', message: e instanceof Error ? e.message : String(e) });
      this.pump();
      return;
    }
    this.current = { job, handle };
    this.changed();
    void handle.done
      .catch((e: unknown): JobOutcome => ({ status: 'failed', message: e instanceof Error ? e.message : String(e) }))
      .then((outcome) => {
        this.current = undefined;
        this.end(job, outcome);
        this.pump();
      });
  }

  private changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        // a listener's failure must not stop the queue
      }
    }
  }
}
