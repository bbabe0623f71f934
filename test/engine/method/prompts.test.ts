/** Templates, anchored positions and the statements CSV. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { anchor, parseStatementsCsv, renderTemplate } from '../../../engine/method/prompts';
import { loadTokenizer } from '../../../engine/tokenizer';
import { missingShared, sharedData } from '../../helpers';

describe('prompts', () => {
  it('renders templates and rejects unknown placeholders', () => {
    assert.equal(renderTemplate('{persona} says {{x}}: {statement}', { persona: 'P', statement: 'S' }), 'P says {x}: S');
    assert.throws(() => renderTemplate('{nope}', { a: '1' }), /\{nope\} has no value \(known: \{a\}\)/);
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

  it('parses statement CSVs (the research facts file) and reports bad rows with file and line', { skip: missingShared('repe-facts', 'facts_true_false.csv') }, () => {
    const rows = parseStatementsCsv(fs.readFileSync(sharedData('repe-facts', 'facts_true_false.csv'), 'utf8'), 'facts.csv');
    assert.equal(rows.length, 612);
    assert.equal(rows.filter((r) => r.truth).length, 306);
    assert.throws(() => parseStatementsCsv('statement,label\n"a, b",1\nc,yes\n', 'x.csv'), /x\.csv:3: label must be 1/);
    assert.throws(() => parseStatementsCsv('text,y\n', 'x.csv'), /x\.csv:1: the header/);
    assert.deepEqual(parseStatementsCsv('statement,label\r\n"say ""hi""",0\r\n', 'x.csv'), [{ statement: 'say "hi"', truth: false }]);
  });
});
