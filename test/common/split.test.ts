/**
 * The statement split of the shared spec (common/split.ts), against values computed independently with Python:
 * python3 -c 'import hashlib; s="7 is even."; print(int(hashlib.sha256(s.strip().encode()).hexdigest()[:8], 16) / 2**32)'
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { inSplit, saltedUnit, splitFractionsProblem, splitOf, SPLIT_NAMES, statementUnit } from '../../common/split';
import { PROMPT_SPLITS } from '../../protocol/contract';

describe('statement splits', () => {
  it('u of a statement is the first 32 bits of sha256 of its trimmed UTF-8 text over 2^32 (values from hashlib)', () => {
    const known: Array<[string, number]> = [
      ['7 is even.', 0.7852159808389843],
      ['0 is even.', 0.9685620698146522],
      ['Water is wet.', 0.6360585421789438],
      ['  3 is odd. ', 0.11845923005603254],
      ['', 0.8894159947521985],
    ];
    for (const [s, u] of known) assert.equal(statementUnit(s), u, JSON.stringify(s));
  });
  it('splits by the default fractions [0.4, 0.3, 0.3] and by others', () => {
    assert.equal(splitOf('  3 is odd. '), 'direction'); // u 0.118
    assert.equal(splitOf('Water is wet.'), 'tuning'); // u 0.636 < 0.7
    assert.equal(splitOf('7 is even.'), 'evaluation'); // u 0.785
    assert.equal(splitOf('7 is even.', [0.8, 0.1, 0.1]), 'direction');
    assert.equal(splitOf('7 is even.', [0.5, 0.3, 0.2]), 'tuning');
    assert.equal(splitOf('3 is odd.'), splitOf('  3 is odd. '), 'surrounding spaces do not change the split');
  });
  it('the salted draw is another hash (values from hashlib of "rtune-direction-holdout\\n" + statement)', () => {
    assert.equal(saltedUnit('7 is even.', 'rtune-direction-holdout'), 0.688719206256792);
    assert.equal(saltedUnit(' 0 is even.', 'rtune-direction-holdout'), 0.3099608060438186);
  });
  it('the three parts of a list are disjoint and cover it; same statements land together', () => {
    const items = Array.from({ length: 300 }, (_, i) => `${i % 150} is a number.`);
    const parts = (['direction', 'tuning', 'evaluation'] as const).map((s) => inSplit(items, (x) => x, s));
    assert.equal(
      parts.reduce((n, p) => n + p.length, 0),
      items.length,
    );
    const sets = parts.map((p) => new Set(p));
    for (let i = 0; i < 3; i++) for (let j = i + 1; j < 3; j++) for (const x of sets[i] as Set<string>) assert.ok(!(sets[j] as Set<string>).has(x));
    assert.deepEqual(
      inSplit(items, (x) => x, 'all'),
      items,
    );
    // Roughly the fractions (150 distinct statements: within ±0.12).
    parts.forEach((p, k) => assert.ok(Math.abs(p.length / items.length - ([0.4, 0.3, 0.3][k] as number)) < 0.12, `part ${k}: ${p.length}`));
  });
  it('fractions must be three numbers in [0, 1] summing to 1', () => {
    assert.equal(splitFractionsProblem([0.4, 0.3, 0.3]), undefined);
    assert.match(splitFractionsProblem([0.5, 0.3, 0.3]) ?? '', /sum to 1/);
    assert.match(splitFractionsProblem([0.5, 0.5]) ?? '', /three numbers/);
    assert.match(splitFractionsProblem([1.5, -0.5, 0]) ?? '', /between 0 and 1/);
  });
  it('the contract names the same splits', () => {
    assert.deepEqual([...PROMPT_SPLITS], [...SPLIT_NAMES]);
  });
});
