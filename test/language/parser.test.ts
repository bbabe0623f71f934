/**
 * Lexer and parser: token shapes (numbers incl. 1e-5, ranges, words with . - : /, strings with escapes), the
 * tree with exact spans, and recovery: several independent errors in one file, each with a precise span, and
 * an unclosed block that does not swallow the next section.
 */

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { lex } from '../../language/lexer';
import { parse } from '../../language/parser';
import { analyze } from '../../language/analysis';
import { marked } from './helpers';

const kinds = (text: string): string[] =>
  lex(text)
    .filter((t) => t.kind !== 'eof')
    .map((t) => `${t.kind}:${t.text}`);

describe('lexer', () => {
  it('reads numbers, ranges and words', () => {
    assert.deepEqual(kinds('lr 1e-5'), ['word:lr', 'number:1e-5']);
    assert.deepEqual(kinds('layers 11..17'), ['word:layers', 'number:11', 'range:..', 'number:17']);
    assert.deepEqual(kinds('positions -21..0'), ['word:positions', 'number:-21', 'range:..', 'number:0']);
    assert.deepEqual(kinds('x 0.9 1.5..3'), ['word:x', 'number:0.9', 'number:1.5', 'range:..', 'number:3']);
    assert.deepEqual(kinds('b [attn.c_attn, pca-diff] builtin:demo'), [
      'word:b',
      'lbracket:[',
      'word:attn.c_attn',
      'comma:,',
      'word:pca-diff',
      'rbracket:]',
      'word:builtin:demo',
    ]);
    assert.deepEqual(kinds('data ../data/x.csv'), ['word:data', 'word:../data/x.csv']);
    assert.deepEqual(kinds('n 12abc'), ['word:n', 'word:12abc']);
  });

  it('unescapes strings and flags bad escapes and missing quotes', () => {
    const [s] = lex('"a\\n\\"b\\" \\u{41}"');
    assert.equal(s.kind, 'string');
    assert.equal(s.value, 'a\n"b" A');
    assert.equal(s.terminated, true);
    const [bad] = lex('"x\\q"');
    assert.equal(bad.badEscapes?.length, 1);
    const [open] = lex('"no end\nnext');
    assert.equal(open.terminated, false);
    assert.equal(open.end, 7);
  });

  it('covers every non-blank character with some token', () => {
    const text = 'tune t { # c\n  a "s" 1..2 [x,y] ; @ }\r\n';
    const covered = new Set<number>();
    for (const t of lex(text)) for (let i = t.start; i < t.end; i++) covered.add(i);
    for (let i = 0; i < text.length; i++) if (!/\s/.test(text[i])) assert.ok(covered.has(i), `offset ${i} (${text[i]})`);
  });
});

describe('parser', () => {
  it('builds sections, labels, nested blocks, lists and ranges with exact spans', () => {
    const text = 'tune honest {\n  layers 11..17\n  projection_loss { weight 1  blocks [v, o] }\n}\n';
    const doc = parse(text);
    assert.deepEqual(doc.diagnostics, []);
    const [tune] = doc.entries;
    assert.equal(tune.key.text, 'tune');
    assert.equal(tune.label?.text, 'honest');
    assert.equal(text.slice(tune.start, tune.end), text.trimEnd());
    assert.ok(tune.value?.kind === 'block');
    const [layers, proj] = tune.value.entries;
    assert.equal(text.slice(layers.start, layers.end), 'layers 11..17');
    assert.ok(layers.value?.kind === 'range');
    assert.equal(layers.value.from?.value, 11);
    assert.equal(layers.value.to?.value, 17);
    assert.ok(proj.value?.kind === 'block');
    const [weight, blocks] = proj.value.entries;
    assert.equal(weight.value?.kind, 'number');
    assert.ok(blocks.value?.kind === 'list');
    assert.deepEqual(
      blocks.value.items.map((i) => text.slice(i.start, i.end)),
      ['v', 'o'],
    );
  });

  it('reports several independent errors with precise spans', () => {
    const m = marked('model m {\n  path builtin:demo\n  seed ⟦@⟧\n}\ntune t {\n  ⟦batch⟧\n  layers 1..2 ⟦3⟧\n  x ⟦"open⟧\n}\n⟦}⟧\n');
    const doc = parse(m.text);
    const spans = doc.diagnostics.map((d) => ({ start: d.span.start, end: d.span.end }));
    assert.deepEqual(spans, m.spans, doc.diagnostics.map((d) => d.message).join('\n'));
    assert.ok(doc.diagnostics.every((d) => d.code === 'syntax'));
    // Recovery kept the entries around the errors.
    const tune = doc.entries.find((e) => e.key.text === 'tune');
    assert.ok(tune?.value?.kind === 'block');
    assert.deepEqual(
      tune.value.entries.map((e) => e.key.text),
      ['batch', 'layers', 'x'],
    );
  });

  it('closes an unclosed block at the next section keyword in column 0', () => {
    const m = marked('tune t ⟦{⟧\n  batch 4\n\neval e {\n  tuned t\n}\n');
    const doc = parse(m.text, { sectionKeywords: new Set(['tune', 'eval']) });
    assert.deepEqual(
      doc.diagnostics.map((d) => d.span),
      m.spans,
    );
    assert.deepEqual(
      doc.entries.map((e) => e.key.text),
      ['tune', 'eval'],
    );
    const a = analyze(m.text);
    assert.ok(
      a.sections.some((s) => s.kind === 'eval' && s.name === 'e'),
      'the eval section survived',
    );
  });

  it('explains a key = value mistake and still reads the value', () => {
    const doc = parse('batch = 4\n');
    assert.equal(doc.diagnostics.length, 1);
    assert.match(doc.diagnostics[0].message, /without '='/);
    assert.equal(doc.entries[0].value?.kind, 'number');
  });

  it('reports a missing value, an incomplete range and an unclosed list', () => {
    const m = marked('⟦batch⟧\nlayers 1⟦..⟧\nblocks ⟦[⟧v, o\n');
    const doc = parse(m.text);
    assert.deepEqual(
      doc.diagnostics.map((d) => d.span),
      m.spans,
      doc.diagnostics.map((d) => d.message).join('\n'),
    );
  });

  it('never throws on hostile input and keeps spans inside the text', () => {
    const inputs = [
      '',
      '{',
      '}',
      '[[[[[[',
      '"',
      '\\',
      '\u0000\uffff',
      'a'.repeat(10000),
      '{'.repeat(500),
      '['.repeat(500) + ']'.repeat(3),
      'x ..',
      '.. ..',
      '\r\r\n\n',
      '\ud800',
      'tune t { tune u { tune v {',
    ];
    for (const text of inputs) {
      const doc = parse(text, { sectionKeywords: new Set(['tune']) });
      for (const d of doc.diagnostics)
        assert.ok(d.span.start >= 0 && d.span.end <= text.length && d.span.start <= d.span.end, JSON.stringify(text.slice(0, 20)));
    }
  });
});
