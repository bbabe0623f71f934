/**
 * Completion: keys valid at the cursor (not yet written in that block), whole-section snippets at the top level,
 * and for values: enum values, booleans, section names for references, block names of the section's model
 * architecture, layer ranges sized to the model, and file paths relative to the .rtune file (from the injected
 * environment). Every item carries its schema documentation. Pure: reads the Analysis.
 * Non-goals: no ranking beyond a stable order, no fuzzy matching (the editor filters by the typed prefix).
 */

import { Entry } from '../ast';
import { BLOCK_ALIASES, BLOCK_DOCS, familyBlocks, BLOCK_NAMES } from '../../model/blocks';
import { BUILTIN_DEMO, joinPath } from '../env';
import { Token } from '../lexer';
import type { Analysis } from '../lower';
import { KeySpec, ROOT_KEYS, SECTIONS, findKey, keyAtPath } from '../schema';
import { Span, span } from '../text';
import { blockMarkdown, defaultText, keyMarkdown, sectionMarkdown } from './describe';
import { entryWithKey, locate, siblingEntries } from './locate';

export type CompletionKind = 'section' | 'key' | 'block-key' | 'value' | 'enum' | 'reference' | 'file' | 'folder' | 'snippet';

export interface CompletionItem {
  readonly label: string;
  readonly kind: CompletionKind;
  readonly detail?: string;
  readonly documentation?: string;
  /** Text to insert; a snippet (`${1:x}` placeholders) when `snippet` is true. */
  readonly insertText: string;
  readonly snippet: boolean;
  /** The span the insertion replaces (the partly typed word). */
  readonly replace: Span;
  readonly sortText?: string;
}

function snippetForKey(spec: KeySpec): { text: string; snippet: boolean } {
  if (spec.type.kind === 'block') {
    const required = spec.type.keys.filter((k) => k.required === true);
    const body = required.map((k, i) => `  ${k.name} \${${i + 1}}`).join('\n');
    return { text: `${spec.name} {\n${body.length > 0 ? body : '  $0'}\n}`, snippet: true };
  }
  if (spec.type.kind === 'string' || (spec.type.kind === 'path' && spec.type.target !== 'model')) return { text: `${spec.name} "$1"`, snippet: true };
  return { text: `${spec.name} `, snippet: false };
}

function keyItems(keys: readonly KeySpec[], present: ReadonlySet<string>, path: readonly string[], replace: Span): CompletionItem[] {
  return keys
    .filter((k) => !present.has(k.name))
    .map((k, i) => {
      const s = snippetForKey(k);
      return {
        label: k.name,
        kind: k.type.kind === 'block' ? 'block-key' : 'key',
        detail: k.required === true ? 'required' : defaultText(k) !== undefined ? `default ${defaultText(k) ?? ''}` : undefined,
        documentation: keyMarkdown(k, path),
        insertText: s.text,
        snippet: s.snippet,
        replace,
        sortText: `${k.required === true ? '0' : '1'}${String(i).padStart(3, '0')}`,
      };
    });
}

function sectionItems(replace: Span): CompletionItem[] {
  return SECTIONS.map((s, i) => ({
    label: s.kind,
    kind: 'section',
    detail: `${s.kind} section`,
    documentation: sectionMarkdown(s),
    insertText: s.snippet,
    snippet: true,
    replace,
    sortText: `0${i}`,
  }));
}

function value(label: string, replace: Span, kind: CompletionKind = 'value', detail?: string, documentation?: string): CompletionItem {
  return { label, kind, detail, documentation, insertText: label, snippet: false, replace };
}

