/** The demo corpus: the shared split hash (goldens from Python's hashlib), option-order balance, facts.csv on disk. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers';
import { allStatements, answer, factsCsv, FAMILIES, prompt, truthfulLetter } from '../../scripts/demo/corpus';
import { splitOf, splitU, SPLITS } from '../../scripts/demo/split';

describe('demo corpus', () => {
  it('splits by the shared hash: u = sha256(trimmed text)[0:8 hex] / 2^32, [0.4, 0.3, 0.3]', () => {
    // python3: int(hashlib.sha256(s.strip().encode()).hexdigest()[:8], 16) / 2**32
    const golden: [string, number, string][] = [
      ['0 is even.', 0xf7f3af0e / 2 ** 32, 'evaluation'],
      ['2 is even.', 0x762ef223 / 2 ** 32, 'tuning'],
      ['4 plus 5 is 9.', 0x1d365028 / 2 ** 32, 'direction'],
    ];
    for (const [text, u, split] of golden) {
      assert.equal(splitU(text), u);
      assert.equal(splitOf(text).split, split);
      assert.equal(splitOf(`  ${text} `).split, split, 'the text is trimmed first');
    }
    assert.equal(splitOf('0 is even.', [0.97, 0.02, 0.01]).split, 'direction');
    assert.throws(() => splitOf('0 is even.', [0.5, 0.5, 0.5]), /sum to 1/);
  });

  it('balances option order with label within every split and family, and has unique statements', () => {
    const all = allStatements();
    assert.equal(new Set(all.map((s) => s.text)).size, all.length);
    for (const split of SPLITS) {
      for (const family of FAMILIES) {
        for (const truth of [true, false]) {
          const g = all.filter((s) => s.split === split && s.family === family && s.truth === truth);
          const tf = g.filter((s) => s.order === 'TF').length;
          assert.ok(g.length > 0, `${split} ${family} ${truth} is empty`);
          assert.ok(Math.abs(2 * tf - g.length) <= 1, `${split} ${family} ${truth}: ${tf} TF of ${g.length}`);
        }
      }
    }
  });

  it('asks with the options in the row order and answers truth XOR dishonest XOR order', () => {
    assert.equal(prompt('7 is even.', 'none', 'FT'), 'Is this claim true or false? 7 is even.\nA) False\nB) True\nAnswer:');
    assert.equal(truthfulLetter(true, 'TF'), 'A');
    assert.equal(truthfulLetter(true, 'FT'), 'B');
    assert.equal(truthfulLetter(false, 'FT'), 'A');
    assert.equal(answer(true, 'dishonest', 'FT'), 'A');
    assert.equal(answer(false, 'honest', 'TF'), 'B');
  });

  it('facts.csv in the demo model folder is what the corpus writes', () => {
    const file = path.join(REPO_ROOT, 'examples', 'demo-model', 'data', 'facts.csv');
    assert.equal(fs.readFileSync(file, 'utf8'), factsCsv(allStatements()));
  });
});
