/**
 * The split of a statement, decided by its text only (the spec shared with the engine, to be unified with the
 * engine's copy): u = first 8 hex digits of sha256(utf8(statement.trim())) / 2^32; with fractions [fd, ft, fe]
 * (default [0.4, 0.3, 0.3]) the statement is in `direction` if u < fd, `tuning` if u < fd + ft, else `evaluation`.
 */
import { createHash } from 'node:crypto';

export type Split = 'direction' | 'tuning' | 'evaluation';
export const SPLITS: Split[] = ['direction', 'tuning', 'evaluation'];

export function splitU(statement: string): number {
  return parseInt(createHash('sha256').update(statement.trim(), 'utf8').digest('hex').slice(0, 8), 16) / 2 ** 32;
}

export function splitOf(statement: string, fractions: readonly [number, number, number] = [0.4, 0.3, 0.3]): { split: Split; u: number } {
  const [fd, ft, fe] = fractions;
  if (Math.abs(fd + ft + fe - 1) > 1e-9) throw new Error(`split fractions ${fractions.join(', ')} must sum to 1`);
  const u = splitU(statement);
  return { split: u < fd ? 'direction' : u < fd + ft ? 'tuning' : 'evaluation', u };
}
