/**
 * `lower(document, options)`: the one place where a `.rtune` syntax tree is validated and turned into a typed,
 * frozen `RunConfig`. It checks every key against the schema (unknown keys with "did you mean", duplicates,
 * missing required keys, value types and ranges), builds the section table, resolves references, paths and
 * models, then runs the cross-field rules (rules.ts), model-aware checks (model-checks.ts) and, unless
 * `options.preflight` is false, the checks before compute (preflight.ts). The result also
 * carries the section table and resolved models, which every editor feature reads. `config` is undefined when
 * any error was found: nothing downstream ever sees an invalid configuration.
 * Non-goals: no I/O of its own (the injected LanguageEnv answers), no throwing.
 */

import { BlockValue, Document, Entry, labelText } from './ast';
import { BlockValues, KeyedValue } from './block-values';
import { buildRunConfig } from './builders';
import type { RunConfig, SectionKind } from './config';
import { BUILTIN_DEMO, BUILTIN_DEMO_RELATIVE, LanguageOptions, joinPath, resolveUserPath } from './env';
import { resolveHubPath, type ResolvedHub } from './hub-model';
import { checkModels } from './model-checks';
import { isHubPath } from '../model/hub-id';
import { checkPreflight } from './preflight';
import type { ModelInfo, ModelInfoResult } from './model-info';
import { checkRules } from './rules';
import { KeySpec, ROOT_KEYS, SECTIONS, SECTION_KINDS, describeType, findKey, isSectionKind, sectionSpec } from './schema';
import { Diagnostic, Span, didYouMean, span } from './text';
import { Lowered, lowerValue } from './values';

export interface SectionInfo {
  readonly kind: SectionKind;
  readonly name: string;
  readonly entry: Entry;
  /** The section name token's span, or the keyword's when the name is missing. */
  readonly nameSpan: Span;
  /** Keyword through name: where CodeLenses and inline results attach. */
  readonly headerSpan: Span;
  readonly values: BlockValues;
}

export interface ResolvedModel {
  readonly section: SectionInfo;
  /** The path as written, e.g. `builtin:demo`. */
  readonly raw: string | undefined;
  readonly builtin: boolean;
  /** A Hub id (`hf:Org/Name`): its revision and what the cache holds; `path` is the snapshot when it is complete. */
  readonly hub: ResolvedHub | undefined;
  /** Absolute path, when it could be resolved. */
  readonly path: string | undefined;
  /** Undefined when no environment was given or the path could not be resolved. */
  readonly result: ModelInfoResult | undefined;
  readonly info: ModelInfo | undefined;
}

export interface Analysis {
  readonly document: Document;
  readonly options: LanguageOptions;
  /** Syntax diagnostics followed by validation diagnostics. */
  readonly diagnostics: readonly Diagnostic[];
  readonly root: BlockValues;
  readonly sections: readonly SectionInfo[];
  readonly runsDir: string | undefined;
  readonly models: ReadonlyMap<string, ResolvedModel>;
  section(kind: SectionKind, name: string): SectionInfo | undefined;
  sectionsOf(kind: SectionKind): readonly SectionInfo[];
  /** The model a section runs on (its own `model`, or the one implied by what it references). */
  modelOf(section: SectionInfo): ResolvedModel | undefined;
  /** Absolute path of a relative path written in the file. */
  resolvePath(raw: string): string | undefined;
  /** Undefined when there is any error. */
  readonly config: RunConfig | undefined;
}

type Sink = (d: Diagnostic) => void;

function keyList(keys: readonly KeySpec[]): string[] {
  return keys.map((k) => k.name);
}

/** Where else in the schema a misplaced key lives, e.g. "`lr_token` belongs in `optimizer { }`". */
function homeOf(name: string, keys: readonly KeySpec[]): string | undefined {
  for (const k of keys) {
    if (k.type.kind === 'block') {
      if (findKey(k.type.keys, name) !== undefined) return k.name;
      const deeper = homeOf(name, k.type.keys);
      if (deeper !== undefined) return `${k.name} { ${deeper}`;
    }
  }
  return undefined;
}

