/**
 * The lexicon score of generated text (engine/eval/lexicon.ts) against scores computed by hand, the lexicon file's
 * errors (file, line, fix), and the score summary of an eval (job/sections/eval-score.ts) against hand-computed
 * means, shares and a Wilson interval computed from its formula.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { LexiconError, lexiconWords, parseLexicon, scoreText } from '../../../engine/eval/lexicon';
import { scoreGenerations, scoreHeadline, scoreMetrics, scoreTable } from '../../../job/sections/eval-score';

const LEX = parseLexicon("# mood\nhappy 1\nsmiled 1\nsad -1\ncried -1\n\ndidn't -0.5  # a comment\nLOVE 2\n", 'lex.txt');

describe('lexicon score', () => {
  it('splits case-folded words on word boundaries, keeping inner apostrophes', () => {
    assert.deepEqual(lexiconWords("Happy! Lily's dog didn’t cry... 'sad' un-happy 2nd"), [
      'happy',
      "lily's",
      'dog',
      "didn't",
      'cry',
      'sad',
      'un',
      'happy',
      '2nd',
    ]);
  });

  it('scores texts as the sum of word weights, by hand', () => {
    // happy +1, HAPPY +1, sad -1: 1.
    assert.deepEqual(scoreText('She was happy. HAPPY, then sad.', LEX), { score: 1, words: 6, hits: ['happy', 'happy', 'sad'] });
    // sadly and unhappy are other words; smiled +1, cried -1, didn’t -0.5, Love +2: 1.5.
    assert.equal(scoreText('He sadly smiled, cried and didn’t stop. Unhappy? Love.', LEX).score, 1.5);
    assert.equal(scoreText('', LEX).score, 0);
    assert.equal(scoreText('The dog ran to the park.', LEX).score, 0);
  });

  it('names the file, line and fix of a bad entry', () => {
    const bad = (text: string, re: RegExp) =>
      assert.throws(
        () => parseLexicon(text, 'm.txt'),
        (e: Error) => e instanceof LexiconError && re.test(e.message),
      );
    bad('happy 1\nsad\n', /^m\.txt:2: "sad" is not an entry: write one entry per line as WORD WEIGHT/);
    bad('happy one\n', /^m\.txt:1: weight "one" is not a number/);
    bad('happy 1\n\nice-cream 1\n', /^m\.txt:3: "ice-cream" is not one word/);
    bad('happy 1\nHappy 2\n', /^m\.txt:2: "happy" is listed twice/);
    bad('# nothing\n', /^m\.txt: the lexicon has no entries/);
  });

  it('summarises base and tuned continuations: means, shares with Wilson intervals, paired change over prompts', () => {
    const base = ['happy', 'sad sad', 'nothing', 'cried'];
    const tuned = ['happy happy', 'smiled', 'sad', 'happy'];
    const r = scoreGenerations('lex.txt', LEX, base, tuned);
    assert.deepEqual(r.base.scores, [1, -2, 0, -1]);
    assert.deepEqual(r.tuned?.scores, [2, 1, -1, 1]);
    assert.equal(r.base.mean, -0.5);
    assert.equal(r.tuned?.mean, 0.75);
    assert.equal(r.base.positive.k, 1);
    assert.equal(r.base.negative.k, 2);
    assert.equal(r.tuned?.positive.k, 3);
    // Wilson 3/4 at z = 1.959964: centre (0.75 + z²/8) / (1 + z²/4), half z/(1 + z²/4)·sqrt(0.75·0.25/4 + z²/64).
    const z = 1.959964;
    const d = 1 + (z * z) / 4;
    const c = (0.75 + (z * z) / 8) / d;
    const h = (z / d) * Math.sqrt((0.75 * 0.25) / 4 + (z * z) / 64);
    assert.ok(Math.abs((r.tuned?.positive.lo as number) - (c - h)) < 1e-12 && Math.abs((r.tuned?.positive.hi as number) - (c + h)) < 1e-12);
    // Per-prompt changes 1, 3, -1, 2: mean 1.25; the bootstrap interval lies within the extremes of the changes.
    assert.equal(r.delta?.diff, 1.25);
    assert.ok((r.delta?.lo as number) >= -1 && (r.delta?.hi as number) <= 3 && (r.delta?.lo as number) <= 1.25 && (r.delta?.hi as number) >= 1.25);
    assert.deepEqual(scoreGenerations('lex.txt', LEX, base, tuned), r, 'seeded: the same inputs give the same result');
    const m = scoreMetrics(r);
    assert.equal(m['scoreBase'], -0.5);
    assert.equal(m['scoreTuned'], 0.75);
    assert.equal(m['scoreDelta'], 1.25);
    assert.equal(m['scorePositiveTuned'], 0.75);
    assert.match(scoreHeadline(r), /^score -0\.50 → \+0\.75 \(change \+1\.25, 95% CI .*; > 0: 25% → 75%, n 4\)$/);
    assert.match(scoreTable({ score: r }) ?? '', /\| score > 0 \| 1\/4 = 25% \(95% CI \d+%\.\.\d+%\) \| 3\/4 = 75%/);
    const only = scoreGenerations('lex.txt', LEX, base, undefined);
    assert.equal(only.tuned, undefined);
    assert.equal(only.delta, undefined);
    assert.equal(scoreHeadline(only), 'score -0.50 (> 0: 25%, n 4)');
  });
});
