/**
 * Hover: schema docs for every section keyword, key and enum value; for references, the section they name; for
 * a model path, the model's architecture, depth, width and parameter count; for data paths, the resolved path;
 * for block names and layer selections, what they mean for the section's model. Pure: reads the Analysis.
 * Non-goals: nothing for comments or punctuation.
 */

import { Entry, Value } from '../ast';
import { FAMILY_NAMES, aliasFamilies, isBlockName } from '../../model/blocks';
import { BUILTIN_DEMO } from '../env';
import type { Analysis, SectionInfo } from '../lower';
import { describeModel } from '../model-info';
import { KeySpec, ROOT_KEYS, findKey, keyAtPath, sectionSpec } from '../schema';
import { Span, span } from '../text';
import { blockMarkdown, keyMarkdown, modelMarkdown, sectionMarkdown } from './describe';
import { entryAt } from './locate';
import { hubMarkdown } from '../hub-model';

export interface Hover {
  readonly span: Span;
  readonly markdown: string;
}

function sectionOfEntry(a: Analysis, top: Entry | undefined): SectionInfo | undefined {
  return top === undefined ? undefined : a.sections.find((s) => s.entry === top);
}

function valueHover(a: Analysis, spec: KeySpec, path: readonly string[], v: Value, offset: number, section: SectionInfo | undefined): string | undefined {
  const type = spec.type;
  const item = v.kind === 'list' ? v.items.find((it) => offset >= it.start && offset <= it.end) : v;
  if (type.kind === 'enum' || type.kind === 'enums') {
    const word = item?.kind === 'word' ? item.value : undefined;
    const e = type.values.find((x) => x.name === word);
    return e !== undefined ? `**${e.name}** (\`${spec.name}\`): ${e.doc}` : keyMarkdown(spec, path);
  }
  if (type.kind === 'bool') return keyMarkdown(spec, path);
  if (type.kind === 'ref' && item?.kind === 'word') {
    const target = a.section(type.section, item.value);
    if (target === undefined) return `No \`${type.section}\` section named \`${item.value}\`.`;
    const line = a.document.text.slice(0, target.entry.start).split('\n').length;
    return `**${type.section} ${target.name}** (line ${line})\n\n${sectionSpec(type.section)?.doc.split('. ')[0] ?? ''}.`;
  }
  if (type.kind === 'path' && (v.kind === 'string' || v.kind === 'word')) {
    if (type.target === 'model') {
      const model = section !== undefined ? a.models.get(section.name) : undefined;
      if (model === undefined) return keyMarkdown(spec, path);
      if (model.hub !== undefined) {
        const cached = model.result?.ok === true ? `\n\n${modelMarkdown(model.result.info, model.path ?? '', model.result.file)}` : '';
        return `${hubMarkdown(model.hub)}${cached}`;
      }
      if (model.path === undefined)
        return model.builtin
          ? `\`${BUILTIN_DEMO}\`: the built-in demo model (its location is not known here).`
          : 'The path cannot be resolved in an unsaved file.';
      const r = model.result;
      if (r === undefined) return `\`${model.path}\``;
      if (r.ok) return modelMarkdown(r.info, model.path, r.file);
      if (r.missing) return `Not found: \`${model.path}\`\n\nModel-aware checks (layer depth, block names) are off until it exists.`;
      return `Cannot use \`${model.path}\`: ${r.reason}`;
    }
    const abs = a.resolvePath(v.value);
    if (abs === undefined) return keyMarkdown(spec, path);
    const kind = a.options.env?.stat(abs);
    return `\`${abs}\`${kind === undefined ? (a.options.env !== undefined ? ' (does not exist)' : '') : kind === 'dir' ? ' (folder)' : ''}`;
  }
  if (type.kind === 'blocks' && item?.kind === 'word') {
    if (isBlockName(item.value)) return blockMarkdown(item.value);
    const families = aliasFamilies(item.value);
    const first = families[0];
    if (first !== undefined) {
      const same = families.filter((f) => f.blocks.join() === first.blocks.join());
      const other = families.filter((f) => f.blocks.join() !== first.blocks.join());
      const names = (fs: typeof families): string => fs.map((f) => FAMILY_NAMES[f.family]).join(', ');
      const meaning = (fs: typeof families): string => (fs[0]?.blocks ?? []).map((b) => `\`${b}\``).join(', ');
      const also = other.length > 0 ? `; in ${names(other)}: ${meaning(other)}` : '';
      return `\`${item.value}\` (${names(same)} name) = ${meaning(same)}${also}\n\n${first.blocks.map(blockMarkdown).join('\n\n')}`;
    }
    if (item.value === 'all') return "Every block of the model's architecture.";
  }
  if (type.kind === 'layers' && section !== undefined) {
    const info = a.modelOf(section)?.info;
    const lowered = lowerOfPath(section, path.slice(1), spec.name);
    const desc =
      lowered === 'all' ? 'all layers' : lowered !== undefined ? `${lowered.length} layer${lowered.length === 1 ? '' : 's'}: ${lowered.join(', ')}` : undefined;
    if (desc !== undefined)
      return `${desc}${info !== undefined ? ` (the model has ${info.nLayers}: 0..${info.nLayers - 1}; ${describeModel(info)})` : ''}\n\n${keyMarkdown(spec, path)}`;
  }
  return keyMarkdown(spec, path);
}