function lowerBlock(keys: readonly KeySpec[], owner: Entry, block: BlockValue, sink: Sink, sectionKeys: readonly KeySpec[]): BlockValues {
  const values = new Map<string, KeyedValue>();
  const blocks = new Map<string, BlockValues>();
  for (const entry of block.entries) {
    const name = entry.key.text;
    const spec = findKey(keys, name);
    if (spec === undefined) {
      const guess = didYouMean(name, keyList(keys));
      const home = guess === undefined ? homeOf(name, sectionKeys) : undefined;
      const hint =
        guess !== undefined
          ? `. Did you mean \`${guess}\`?`
          : home !== undefined
            ? `: it belongs inside \`${home} { }\``
            : `; valid keys: ${keyList(keys).join(', ')}`;
      sink({
        code: isSectionKind(name) ? 'unknown-section' : 'unknown-key',
        severity: 'error',
        span: entry.key,
        message: isSectionKind(name)
          ? `a \`${name}\` section must be at the top level, not inside \`${owner.key.text}\``
          : `unknown key \`${name}\` in \`${owner.key.text}\`${hint}`,
        fixes: guess !== undefined ? [{ title: `Change to '${guess}'`, edit: { span: span(entry.key.start, entry.key.end), newText: guess } }] : undefined,
      });
      continue;
    }
    if (values.has(name)) {
      sink({ code: 'duplicate-key', severity: 'error', span: entry.key, message: `\`${name}\` is set twice in \`${owner.key.text}\`; remove one` });
      continue;
    }
    if (entry.label !== undefined) {
      sink({ code: 'syntax', severity: 'error', span: entry.label, message: `\`${name}\` takes no name: write \`${name} { ... }\`` });
    }
    let lowered: Lowered | undefined;
    if (entry.value !== undefined) {
      lowered = lowerValue(spec, entry.value, sink);
      if (spec.type.kind === 'block' && entry.value.kind === 'block') {
        blocks.set(name, lowerBlock(spec.type.keys, entry, entry.value, sink, sectionKeys));
      }
    }
    values.set(name, { entry, spec, lowered });
  }
  for (const k of keys) {
    if (k.required === true && !values.has(k.name)) {
      const where = owner.label !== undefined ? `${owner.key.text} ${labelText(owner) ?? ''}` : owner.key.text;
      sink({
        code: 'missing-key',
        severity: 'error',
        span: span(owner.key.start, (owner.label ?? owner.key).end),
        message: `\`${where.trim()}\` needs \`${k.name}\`: ${describeType(k.type)}`,
      });
    }
  }
  return new BlockValues(keys, owner, values, blocks);
}

