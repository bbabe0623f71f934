/**
 * What every handler receives: the document store, the results reader, a logger and the options the client
 * chose, plus `safely`, the fail-soft wrapper: a handler that throws is logged and answered with a neutral
 * value, so one broken feature never takes the server down (yaml-language-server's doHover pattern).
 * Non-goals: no state of its own beyond these references.
 */

import type { DocumentStore } from './documents';
import type { ResultsReader } from './results-reader';

export interface ServerContext {
  readonly store: DocumentStore;
  readonly results: ResultsReader;
  readonly inlineResults: boolean;
  log(message: string): void;
}

export function safely<T>(ctx: ServerContext, feature: string, fallback: T, run: () => T): T {
  try {
    return run();
  } catch (e) {
    ctx.log(`[${feature}] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return fallback;
  }
}
