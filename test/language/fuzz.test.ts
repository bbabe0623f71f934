/**
 * Fuzz: 10,000+ seeded random mutations of the example files (deleted, duplicated and swapped tokens, random
 * bytes, inserted punctuation, truncation). For every mutant the parser, lowering and every editor feature
 * must return without throwing, every span must lie inside the document, and formatting must stay idempotent.
 * A failure prints the seed, the iteration and the mutant so it can be replayed. Override the count with
 * RTUNE_FUZZ_N (e.g. RTUNE_FUZZ_N=100000 for a long run).
 */

import { Rng } from '../../engine/util/random';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Analysis, analyze } from '../../language/analysis';
import { codeLenses } from '../../language/features/codelens';
import { complete } from '../../language/features/completion';
import { definition } from '../../language/features/definition';
import { formatDocument } from '../../language/features/format';
import { hover } from '../../language/features/hover';
import { resultFolders } from '../../language/features/results';
import { OutlineSymbol, foldingRanges, outline } from '../../language/features/symbols';
import { lex } from '../../language/lexer';
import { parse } from '../../language/parser';
import { Span, lineStarts } from '../../language/text';
import { env, examplesDir, readExample, repoRoot } from './helpers';

const N = Number(process.env['RTUNE_FUZZ_N'] ?? 10000);
const SEED = Number(process.env['RTUNE_FUZZ_SEED'] ?? 20261127);

/** Seeded uniform [0, 1) draws from the engine's generator (engine/util/random.ts). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

const JUNK = [
  '{',
  '}',
  '[',
  ']',
  '"',
  '..',
  ',',
  ';',
  '#',
  '\n',
  '\r\n',
  '=',
  '\\',
  '\\u{',
  '-',
  '1e',
  '\u0000',
  '\ud83d\ude00',
  '\ud800',
  'é',
  '\t',
  '  ',
  'tune x {',
  'all',
  'builtin:demo',
  '"../"',
  '99999999999999999999',
  '-0',
  '1..',
  '..2',
];

function mutate(text: string, random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  let out = text;
  const ops = 1 + Math.floor(random() * 3);
  for (let k = 0; k < ops; k++) {
    const tokens = lex(out).filter((t) => t.kind !== 'eof');
    const op = Math.floor(random() * 7);
    if (tokens.length === 0 || op === 0) {
      const at = Math.floor(random() * (out.length + 1));
      const bytes = Array.from({ length: 1 + Math.floor(random() * 4) }, () => String.fromCharCode(Math.floor(random() * 0x3000))).join('');
      out = out.slice(0, at) + bytes + out.slice(at);
      continue;
    }
    const t = pick(tokens);
    switch (op) {
      case 1: // delete a token
        out = out.slice(0, t.start) + out.slice(t.end);
        break;
      case 2: // duplicate a token
        out = out.slice(0, t.end) + ' ' + t.text + out.slice(t.end);
        break;
      case 3: {
        // swap two tokens
        const u = pick(tokens);
        const [a, b] = t.start < u.start ? [t, u] : [u, t];
        if (a.end <= b.start) out = out.slice(0, a.start) + b.text + out.slice(a.end, b.start) + a.text + out.slice(b.end);
        break;
      }
      case 4: // insert junk
        out = out.slice(0, t.start) + pick(JUNK) + out.slice(t.start);
        break;
      case 5: // truncate
        out = out.slice(0, Math.floor(random() * out.length));
        break;
      default: {
        // delete a random slice of characters (may split a surrogate pair or a string)
        const at = Math.floor(random() * out.length);
        out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 12));
      }
    }
  }
  return out;
}

function inside(s: Span, length: number, what: string): void {
  assert.ok(
    Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.start <= s.end && s.end <= length,
    `${what} span ${s.start}..${s.end} outside 0..${length}`,
  );
}

function checkOutline(symbols: readonly OutlineSymbol[], length: number): void {
  for (const s of symbols) {
    inside(s.span, length, 'symbol');
    inside(s.selection, length, 'symbol selection');
    checkOutline(s.children, length);
  }
}

function exercise(a: Analysis, random: () => number): void {
  const text = a.document.text;
  const n = text.length;
  for (const d of a.diagnostics) {
    inside(d.span, n, `diagnostic ${d.code}`);
    for (const f of d.fixes ?? []) inside(f.edit.span, n, 'fix');
  }
  const offsets = [0, n, Math.floor(random() * (n + 1)), Math.floor(random() * (n + 1)), Math.floor(random() * (n + 1))];
  for (const offset of offsets) {
    const h = hover(a, offset);
    if (h !== undefined) inside(h.span, n, 'hover');
    for (const item of complete(a, offset)) inside(item.replace, n, 'completion');
    const d = definition(a, offset);
    if (d !== undefined) inside(d.origin, n, 'definition origin');
    if (d?.kind === 'section') inside(d.target, n, 'definition target');
  }
  for (const l of codeLenses(a)) inside(l.span, n, 'codelens');
  checkOutline(outline(a.document), n);
  const lines = lineStarts(text).length;
  for (const f of foldingRanges(a.document))
    assert.ok(f.startLine >= 0 && f.startLine < f.endLine && f.endLine < lines, `folding ${f.startLine}..${f.endLine} of ${lines}`);
  resultFolders(a);
  const once = formatDocument(a.document);
  assert.equal(formatDocument(parse(once)), once, 'formatting is idempotent');
}

describe('fuzz', () => {
  it(`survives ${N} mutations of the examples`, () => {
    const sources = ['demo.rtune', 'gpt2.rtune', 'llama.rtune'].map(readExample);
    const random = rng(SEED);
    const started = Date.now();
    for (let i = 0; i < N; i++) {
      const mutant = mutate(sources[i % sources.length], random);
      try {
        const a = analyze(mutant, { baseDir: examplesDir, builtinRoot: repoRoot, env });
        exercise(a, random);
      } catch (e) {
        assert.fail(`seed ${SEED}, iteration ${i}: ${e instanceof Error ? e.message : String(e)}\n--- mutant ---\n${mutant}`);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`# fuzz: ${N} mutants in ${seconds.toFixed(1)} s`);
  });
});
