/**
 * The stable failure category of an error thrown by a job (JobFailed['kind'], the worker's error message), told
 * by the error's type, never by its text: a message that happens to say "Inf" or "info" is not a numerics
 * failure. Errors of other types are `internal`; input errors are found before a job starts (diagnostics).
 */
import { BackendError } from '../engine/backend';
import { LexiconError } from '../engine/eval/lexicon';
import { CancelledError } from '../engine/util/cancel';
import { NumericsError } from '../engine/util/numerics';
import type { JobFailed } from '../protocol/job';
import { PreflightError } from './preflight';
import { CheckpointError } from './checkpoint';
import { HubError } from '../hub/download';

export function failureKind(e: unknown): JobFailed['kind'] {
  if (e instanceof CancelledError) return 'cancelled';
  if (e instanceof NumericsError) return 'numerics';
  if (e instanceof PreflightError) return 'input';
  if (e instanceof BackendError && e.kind === 'memory') return 'memory';
  // A run folder given with --from that cannot be used (another model, unfinished, not a tune's).
  if (e instanceof CheckpointError) return 'input';
  // A Hub model that cannot be had: access refused, not found, offline and not cached, a corrupt download.
  if (e instanceof HubError) return 'input';
  // A `generate.score.lexicon` file with a malformed line (its message names the file and line).
  if (e instanceof LexiconError) return 'input';
  return 'internal';
}
