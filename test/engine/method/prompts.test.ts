/** Templates, anchored positions and the statements CSV. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { anchor, contrastPairs, correctPairs, parseStatementsCsv, promptBeforeLabel, renderTemplate, type StatementRow } from '../../../engine/method/prompts';
import { loadTokenizer } from '../../../engine/tokenizer';
import { missingShared, sharedData } from '../../helpers';

describe('prompts', () => {
  it('renders templates and rejects unknown placeholders', () => {
    assert.equal(renderTemplate('{persona} says {{x}}: {statement}', { persona: 'P', statement: 'S' }), 'P says {x}: S');
    assert.throws(() => renderTemplate('{nope}', { a: '1' }), /\{nope\} has no value \(known: \{a\}\)/);
  });

  it('refuses braces that form no placeholder instead of rendering them as text', () => {
    const vars = { persona: 'P', statement: 'S', label: 'A' };
    // The docs' old example: {persona never closed, so both personas rendered the same prompt.
    const broken = '{persona Is the following claim true or false? "{statement}"\n\nAnswer: {label}}';
    assert.throws(() => renderTemplate(broken, vars, 'prompts facts'), /^Error: prompts facts: "\{persona" is not closed: close it with \}.*\(and 1 more\)$/);
    assert.throws(() => renderTemplate('{statement} }', vars), /"\}" that closes no placeholder: write \}\} for a literal brace, at character 13/);
    assert.throws(() => renderTemplate('{ statement }', vars), /write \{statement\}/);
    assert.throws(() => renderTemplate('{} {statement}', vars), /empty placeholder/);
    assert.throws(() => renderTemplate('{"a": 1} {statement}', vars), /"\{" that starts no placeholder: write \{\{/);
    assert.equal(renderTemplate('{{persona}} {{"a": 1}} {persona}', vars), '{persona} {"a": 1} P');
    // Only the caller's own names are values (not Object.prototype's).
    assert.throws(() => renderTemplate('{constructor} {statement}', vars), /\{constructor\} has no value/);
    assert.throws(() => promptBeforeLabel('{persona Answer: {label}', vars, 'prompts liar'), /^Error: prompts liar: "\{persona" is not closed/);
  });

  it('anchors positions by marker on a real tokenizer (GPT-2), independent of what follows', { skip: missingShared('hf-tiny-gpt2-random') }, () => {
    const tok = loadTokenizer(sharedData('hf-tiny-gpt2-random'));
    const text = 'Question: is water wet?\n\nAnswer: A';
    const a = anchor(tok, text, 'Answer:');
    assert.equal(tok.decode([a.ids[a.position] as number]), ':');
    assert.equal(tok.decode(a.ids.slice(0, a.position + 1)), 'Question: is water wet?\n\nAnswer:');
    const b = anchor(tok, 'Question: is water wet?\n\nAnswer: B because', 'Answer:', -1);
    assert.equal(tok.decode([b.ids[b.position] as number]), 'Answer');
    assert.throws(() => anchor(tok, text, 'Reply:'), /does not occur/);
    assert.throws(() => anchor(tok, text, 'Answer:', 5), /outside the prompt/);
  });

  it(
    'parses statement CSVs (the research facts file) and reports bad rows with file and line',
    { skip: missingShared('repe-facts', 'facts_true_false.csv') },
    () => {
      const rows = parseStatementsCsv(fs.readFileSync(sharedData('repe-facts', 'facts_true_false.csv'), 'utf8'), 'facts.csv');
      assert.equal(rows.length, 612);
      assert.equal(rows.filter((r) => r.truth).length, 306);
      assert.throws(() => parseStatementsCsv('statement,label\n"a, b",1\nc,yes\n', 'x.csv'), /x\.csv:3: label must be 1/);
      assert.throws(() => parseStatementsCsv('text,y\n', 'x.csv'), /x\.csv:1: the header/);
      assert.deepEqual(parseStatementsCsv('statement,label\r\n"say ""hi""",0\r\n', 'x.csv'), [{ statement: 'say "hi"', truth: false }]);
      // CRLF and lone CR end rows and, inside a quoted field, are read as \n; line numbers count every kind.
      assert.deepEqual(parseStatementsCsv('statement,label\r\n"one\r\ntwo",1\r"three\rfour",0\n', 'x.csv'), [
        { statement: 'one\ntwo', truth: true },
        { statement: 'three\nfour', truth: false },
      ]);
      assert.throws(() => parseStatementsCsv('statement,label\r\n"a\r\nb",1\r\n"c\rd",1\rx,2\r\n', 'x.csv'), /x\.csv:6: label must be 1/);
    },
  );

  const rows: StatementRow[] = [
    { statement: 't1', truth: true },
    { statement: 'f1', truth: false },
    { statement: 't2', truth: true },
    { statement: 't3', truth: true },
    { statement: 'f2', truth: false },
  ];
  const show = (x: ReturnType<typeof contrastPairs>) =>
    x.pairs.map(
      (p) => `${p.positive.persona}:${p.positive.row.statement}:${p.positive.label} | ${p.negative.persona}:${p.negative.row.statement}:${p.negative.label}`,
    );

  it('a CSV with only a header (or blank lines after it) is an error naming the file and the fix, not a crash later', () => {
    for (const text of ['statement,label\n', 'statement,label', 'statement,label\r\n\r\n\n']) {
      assert.throws(
        () => parseStatementsCsv(text, 'only-header.csv'),
        /^Error: only-header\.csv: the file has a header but no statements; add one per line after the header/,
      );
    }
    // A byte-order mark (as spreadsheets write) does not hide the first column, here or in the editor's header check.
    assert.deepEqual(parseStatementsCsv('\ufeffstatement,label\nx,1\n', 'bom.csv'), [{ statement: 'x', truth: true }]);
  });

  it('builds paired contrast sets: same statement, different persona and label', () => {
    const c = contrastPairs(rows, 'paired');
    assert.equal(c.unmatched, 0);
    assert.deepEqual(show(c).slice(0, 2), ['positive:t1:true | negative:t1:false', 'positive:f1:false | negative:f1:true']);
  });

  it('builds unpaired contrast sets as the research did (METHOD §4.1): same label, different persona and statement', () => {
    const c = contrastPairs(rows, 'unpaired');
    // 3 true and 2 false statements: 2 matches, each used twice (once per label), one true statement left over.
    assert.equal(c.unmatched, 1);
    assert.deepEqual(show(c), [
      'positive:t1:true | negative:f1:true',
      'positive:t2:true | negative:f2:true',
      'positive:f1:false | negative:t1:false',
      'positive:f2:false | negative:t2:false',
    ]);
    // Every pair shares its label, and each side answers as its persona should: honest = truthful, dishonest = lie.
    for (const p of c.pairs) {
      assert.equal(p.positive.label, p.negative.label);
      assert.equal(p.positive.label === 'true', p.positive.row.truth);
      assert.equal(p.negative.label === 'true', !p.negative.row.truth);
    }
  });

  it('builds by_label contrast sets: rows labelled 1 against rows labelled 0, in file order', () => {
    const c = contrastPairs(rows, 'by_label');
    assert.deepEqual(show(c), ['positive:t1:true | negative:f1:false', 'positive:t2:true | negative:f2:false']);
    assert.equal(c.unmatched, 1);
  });

  it('cuts the answer prompt before {label} and refuses templates without it', () => {
    assert.equal(promptBeforeLabel('{persona}\nQ: {statement}\nAnswer: {label}', { persona: 'P', statement: 'S' }), 'P\nQ: S\nAnswer:');
    assert.equal(promptBeforeLabel('Answer: {label} because', { statement: 'S' }), 'Answer:');
    assert.throws(
      () => promptBeforeLabel('Q: {statement}', { statement: 'S' }, 'prompts liar'),
      /prompts liar has no \{label\} placeholder.*remove correct_only/,
    );
  });

  it('keeps a pair only when both sides prefer their own label (coronly)', () => {
    const c = contrastPairs(rows, 'unpaired');
    const T = { logitTrue: 2, logitFalse: 1 };
    const F = { logitTrue: 0, logitFalse: 3 };
    const tie = { logitTrue: 1, logitFalse: 1 };
    // Pairs 0-1 want (true, true); pairs 2-3 want (false, false).
    assert.deepEqual(correctPairs(c.pairs, [T, T, F, F], [T, F, F, tie]), [true, false, true, false]);
    assert.throws(() => correctPairs(c.pairs, [T], [T]), /4 pairs but 1 positive/);
  });
});
