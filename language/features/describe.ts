/**
 * Markdown descriptions of schema items, shared by hover, completion documentation and docs/language.md, so
 * the three always say the same thing. Non-goals: no lookups in documents (callers pass specs and values).
 */

import { ARCHITECTURE_FAMILIES, BLOCK_DOCS, BLOCK_TENSORS, BlockName, FAMILY_NAMES, LAYER_PREFIX } from '../../model/blocks';
import { ModelInfo, architectureName, formatCount } from '../model-info';
import { KeySpec, SectionSpec, describeType } from '../schema';

/** "default `1e-6`" or the documented computed default. */
export function defaultText(spec: KeySpec): string | undefined {
  if (spec.default !== undefined) return `\`${spec.default}\``;
  if (spec.defaultDoc !== undefined) return spec.defaultDoc;
  return undefined;
}

export function keyMarkdown(spec: KeySpec, path: readonly string[]): string {
  const where = path.length > 0 ? `${path.join(' › ')} › ` : '';
  const def = defaultText(spec);
  const facts = [describeType(spec.type), spec.required === true ? 'required' : def !== undefined ? `default ${def}` : undefined].filter(
    (x): x is string => x !== undefined,
  );
  const lines = [`**${where}${spec.name}** — ${facts.join(' · ')}`, '', spec.doc];
  if (spec.type.kind === 'enum' || spec.type.kind === 'enums') {
    lines.push('', ...spec.type.values.map((v) => `- \`${v.name}\`: ${v.doc}`));
  }
  if (spec.type.kind === 'block') {
    lines.push('', `Keys: ${spec.type.keys.map((k) => `\`${k.name}\``).join(', ')}`);
  }
  if (spec.editorOnly !== undefined) lines.push('', `Read by the editor and the language only, not by runs: ${spec.editorOnly}`);
  lines.push('', `Example: \`${spec.example.replace(/\n\s*/g, ' ')}\``);
  return lines.join('\n');
}

export function sectionMarkdown(spec: SectionSpec): string {
  const lines = [`**${spec.kind}** section — \`${spec.kind} <name> { ... }\``, '', spec.doc];
  if (spec.rules.length > 0) lines.push('', '**Rules**', ...spec.rules.map((r) => `- ${r}`));
  lines.push('', `Keys: ${spec.keys.map((k) => `\`${k.name}\``).join(', ')}`);
  return lines.join('\n');
}

export function blockMarkdown(block: BlockName): string {
  const lines = [`**${block}** — ${BLOCK_DOCS[block]}`, ''];
  for (const f of ARCHITECTURE_FAMILIES) {
    const t = BLOCK_TENSORS[f][block];
    lines.push(
      t === undefined
        ? `- ${FAMILY_NAMES[f]}: none`
        : `- ${FAMILY_NAMES[f]}: \`${LAYER_PREFIX[f]}${t.tensor}\`${t.slice !== undefined ? ` (the ${t.slice} columns)` : ''}`,
    );
  }
  return lines.join('\n');
}

export function modelMarkdown(info: ModelInfo, path: string, file: string): string {
  return [
    `**${architectureName(info.architecture)}** · ${info.nLayers} layers · hidden ${info.hiddenSize} · ${formatCount(info.parameterCount)} parameters`,
    '',
    '| | |',
    '|---|---|',
    `| architecture | ${info.architecture} (${info.family} family) |`,
    `| layers | ${info.nLayers} (0..${info.nLayers - 1}) |`,
    `| hidden size | ${info.hiddenSize} |`,
    `| MLP size | ${info.intermediateSize} |`,
    `| heads | ${info.nHeads} (key/value ${info.nKvHeads}) |`,
    `| vocabulary | ${info.vocabSize} |`,
    `| embeddings | ${info.tiedEmbeddings ? 'tied' : 'untied'} |`,
    `| context | ${info.maxPositions ?? 'unknown'} |`,
    `| parameters | ${info.parameterCount.toLocaleString('en-US')} |`,
    '',
    `\`${path}\` (read from \`${file}\`)`,
  ].join('\n');
}
