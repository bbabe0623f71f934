/**
 * The split of a statement as the demo corpus uses it: the engine's own function (common/split.ts: u = first 8 hex
 * digits of sha256(utf8(statement.trim())) / 2^32; `direction` if u < fd, `tuning` if u < fd + ft, else
 * `evaluation`), so the CSV the trainer writes is balanced within exactly the splits a `.rtune` file's `split` key reads.
 */
import { DEFAULT_SPLIT_FRACTIONS, splitFractionsProblem, splitOf as engineSplitOf, statementUnit, type SplitPart } from '../../common/split';

export type Split = SplitPart;
export const SPLITS: Split[] = ['direction', 'tuning', 'evaluation'];

export function splitU(statement: string): number {
  return statementUnit(statement);
}

export function splitOf(statement: string, fractions: readonly [number, number, number] = DEFAULT_SPLIT_FRACTIONS): { split: Split; u: number } {
  const problem = splitFractionsProblem(fractions);
  if (problem !== undefined) throw new Error(problem);
  return { split: engineSplitOf(statement, fractions), u: statementUnit(statement) };
}