function layerItems(a: Analysis, entries: readonly Entry[], allowAll: boolean, replace: Span): CompletionItem[] {
  const top = entries[0];
  const section = top !== undefined ? a.sections.find((s) => s.entry === top) : undefined;
  const info = section !== undefined ? a.modelOf(section)?.info : undefined;
  const items: CompletionItem[] = [];
  if (allowAll) items.push(value('all', replace, 'value', 'every layer'));
  if (info !== undefined) {
    const n = info.nLayers;
    items.push(value(`0..${n - 1}`, replace, 'value', `all ${n} layers, written out`));
    // The research tuned layers 11..17 of 40: the band from ~27% to ~43% of the depth.
    const lo = Math.min(n - 1, Math.round(n * 0.275));
    const hi = Math.max(lo, Math.min(n - 1, Math.round(n * 0.425)));
    items.push(value(lo === hi ? String(lo) : `${lo}..${hi}`, replace, 'value', `middle layers (like 11..17 of 40 in the research)`));
    for (let l = 0; l < n && l < 64; l++)
      items.push({ ...value(String(l), replace, 'value', `layer ${l} of ${n}`), sortText: `z${String(l).padStart(3, '0')}` });
  }
  return items;
}

function blockItems(a: Analysis, entries: readonly Entry[], replace: Span): CompletionItem[] {
  const top = entries[0];
  const section = top !== undefined ? a.sections.find((s) => s.entry === top) : undefined;
  const family = section !== undefined ? a.modelOf(section)?.info?.family : undefined;
  const generic = family !== undefined ? familyBlocks(family) : [...BLOCK_NAMES];
  const items: CompletionItem[] = [value('all', replace, 'value', 'every block of the architecture')];
  for (const b of generic) items.push(value(b, replace, 'enum', BLOCK_DOCS[b], blockMarkdown(b)));
  if (family !== undefined) {
    for (const [alias, blocks] of Object.entries(BLOCK_ALIASES[family])) {
      // Bare names that have a prefixed twin (q_proj / self_attn.q_proj) are offered once, prefixed.
      if (!alias.includes('.') && (`self_attn.${alias}` in BLOCK_ALIASES[family] || `mlp.${alias}` in BLOCK_ALIASES[family])) continue;
      items.push({ ...value(alias, replace, 'enum', `= ${blocks.join(', ')}`), sortText: `z${alias}` });
    }
  }
  return items;
}

function pathItems(
  a: Analysis,
  typed: string,
  replaceStart: number,
  offset: number,
  extensions: readonly string[] | undefined,
  foldersOnly: boolean,
): CompletionItem[] {
  const env = a.options.env;
  if (env === undefined) return [];
  const slash = typed.lastIndexOf('/');
  const dirPart = slash >= 0 ? typed.slice(0, slash + 1) : '';
  const dir = a.resolvePath(dirPart === '' ? '.' : dirPart);
  if (dir === undefined) return [];
  const entries = env.listDir(dir) ?? [];
  const replace = span(replaceStart + (slash + 1), offset);
  return entries
    .filter(
      (e) => !e.name.startsWith('.') && (e.isDir || (!foldersOnly && (extensions === undefined || extensions.some((x) => e.name.toLowerCase().endsWith(x))))),
    )
    .slice(0, 500)
    .map((e) => ({
      label: e.isDir ? `${e.name}/` : e.name,
      kind: e.isDir ? 'folder' : 'file',
      detail: joinPath(dir, e.name),
      insertText: e.isDir ? `${e.name}/` : e.name,
      snippet: false,
      replace,
      sortText: `${e.isDir ? '1' : '0'}${e.name}`,
    }));
}

