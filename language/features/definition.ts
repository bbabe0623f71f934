/**
 * Go to definition: from a section reference (`direction honesty`) to that section's name, and from a file or
 * model path to the file (a model folder goes to its config.json when it has one). Pure; the server turns
 * targets into LSP locations. Non-goals: references to the schema (hover covers that).
 */

import type { Analysis } from '../lower';
import { ROOT_KEYS, findKey, keyAtPath } from '../schema';
import { Span, span } from '../text';
import { entryAt } from './locate';

export type DefinitionTarget =
  | { readonly kind: 'section'; readonly origin: Span; readonly target: Span }
  | { readonly kind: 'file'; readonly origin: Span; readonly path: string };

export function definition(a: Analysis, offset: number): DefinitionTarget | undefined {
  const found = entryAt(a.document.entries, offset);
  if (found === undefined) return undefined;
  const { entry, parents } = found;
  const v = entry.value;
  if (v === undefined || v.kind === 'block' || offset < v.start) return undefined;
  const path = parents.map((p) => p.key.text);
  const spec = path.length === 0 ? findKey(ROOT_KEYS, entry.key.text) : keyAtPath([...path, entry.key.text]);
  if (spec === undefined) return undefined;
  const origin = span(v.start, v.end);
  if (spec.type.kind === 'ref') {
    const item = v.kind === 'list' ? v.items.find((it) => offset >= it.start && offset <= it.end) : v;
    const target = item?.kind === 'word' ? a.section(spec.type.section, item.value) : undefined;
    return target !== undefined && item !== undefined ? { kind: 'section', origin: span(item.start, item.end), target: target.nameSpan } : undefined;
  }
  if (spec.type.kind === 'path' && (v.kind === 'string' || v.kind === 'word')) {
    if (spec.type.target === 'model') {
      const section = a.sections.find((s) => s.entry === parents[0]);
      const model = section !== undefined ? a.models.get(section.name) : undefined;
      if (model?.path === undefined) return undefined;
      const r = model.result;
      const file = r !== undefined && r.ok ? r.file : model.path;
      return a.options.env?.stat(file) !== undefined ? { kind: 'file', origin, path: file } : undefined;
    }
    const abs = a.resolvePath(v.value);
    if (abs === undefined || a.options.env?.stat(abs) !== 'file') return undefined;
    return { kind: 'file', origin, path: abs };
  }
  return undefined;
}