function lowerOfPath(section: SectionInfo, inner: readonly string[], key: string): readonly number[] | 'all' | undefined {
  let values = section.values;
  for (const p of inner) values = values.block(p);
  return values.layers(key);
}

/** Hover at `offset`, or undefined. Never throws for any offset. */
export function hover(a: Analysis, offset: number): Hover | undefined {
  const found = entryAt(a.document.entries, offset);
  if (found === undefined) return undefined;
  const { entry, parents } = found;
  const path = [...parents.map((p) => p.key.text)];
  const section = sectionOfEntry(a, parents[0] ?? entry);
  if (offset >= entry.key.start && offset <= entry.key.end) {
    const s = span(entry.key.start, entry.key.end);
    if (parents.length === 0) {
      const sec = sectionSpec(entry.key.text);
      if (sec !== undefined) return { span: s, markdown: sectionMarkdown(sec) };
      const root = findKey(ROOT_KEYS, entry.key.text);
      return root !== undefined ? { span: s, markdown: keyMarkdown(root, []) } : undefined;
    }
    const spec = keyAtPath([...path, entry.key.text]);
    return spec !== undefined ? { span: s, markdown: keyMarkdown(spec, path) } : undefined;
  }
  if (entry.label !== undefined && offset >= entry.label.start && offset <= entry.label.end) {
    const sec = sectionSpec(entry.key.text);
    if (sec === undefined) return undefined;
    const users = section !== undefined ? countReferences(a, section) : 0;
    return {
      span: span(entry.label.start, entry.label.end),
      markdown: `**${sec.kind} ${entry.label.text}** — referenced ${users} time${users === 1 ? '' : 's'} in this file\n\n${sec.doc}`,
    };
  }
  const v = entry.value;
  if (v === undefined || v.kind === 'block') return undefined;
  const spec = parents.length === 0 ? findKey(ROOT_KEYS, entry.key.text) : keyAtPath([...path, entry.key.text]);
  if (spec === undefined) return undefined;
  const item = v.kind === 'list' ? (v.items.find((it) => offset >= it.start && offset <= it.end) ?? v) : v;
  const markdown = valueHover(a, spec, path, v, offset, section);
  return markdown !== undefined ? { span: span(item.start, item.end), markdown } : undefined;
}

function countReferences(a: Analysis, target: SectionInfo): number {
  let n = 0;
  for (const s of a.sections) {
    const visit = (values: typeof s.values): void => {
      for (const kv of values.allWritten())
        if (kv.spec.type.kind === 'ref' && kv.spec.type.section === target.kind && kv.lowered?.kind === 'ref' && kv.lowered.values.includes(target.name)) n++;
      for (const [, nested] of values.nestedBlocks()) visit(nested);
    };
    visit(s.values);
  }
  return n;
}
