/**
 * Which sections a run executes. Asking for one section runs what it stands on first: a tune needs its direction,
 * a search its tune (and that tune's direction), an eval the tune it compares and the direction it steers with, an
 * export the tune and direction it writes, a compare the evals it tabulates. Results pass between sections in memory (the runner keeps tuned weights
 * as host arrays), so "Run Tuning" on `tune honest` plans `direction honesty` in the same job; whether a planned
 * direction or tune is computed or loaded from a finished run folder with the same inputs is decided when it runs
 * (job/checkpoint.ts), not here.
 * Pure: no engine, no file system.
 */
import type { RunConfig, RunKind, SectionRef } from '../protocol/contract';

/** The contract's run kinds. */
export type RunnableKind = RunKind;

export function isRunnable(r: SectionRef): r is SectionRef & { kind: RunnableKind } {
  return r.kind !== 'model' && r.kind !== 'prompts';
}

/** The sections a section needs to have run before it (direct prerequisites only). */
export function prerequisitesOf(config: RunConfig, ref: SectionRef): SectionRef[] {
  const out: SectionRef[] = [];
  const dir = (name: string | undefined): void => {
    if (name !== undefined && config.directions[name] !== undefined) out.push({ kind: 'direction', name } as SectionRef);
  };
  const tune = (name: string | undefined): void => {
    if (name !== undefined && config.tunes[name] !== undefined) out.push({ kind: 'tune', name } as SectionRef);
  };
  switch (ref.kind) {
    case 'direction':
      dir(config.directions[ref.name]?.projectOut);
      break;
    case 'tune':
      dir(config.tunes[ref.name]?.direction);
      break;
    case 'search':
      tune(config.searches[ref.name]?.tune);
      break;
    case 'eval': {
      const e = config.evals[ref.name];
      tune(e?.tuned);
      dir(e?.steering?.direction);
      dir(e?.projection?.direction);
      break;
    }
    case 'export': {
      const x = config.exports[ref.name];
      tune(x?.tune);
      dir(x?.direction);
      break;
    }
    case 'compare':
      for (const name of config.compares[ref.name]?.evals ?? []) if (config.evals[name] !== undefined) out.push({ kind: 'eval', name } as SectionRef);
      break;
    default:
      break;
  }
  return out;
}

/**
 * The runnable sections to execute, in file order (compare sections last: they read the evals' results), the named ones (all runnable sections when `names` is empty),
 * plus, when `prerequisites` is on, everything they transitively stand on. A search is never pulled in as a
 * prerequisite (nothing consumes its result). `given` names tunes whose result the run already has (loaded from a
 * run folder): they are not run, nor what only they stand on. Throws on an unknown name, listing the sections there are.
 */
export function planSections(config: RunConfig, names: readonly string[], opts: { prerequisites?: boolean; given?: readonly string[] } = {}): SectionRef[] {
  const runnable = config.order.filter(isRunnable);
  const unknown = names.filter((n) => !runnable.some((r) => r.name === n));
  if (unknown.length > 0) {
    throw new Error(`no runnable section named ${unknown.join(', ')} (have: ${runnable.map((r) => `${r.kind} ${r.name}`).join(', ') || 'none'})`);
  }
  const lastCompares = (refs: SectionRef[]): SectionRef[] => [...refs.filter((r) => r.kind !== 'compare'), ...refs.filter((r) => r.kind === 'compare')];
  if (names.length === 0) return lastCompares(runnable);
  const key = (r: SectionRef): string => `${r.kind}\u241f${r.name}`;
  const wanted = new Set<string>();
  const visit = (r: SectionRef): void => {
    // A tune given from a run folder (`--from`) is neither run nor a reason to run its direction.
    if (wanted.has(key(r)) || (r.kind === 'tune' && opts.given?.includes(r.name) === true)) return;
    wanted.add(key(r));
    if (opts.prerequisites === true) for (const p of prerequisitesOf(config, r)) visit(p);
  };
  for (const r of runnable) if (names.includes(r.name)) visit(r);
  return lastCompares(runnable.filter((r) => wanted.has(key(r))));
}