/** Lowers and validates a parsed document. Never throws. */
export function lower(document: Document, options: LanguageOptions = {}): Analysis {
  const diagnostics: Diagnostic[] = [...document.diagnostics];
  const sink: Sink = (d) => diagnostics.push(d);
  const rootValues = new Map<string, KeyedValue>();
  const sections: SectionInfo[] = [];
  const byKind = new Map<string, Map<string, SectionInfo>>();

  for (const entry of document.entries) {
    const key = entry.key.text;
    const spec = sectionSpec(key);
    if (spec !== undefined) {
      if (entry.value === undefined || entry.value.kind !== 'block') {
        if (entry.value !== undefined)
          sink({ code: 'syntax', severity: 'error', span: entry.key, message: `a \`${key}\` section is written \`${key} <name> { ... }\`` });
        continue;
      }
      const name = labelText(entry);
      if (name === undefined || name === '') {
        sink({ code: 'missing-key', severity: 'error', span: entry.key, message: `this \`${key}\` section needs a name: \`${key} <name> { ... }\`` });
      }
      const values = lowerBlock(spec.keys, entry, entry.value, sink, spec.keys);
      if (name === undefined || name === '') continue;
      const nameToken = entry.label ?? entry.key;
      const info: SectionInfo = {
        kind: spec.kind,
        name,
        entry,
        nameSpan: span(nameToken.start, nameToken.end),
        headerSpan: span(entry.key.start, nameToken.end),
        values,
      };
      const ofKind = byKind.get(key) ?? new Map<string, SectionInfo>();
      byKind.set(key, ofKind);
      if (ofKind.has(name)) {
        sink({ code: 'duplicate-section', severity: 'error', span: info.nameSpan, message: `there is already a \`${key}\` section named \`${name}\`` });
        continue;
      }
      ofKind.set(name, info);
      sections.push(info);
      continue;
    }
    const rootSpec = findKey(ROOT_KEYS, key);
    if (rootSpec !== undefined) {
      if (rootValues.has(key)) {
        sink({ code: 'duplicate-key', severity: 'error', span: entry.key, message: `\`${key}\` is set twice; remove one` });
        continue;
      }
      const lowered = entry.value !== undefined ? lowerValue(rootSpec, entry.value, sink) : undefined;
      rootValues.set(key, { entry, spec: rootSpec, lowered });
      continue;
    }
    const isBlock = entry.value?.kind === 'block';
    const candidates = isBlock ? [...SECTION_KINDS] : [...SECTION_KINDS, ...keyList(ROOT_KEYS)];
    const guess = didYouMean(key, candidates);
    const home = guess === undefined ? SECTIONS.find((s) => findKey(s.keys, key) !== undefined || homeOf(key, s.keys) !== undefined) : undefined;
    sink({
      code: isBlock ? 'unknown-section' : 'unknown-key',
      severity: 'error',
      span: entry.key,
      message: isBlock
        ? `unknown section \`${key}\`${guess !== undefined ? `. Did you mean \`${guess}\`?` : `; sections are ${SECTION_KINDS.join(', ')}`}`
        : `unknown top-level key \`${key}\`${guess !== undefined ? `. Did you mean \`${guess}\`?` : home !== undefined ? `: it belongs inside a \`${home.kind}\` section` : ''}`,
      fixes: guess !== undefined ? [{ title: `Change to '${guess}'`, edit: { span: span(entry.key.start, entry.key.end), newText: guess } }] : undefined,
    });
  }

  const root = new BlockValues(ROOT_KEYS, undefined, rootValues, new Map());
  const resolvePath = (raw: string): string | undefined => resolveUserPath(raw, options.baseDir);
  const runsRaw = (root.has('runs') ? root.str('runs') : undefined) ?? options.defaultRunsDir ?? 'runs';
  const runsDir = resolvePath(runsRaw);

  const section = (kind: SectionKind, name: string): SectionInfo | undefined => byKind.get(kind)?.get(name);
  const sectionsOf = (kind: SectionKind): readonly SectionInfo[] => sections.filter((s) => s.kind === kind);

  checkReferences(sections, section, sink);
  checkPaths(sections, options, resolvePath, sink);
  const models = resolveModels(sectionsOf('model'), options, resolvePath, sink);

  const modelOf = (s: SectionInfo, seen: Set<SectionInfo> = new Set()): ResolvedModel | undefined => {
    if (seen.has(s)) return undefined;
    seen.add(s);
    if (s.kind === 'model') return models.get(s.name);
    const own = s.values.str('model');
    if (own !== undefined && s.values.has('model')) return models.get(own);
    const via = (kind: SectionKind, key: string): ResolvedModel | undefined => {
      const ref = s.values.written(key)?.lowered;
      const target = ref?.kind === 'ref' ? section(kind, ref.value) : undefined;
      return target !== undefined ? modelOf(target, seen) : undefined;
    };
    const implied =
      s.kind === 'tune'
        ? via('direction', 'direction')
        : s.kind === 'search'
          ? via('tune', 'tune')
          : s.kind === 'eval'
            ? via('tune', 'tuned')
            : s.kind === 'export'
              ? (via('tune', 'tune') ?? via('direction', 'direction'))
              : undefined;
    if (implied !== undefined) return implied;
    return models.size === 1 ? [...models.values()][0] : undefined;
  };

  const partial = { document, options, root, sections, runsDir, models, section, sectionsOf, modelOf: (s: SectionInfo) => modelOf(s), resolvePath };
  checkRules(partial, sink);
  checkModels(partial, sink);
  if (options.preflight !== false) checkPreflight(partial, sink);
  diagnostics.sort((x, y) => x.span.start - y.span.start || x.span.end - y.span.end);
  const hasError = diagnostics.some((d) => d.severity === 'error');
  const config = hasError ? undefined : buildRunConfig(partial);
  return { ...partial, diagnostics, config };
}

/** The parts of an Analysis that rules and builders read. */
export type AnalysisCore = Omit<Analysis, 'diagnostics' | 'config'>;

function walkValues(values: BlockValues, visit: (v: KeyedValue) => void): void {
  for (const v of values.allWritten()) visit(v);
  for (const [, nested] of values.nestedBlocks()) walkValues(nested, visit);
}

function checkReferences(sections: readonly SectionInfo[], find: (kind: SectionKind, name: string) => SectionInfo | undefined, sink: Sink): void {
  for (const s of sections) {
    walkValues(s.values, (v) => {
      if (v.spec.type.kind !== 'ref' || v.lowered?.kind !== 'ref' || v.entry.value === undefined) return;
      const kind = v.spec.type.section;
      for (const item of v.lowered.items) {
        const name = item.value;
        if (find(kind, name) !== undefined) continue;
        const names = sections.filter((x) => x.kind === kind).map((x) => x.name);
        const guess = didYouMean(name, names);
        const valueSpan = span(item.span.start, item.span.end);
        sink({
          code: 'unresolved-ref',
          severity: 'error',
          span: valueSpan,
          message: `no \`${kind}\` section named \`${name}\`${guess !== undefined ? `. Did you mean \`${guess}\`?` : names.length > 0 ? `; ${kind} sections: ${names.join(', ')}` : `; add \`${kind} ${name} { ... }\``}`,
          fixes: guess !== undefined ? [{ title: `Change to '${guess}'`, edit: { span: valueSpan, newText: guess } }] : undefined,
        });
      }
    });
  }
}

function checkPaths(sections: readonly SectionInfo[], options: LanguageOptions, resolve: (raw: string) => string | undefined, sink: Sink): void {
  const env = options.env;
  if (env === undefined) return;
  for (const s of sections) {
    walkValues(s.values, (v) => {
      const type = v.spec.type;
      if (type.kind !== 'path' || (type.target !== 'file' && type.target !== 'dir') || v.lowered?.kind !== 'path' || v.entry.value === undefined) return;
      const abs = resolve(v.lowered.value);
      if (abs === undefined) return;
      const kind = env.stat(abs);
      const where = span(v.entry.value.start, v.entry.value.end);
      if (kind === undefined) {
        sink({ code: 'missing-file', severity: 'error', span: where, message: `${type.target === 'dir' ? 'folder' : 'file'} not found: ${abs}` });
      } else if (kind !== type.target) {
        sink({
          code: 'missing-file',
          severity: 'error',
          span: where,
          message: `expected a ${type.target === 'dir' ? 'folder' : 'file'}, found a ${kind === 'dir' ? 'folder' : 'file'}: ${abs}`,
        });
      } else if (type.extensions !== undefined && !type.extensions.some((e) => abs.toLowerCase().endsWith(e))) {
        sink({ code: 'type', severity: 'warning', span: where, message: `\`${v.spec.name}\` expects a ${type.extensions.join(' or ')} file` });
      }
    });
  }
}

