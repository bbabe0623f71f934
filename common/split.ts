/**
 * Statement splits (the shared spec of prompt sets' `split`): a statement's split is decided by its text alone,
 * `u = parseInt(sha256(utf8(statement.trim())).hex.slice(0, 8), 16) / 2**32` in [0, 1); with fractions
 * [fd, ft, fe] it is `direction` when u < fd, `tuning` when u < fd + ft, else `evaluation`. Rows with the same
 * statement text therefore land in the same split, in every prompt set and script that reads the CSV, so the
 * splits of one file are disjoint by construction. A salted variant (`saltedUnit`) gives hash draws that do not
 * correlate with the split (a direction's held-out pairs, a tune's held-out statements).
 * Used by the engine (job/prompting.ts) and importable by scripts (the demo CSV generator). Node built-ins only.
 */
import * as crypto from 'node:crypto';

/** The named parts of a CSV a prompt set may read (`all`: every row). */
export const SPLIT_NAMES = ['all', 'direction', 'tuning', 'evaluation'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];
export type SplitPart = Exclude<SplitName, 'all'>;

/** The default fractions of `direction`, `tuning` and `evaluation`. */
export const DEFAULT_SPLIT_FRACTIONS: readonly [number, number, number] = [0.4, 0.3, 0.3];

/** How far from 1 the fractions' sum may be (decimal literals such as 0.4 + 0.3 + 0.3 are not exactly 1). */
export const SPLIT_SUM_TOLERANCE = 1e-9;

/** u in [0, 1): the first 32 bits of sha256 of the UTF-8 text, over 2^32. */
function unitOf(text: string): number {
  return parseInt(crypto.createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 8), 16) / 2 ** 32;
}

/** The statement's split coordinate: u of the trimmed statement text. */
export function statementUnit(statement: string): number {
  return unitOf(statement.trim());
}

/** A draw in [0, 1) from the trimmed statement and a salt (`salt + "\n" + statement`), independent of `statementUnit`. */
export function saltedUnit(statement: string, salt: string): number {
  return unitOf(`${salt}\n${statement.trim()}`);
}

/** Why fractions are unusable, or undefined when they are three numbers in [0, 1] summing to 1. */
export function splitFractionsProblem(f: readonly number[]): string | undefined {
  if (f.length !== 3) return `split_fractions needs three numbers (direction, tuning, evaluation), found ${f.length}`;
  if (f.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) return `split_fractions must each be between 0 and 1, found [${f.join(', ')}]`;
  const sum = (f[0] as number) + (f[1] as number) + (f[2] as number);
  if (Math.abs(sum - 1) > SPLIT_SUM_TOLERANCE) return `split_fractions must sum to 1, found [${f.join(', ')}] (sum ${Number(sum.toFixed(6))})`;
  return undefined;
}

/** The split of a statement under `fractions` ([direction, tuning, evaluation]). */
export function splitOf(statement: string, fractions: readonly number[] = DEFAULT_SPLIT_FRACTIONS): SplitPart {
  const u = statementUnit(statement);
  const fd = fractions[0] ?? 0;
  const ft = fractions[1] ?? 0;
  if (u < fd) return 'direction';
  if (u < fd + ft) return 'tuning';
  return 'evaluation';
}

/** The items whose statement falls in `split` (`all` keeps every item), in their order. */
export function inSplit<T>(items: readonly T[], statement: (x: T) => string, split: SplitName, fractions: readonly number[] = DEFAULT_SPLIT_FRACTIONS): T[] {
  if (split === 'all') return [...items];
  return items.filter((x) => splitOf(statement(x), fractions) === split);
}

/**
 * Hold out a fraction of the distinct statements of `items` (in the order they first appear, e.g. after a seeded
 * shuffle): the first round(distinct × fraction) statements are held out, with every row that has them, so no
 * statement is on both sides. Without repeated statements this is the first round(n × fraction) items.
 */
export function holdoutByStatement<T>(items: readonly T[], statement: (x: T) => string, fraction: number): { held: T[]; rest: T[] } {
  const order: string[] = [];
  const seen = new Set<string>();
  for (const x of items) {
    const s = statement(x).trim();
    if (!seen.has(s)) {
      seen.add(s);
      order.push(s);
    }
  }
  const heldSet = new Set(order.slice(0, Math.round(order.length * fraction)));
  const held: T[] = [];
  const rest: T[] = [];
  for (const x of items) (heldSet.has(statement(x).trim()) ? held : rest).push(x);
  return { held, rest };
}