function valueItems(a: Analysis, spec: KeySpec, entries: readonly Entry[], token: Token | undefined, offset: number, replace: Span): CompletionItem[] {
  const type = spec.type;
  switch (type.kind) {
    case 'enum':
    case 'enums':
      return type.values.map((v) => value(v.name, replace, 'enum', spec.default === v.name ? 'default' : undefined, v.doc));
    case 'bool':
      return [value('true', replace), value('false', replace)];
    case 'ref':
      return a.sectionsOf(type.section).map((s) => value(s.name, replace, 'reference', `${type.section} section`));
    case 'layers':
      return layerItems(a, entries, type.allowAll, replace);
    case 'offsets':
      return [value('0', replace, 'value', 'the anchor token'), value('-3..0', replace, 'value', 'a window ending at the anchor')];
    case 'blocks':
      return blockItems(a, entries, replace);
    case 'block':
      return [{ label: '{ }', kind: 'snippet', insertText: '{\n  $0\n}', snippet: true, replace }];
    case 'path': {
      const inString = token !== undefined && token.kind === 'string' && offset > token.start;
      const typed =
        inString && token !== undefined
          ? a.document.text.slice(token.start + 1, offset)
          : token?.kind === 'word'
            ? a.document.text.slice(token.start, offset)
            : '';
      const start = inString && token !== undefined ? token.start + 1 : token?.kind === 'word' ? token.start : offset;
      const items = pathItems(a, typed, start, offset, type.extensions, type.target === 'output');
      if (type.target === 'model' && !inString) items.unshift(value(BUILTIN_DEMO, replace, 'value', 'the built-in demo model'));
      return items;
    }
    default:
      return spec.default !== undefined ? [value(spec.default, replace, 'value', 'default')] : [];
  }
}

/** Completion items at `offset`. Never throws for any offset. */
export function complete(a: Analysis, offset: number): CompletionItem[] {
  const doc = a.document;
  const loc = locate(doc, offset);
  const token = loc.token;
  const typingWord = token !== undefined && token.kind === 'word' && token.start < offset;
  const replace = typingWord && token !== undefined ? span(token.start, offset) : span(offset, offset);
  const prev = loc.previous;
  const siblings = siblingEntries(doc, loc);
  const blockEntries = loc.blocks.map((b) => b.entry);

  // Inside a string: only paths complete.
  if (token !== undefined && token.kind === 'string' && offset > token.start && (offset < token.end || !token.terminated)) {
    const owner = siblings.find((e) => e.value !== undefined && e.value.start === token.start);
    const spec = owner !== undefined ? specFor(loc.path, owner.key.text) : undefined;
    return spec !== undefined && spec.type.kind === 'path' ? valueItems(a, spec, blockEntries, token, offset, replace) : [];
  }
  if (token !== undefined && (token.kind === 'comment' || (token.kind === 'string' && offset === token.start))) return [];

  // Value position: right after a key on the same line, or inside a list after `[` or `,`.
  const keyBefore = prev !== undefined && prev.kind === 'word' ? entryWithKey(siblings, prev) : undefined;
  if (keyBefore !== undefined && keyBefore.label === undefined) {
    const spec = specFor(loc.path, keyBefore.key.text);
    return spec !== undefined ? valueItems(a, spec, blockEntries, token, offset, replace) : [];
  }
  if (prev !== undefined && (prev.kind === 'lbracket' || prev.kind === 'comma' || prev.kind === 'range')) {
    const owner = siblings.find(
      (e) =>
        e.value !== undefined && e.value.kind === 'list' && e.value.open.start <= prev.start && (e.value.close === undefined || e.value.close.start >= offset),
    );
    const spec = owner !== undefined ? specFor(loc.path, owner.key.text) : undefined;
    return spec !== undefined ? valueItems(a, spec, blockEntries, token, offset, replace) : [];
  }
  // A section name is being typed.
  if (prev !== undefined && prev.kind === 'word' && loc.path.length === 0 && doc.entries.some((e) => e.key.start === prev.start && e.label !== undefined))
    return [];

  // Key position.
  const present = new Set(siblings.filter((e) => !(token !== undefined && e.key.start === token.start)).map((e) => e.key.text));
  if (loc.path.length === 0) {
    return [...sectionItems(replace), ...keyItems(ROOT_KEYS, present, [], replace)];
  }
  const blockSpec = keyAtPath(loc.path);
  if (blockSpec === undefined || blockSpec.type.kind !== 'block') return [];
  return keyItems(blockSpec.type.keys, present, loc.path, replace);
}

function specFor(path: readonly string[], key: string): KeySpec | undefined {
  return path.length === 0 ? findKey(ROOT_KEYS, key) : keyAtPath([...path, key]);
}
