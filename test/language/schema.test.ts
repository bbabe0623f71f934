/**
 * The schema is the single source of truth; these tests fail when anything derived from it drifts: every key
 * has a doc, a valid example and a valid default (or says why it has none), hover and completion exist for
 * every key, and docs/language.md equals what the generator writes from the schema.
 */

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../language/analysis';
import { generateLanguageDocs } from '../../language/docs';
import { complete } from '../../language/features/completion';
import { hover } from '../../language/features/hover';
import { parse } from '../../language/parser';
import { KeySpec, ROOT_KEYS, SECTIONS, allEnumValues, allKeyNames } from '../../language/schema';
import { snippetText } from '../../language/snippet';
import { checkDefault, lowerValue } from '../../language/values';
import { repoRoot, summarize } from './helpers';

interface KeyAt {
  readonly spec: KeySpec;
  /** Enclosing keys from the section kind down, e.g. ['tune', 'optimizer']. */
  readonly path: readonly string[];
}

function everyKey(): KeyAt[] {
  const out: KeyAt[] = ROOT_KEYS.map((spec) => ({ spec, path: [] }));
  const visit = (keys: readonly KeySpec[], p: readonly string[]): void => {
    for (const spec of keys) {
      out.push({ spec, path: p });
      if (spec.type.kind === 'block') visit(spec.type.keys, [...p, spec.name]);
    }
  };
  for (const s of SECTIONS) visit(s.keys, [s.kind]);
  return out;
}

/** `text` with the cursor marker `‸` inside the blocks named by `path`. */
function wrap(p: readonly string[], inner: string): string {
  if (p.length === 0) return `${inner}\n`;
  const [kind, ...rest] = p;
  let body = inner;
  for (const k of [...rest].reverse()) body = `${k} {\n${body}\n}`;
  return `${kind} x {\n${body}\n}\n`;
}

const name = (k: KeyAt): string => [...k.path, k.spec.name].join('.');

describe('schema', () => {
  const keys = everyKey();

  it('documents every key and every enum value', () => {
    assert.ok(keys.length > 80, `${keys.length} keys`);
    for (const k of keys) {
      assert.ok(k.spec.doc.length > 20 && k.spec.doc.endsWith('.'), `${name(k)}: doc`);
      assert.ok(
        k.spec.required === true || k.spec.default !== undefined || k.spec.defaultDoc !== undefined || k.spec.type.kind === 'block',
        `${name(k)}: default, defaultDoc or required`,
      );
      if (k.spec.type.kind === 'enum' || k.spec.type.kind === 'enums') for (const v of k.spec.type.values) assert.ok(v.doc.length > 5, `${name(k)}=${v.name}`);
    }
    for (const s of SECTIONS) assert.ok(s.doc.length > 50, s.kind);
  });

  it('has a valid default for every key that has one', () => {
    for (const k of keys) assert.deepEqual(checkDefault(k.spec), [], name(k));
  });

  it('has an example for every key that parses and validates as that key', () => {
    for (const k of keys) {
      const doc = parse(`${k.spec.example}\n`);
      assert.deepEqual(doc.diagnostics, [], `${name(k)}: ${k.spec.example}`);
      const entry = doc.entries[0];
      assert.equal(entry?.key.text, k.spec.name, `${name(k)}: example starts with the key`);
      const problems: string[] = [];
      if (entry.value !== undefined) lowerValue(k.spec, entry.value, (d) => problems.push(d.message));
      assert.deepEqual(problems, [], `${name(k)}: ${k.spec.example}`);
    }
  });

  it('has section snippets that parse, contain only known keys and have templates whose braces are all placeholders', () => {
    for (const s of SECTIONS) {
      const text = snippetText(s.snippet);
      const a = analyze(text);
      const structural = a.diagnostics.filter(
        (d) =>
          ['syntax', 'unknown-key', 'unknown-section', 'type', 'enum', 'range'].includes(d.code) ||
          (d.code === 'rule' && /template|placeholder/.test(d.message)),
      );
      assert.deepEqual(summarize(structural, text), [], s.kind);
    }
  });

  it('expands snippets to what the editor inserts: escaped braces, nested placeholders, choices, tab stops', () => {
    assert.equal(snippetText('a ${1:{x\\} b ${2:c}} $0${3} ${4|p,q|} \\$ \\\\ \\"'), 'a {x} b c  p $ \\ \\"');
    const prompts = snippetText(SECTIONS.find((s) => s.kind === 'prompts')?.snippet ?? '');
    assert.match(prompts, /template "\{persona\} Is the following claim true or false\? \\"\{statement\}\\"\\n\\nAnswer: \{label\}"\n/);
  });

  it('offers every key in completion and documents it on hover', () => {
    for (const k of keys) {
      const source = wrap(k.path, '‸');
      const offset = source.indexOf('‸');
      const text = source.replace('‸', '');
      const items = complete(analyze(text), offset).map((i) => i.label);
      assert.ok(items.includes(k.spec.name), `completion lacks ${name(k)}`);
      const line = k.spec.type.kind === 'block' ? `${k.spec.name} { }` : k.spec.example;
      const withKey = wrap(k.path, line);
      const h = hover(analyze(withKey), withKey.indexOf(line) + 1);
      assert.ok(h !== undefined && h.markdown.includes(k.spec.doc), `hover lacks ${name(k)}`);
    }
  });

  it('keeps key names and enum values apart (the grammar colours them differently)', () => {
    const keyNames = new Set(allKeyNames());
    // `split direction` names the CSV part a direction reads: the value is fixed by the splits spec that the demo's
    // CSV generator shares, so it is the one word that is both (it colours as a key there).
    const shared = new Set(['direction']);
    assert.deepEqual(
      allEnumValues().filter((v) => keyNames.has(v) && !shared.has(v)),
      [],
    );
  });

  it('matches docs/language.md (regenerate with node out/scripts/gen-language-docs.js)', () => {
    const committed = fs.readFileSync(path.join(repoRoot, 'docs', 'language.md'), 'utf8');
    assert.ok(committed === generateLanguageDocs(), 'docs/language.md is stale: run `npx tsc -p tsconfig.test.json && node out/scripts/gen-language-docs.js`');
    for (const k of keys) assert.ok(committed.includes(`\`${name(k).replace(/^(\w+)\./, '$1.')}\``) || committed.includes(`\`${k.spec.name}\``), name(k));
  });
});
