/**
 * The split-overlap warning: two prompt sets that read the same CSV, one feeding a direction and the other a
 * tune's training or an eval's A/B (or one a tune and the other an A/B evaluation), share statements unless
 * their `split`s are different parts under the same `split_fractions`. Statements a direction was estimated
 * from, or a tune trained on, then inflate the evaluation. Files that name no `split` anywhere in the pair (the
 * layout before splits existed) are not warned about. Non-goals: reading the CSV (splits are disjoint by
 * construction, common/split.ts).
 */
import type { AnalysisCore, SectionInfo } from './lower';
import { at, report, type Sink } from './rule-helpers';

type Role = 'direction' | 'tune' | 'ab';

interface Use {
  set: SectionInfo;
  role: Role;
  /** The section that reads it, as prose: "direction `honesty`". */
  by: string;
}

function usesOf(a: AnalysisCore): Use[] {
  const out: Use[] = [];
  const add = (name: string | undefined, role: Role, by: string): void => {
    const set = name !== undefined ? a.section('prompts', name) : undefined;
    if (set !== undefined) out.push({ set, role, by });
  };
  for (const d of a.sectionsOf('direction')) if (d.values.str('method') !== 'random') add(d.values.str('prompts'), 'direction', `direction \`${d.name}\``);
  for (const t of a.sectionsOf('tune')) add(t.values.str('prompts'), 'tune', `tune \`${t.name}\``);
  for (const e of a.sectionsOf('eval')) {
    if (!e.values.has('ab')) continue;
    const ab = e.values.block('ab');
    // `holdout true` reads the tuned run's held-out statements, not the ab prompt set's rows.
    const holdout = ab.has('holdout') ? ab.flag('holdout') : e.values.has('tuned') && !ab.has('prompts');
    if (!holdout) {
      const named = ab.refs('prompts');
      const sets = named ?? [e.values.has('tuned') ? a.section('tune', e.values.str('tuned') ?? '')?.values.str('prompts') : undefined];
      for (const n of sets) add(n, 'ab', `eval \`${e.name}\`'s ab`);
    }
  }
  return out;
}

const fractionsOf = (s: SectionInfo): string => (s.values.numbers('split_fractions') ?? [0.4, 0.3, 0.3]).join(',');
const splitOf = (s: SectionInfo): string => s.values.str('split') ?? 'all';

/** Whether two sets' splits can hold the same statement. */
function overlaps(x: SectionInfo, y: SectionInfo): boolean {
  const sx = splitOf(x);
  const sy = splitOf(y);
  if (sx === 'all' || sy === 'all') return true;
  if (fractionsOf(x) !== fractionsOf(y)) return true;
  return sx === sy;
}

export function checkSplitOverlaps(a: AnalysisCore, sink: Sink): void {
  const uses = usesOf(a);
  const seen = new Set<string>();
  for (let i = 0; i < uses.length; i++) {
    for (let j = i + 1; j < uses.length; j++) {
      const u = uses[i] as Use;
      const w = uses[j] as Use;
      if (u.role === w.role) continue;
      const [x, y] = u.set.entry.start <= w.set.entry.start ? [u, w] : [w, u];
      if (!x.set.values.has('split') && !y.set.values.has('split')) continue;
      const rawX = x.set.values.str('data');
      const rawY = y.set.values.str('data');
      if (rawX === undefined || rawY === undefined) continue;
      const fileX = a.resolvePath(rawX) ?? rawX;
      const fileY = a.resolvePath(rawY) ?? rawY;
      if (fileX !== fileY || !overlaps(x.set, y.set)) continue;
      const key = `${x.set.name}\u0000${y.set.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const where = at(y.set.values, 'split', y.set.headerSpan);
      const fractions =
        fractionsOf(x.set) !== fractionsOf(y.set) ? ' (their `split_fractions` differ, so even different splits overlap: use the same fractions)' : '';
      if (x.set === y.set) {
        report(
          sink,
          where,
          `prompt set \`${x.set.name}\` feeds both ${x.by} and ${y.by}, so they share statements (it reads ${rawX}); give them two prompt sets over ${rawX} with different \`split\`s (e.g. \`split direction\`, \`split tuning\`, \`split evaluation\`)`,
          'warning',
        );
      } else {
        report(
          sink,
          where,
          `prompt sets \`${x.set.name}\` and \`${y.set.name}\` share statements (both read ${rawX}); give them different \`split\`s: \`${x.set.name}\` feeds ${x.by}, \`${y.set.name}\` feeds ${y.by}${fractions}`,
          'warning',
        );
      }
    }
  }
}
