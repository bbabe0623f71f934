/**
 * Block-search candidates (METHOD.md §8): which blocks each loss trains in one trial. Pure, so the engine's
 * search (engine/method/search.ts) and the language server's trial count and "no candidates" check
 * (language/rules.ts) enumerate the same list.
 *
 * 'separate' = (non-empty subset of the token-loss candidates) x (non-empty subset of the projection-loss
 * candidates); with the research's token blocks {gate, up, down} and projection blocks {q, k, v, o} that is
 * 7 x 15 = 105 pairs, in the research's order (subsets by size, then lexicographic; token subset outer, so
 * trial = i_tok * 15 + i_proj + 1). An empty candidate list means that loss trains nothing (one choice, []).
 * 'joint' = every non-empty subset of all candidate blocks, trained by both losses (127 for the 7 blocks).
 * `maxBlocks` bounds each subset (per loss in 'separate': k in n choose k).
 *
 * With `resolve` (what a block list trains, as a canonical key: model/blocks.ts `slicesKey`), a subset that
 * trains nothing is dropped, and so is one that trains exactly what an earlier subset trains: `gate` on GPT-2
 * resolves to nothing, so {gate, up} is {up} again. Subsets come smallest first, so the kept spelling of each
 * parameter set is its shortest. Non-goals: running trials (engine/method/search.ts).
 */
import type { SearchSets } from '../protocol/contract';

/** One candidate: the generic blocks each loss trains. */
export interface BlockCandidate {
  tokenBlocks: string[];
  projectionBlocks: string[];
}

/** What a block list trains, as a canonical key; '' when it trains nothing. */
export type ResolveBlocks = (blocks: readonly string[]) => string;

/** Non-empty subsets of `items`, by size, then lexicographic by index (itertools.combinations order). */
export function subsets<T>(items: readonly T[], maxSize = items.length): T[][] {
  const out: T[][] = [];
  const pick = (start: number, k: number, acc: T[]): void => {
    if (acc.length === k) {
      out.push([...acc]);
      return;
    }
    for (let i = start; i < items.length; i++) {
      acc.push(items[i] as T);
      pick(i + 1, k, acc);
      acc.pop();
    }
  };
  for (let k = 1; k <= Math.min(maxSize, items.length); k++) pick(0, k, []);
  return out;
}

/**
 * The subsets one loss chooses from: non-empty subsets of at most `maxBlocks` candidates, without those that
 * train nothing or repeat an earlier subset's parameters (with `resolve`). No candidates: the single choice [].
 */
export function blockSubsets(candidates: readonly string[], maxBlocks?: number, resolve?: ResolveBlocks): string[][] {
  const unique = [...new Set(candidates)];
  if (unique.length === 0) return [[]];
  const all = subsets(unique, maxBlocks ?? unique.length);
  if (resolve === undefined) return all;
  const seen = new Set<string>();
  return all.filter((s) => {
    const key = resolve(s);
    if (key === '' || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Candidate block sets. 'separate': token subsets (outer) x projection subsets (inner). 'joint': subsets of the
 * union (token candidates first, then projection candidates, duplicates dropped), both losses on the same set.
 */
export function enumerateBlockSets(
  candidatesTok: readonly string[],
  candidatesProj: readonly string[],
  sets: SearchSets,
  maxBlocks?: number,
  resolve?: ResolveBlocks,
): BlockCandidate[] {
  if (sets === 'joint') {
    const union = [...new Set([...candidatesTok, ...candidatesProj])];
    if (union.length === 0) return [];
    return blockSubsets(union, maxBlocks, resolve).map((s) => ({ tokenBlocks: s, projectionBlocks: [...s] }));
  }
  const tok = blockSubsets(candidatesTok, maxBlocks, resolve);
  const proj = blockSubsets(candidatesProj, maxBlocks, resolve);
  if (candidatesTok.length === 0 && candidatesProj.length === 0) return [];
  const out: BlockCandidate[] = [];
  for (const t of tok) for (const p of proj) out.push({ tokenBlocks: t, projectionBlocks: p });
  return out;
}

/** Number of candidates `enumerateBlockSets` returns, without building the pairs. */
export function countBlockSets(
  candidatesTok: readonly string[],
  candidatesProj: readonly string[],
  sets: SearchSets,
  maxBlocks?: number,
  resolve?: ResolveBlocks,
): number {
  if (sets === 'joint') return enumerateBlockSets(candidatesTok, candidatesProj, 'joint', maxBlocks, resolve).length;
  if (candidatesTok.length === 0 && candidatesProj.length === 0) return 0;
  return blockSubsets(candidatesTok, maxBlocks, resolve).length * blockSubsets(candidatesProj, maxBlocks, resolve).length;
}