function resolveModels(
  modelSections: readonly SectionInfo[],
  options: LanguageOptions,
  resolve: (raw: string) => string | undefined,
  sink: Sink,
): Map<string, ResolvedModel> {
  const out = new Map<string, ResolvedModel>();
  for (const s of modelSections) {
    const written = s.values.written('path');
    const raw = written?.lowered?.kind === 'path' ? written.lowered.value : undefined;
    let builtin = false;
    let path: string | undefined;
    let hub: ResolvedHub | undefined;
    if (raw !== undefined && isHubPath(raw)) {
      ({ hub, path } = resolveHubPath(raw, s.values, options, sink));
    } else if (raw !== undefined && raw.startsWith('builtin:')) {
      builtin = true;
      if (raw !== BUILTIN_DEMO && written?.entry.value !== undefined) {
        sink({
          code: 'enum',
          severity: 'error',
          span: span(written.entry.value.start, written.entry.value.end),
          message: `unknown built-in model \`${raw}\`; the only one is \`${BUILTIN_DEMO}\``,
          fixes: [{ title: `Change to ${BUILTIN_DEMO}`, edit: { span: span(written.entry.value.start, written.entry.value.end), newText: BUILTIN_DEMO } }],
        });
      } else if (options.builtinRoot !== undefined) path = joinPath(options.builtinRoot, BUILTIN_DEMO_RELATIVE);
    } else if (raw !== undefined) path = resolve(raw);
    const result = path !== undefined && options.env !== undefined ? options.env.modelInfo(path) : undefined;
    if (result !== undefined && !result.ok && !result.missing && written?.entry.value !== undefined) {
      sink({
        code: 'model',
        severity: 'error',
        span: span(written.entry.value.start, written.entry.value.end),
        message: `cannot use the model at ${path ?? raw}: ${result.reason}`,
      });
    }
    out.set(s.name, { section: s, raw, builtin, hub, path, result, info: result?.ok === true ? result.info : undefined });
  }
  return out;
}
