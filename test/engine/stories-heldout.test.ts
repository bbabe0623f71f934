/**
 * The held-out openings of examples/stories.rtune (examples/data/stories-sad-heldout.csv) are what
 * scripts/gen-stories-heldout.ts writes, and they are held out: no name or scene word of theirs occurs in the tuning
 * data (stories-mood.csv, stories-sad.csv), and every word they share with it is a function word or a mood word.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lexiconWords } from '../../engine/eval/lexicon';
import { HELDOUT_CSV, NAMES, SCENES, heldoutCsv, heldoutRows } from '../../scripts/gen-stories-heldout';
import { REPO_ROOT } from '../helpers';

const data = (f: string) => fs.readFileSync(path.join(REPO_ROOT, 'examples', 'data', f), 'utf8');
const tuningWords = new Set([...lexiconWords(data('stories-mood.csv')), ...lexiconWords(data('stories-sad.csv'))]);

/** Words the held-out openings may share with the tuning data: function words and the sad words of the endings. */
const SHARED_OK = new Set('a and did he her his in it not of on she the to very was could felt sad cry want label statement 0 1'.split(' '));

describe('stories held-out openings', () => {
  it('the committed CSV is what the seeded script writes: at least 100 distinct openings, all label 0', () => {
    assert.equal(data(path.basename(HELDOUT_CSV)), heldoutCsv());
    const rows = heldoutRows();
    assert.ok(rows.length >= 100, `${rows.length} rows`);
    assert.equal(new Set(rows.map((r) => r.statement)).size, rows.length);
    assert.equal(new Set(rows.map((r) => r.scene)).size, SCENES.length);
  });

  it('no name or scene word of the held-out set occurs in the tuning CSVs', () => {
    const clash = [...NAMES.map((n) => n.name.toLowerCase()), ...SCENES.flatMap((s) => s.words)].filter((w) => tuningWords.has(w));
    assert.deepEqual(clash, []);
    for (const s of SCENES) for (const w of s.words) assert.ok(lexiconWords(s.text).includes(w), `"${w}" is a word of "${s.text}"`);
    // A name followed by 's is its own word ("nora's"): neither form is in the tuning data.
    for (const n of NAMES) assert.ok(!tuningWords.has(`${n.name.toLowerCase()}'s`), n.name);
  });

  it('every word the held-out set shares with the tuning CSVs is a function word or a mood word', () => {
    const shared = [...new Set(lexiconWords(data(path.basename(HELDOUT_CSV))))].filter((w) => tuningWords.has(w) && !SHARED_OK.has(w));
    assert.deepEqual(shared, []);
  });
});
