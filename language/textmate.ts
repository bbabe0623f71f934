/**
 * Builds the TextMate grammar (syntaxes/rtune.tmLanguage.json) from the schema, as taplo generates its TOML
 * grammar from code: section keywords, key names, enum values and block names come from the schema tables, so
 * colouring cannot drift from what the language accepts. scripts/gen-grammar.ts writes the JSON; a test fails
 * when the committed file differs. Non-goals: semantic colouring (references, unknown keys) is the server's.
 */

import { ARCHITECTURE_FAMILIES, BLOCK_ALIASES, BLOCK_NAMES } from '../model/blocks';
import { BUILTIN_DEMO } from './env';
import { SECTION_KINDS, allEnumValues, allKeyNames } from './schema';

export const SCOPE_NAME = 'source.rtune';

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

/** A word alternation that does not match inside longer words (words may contain . - : /). */
function words(list: readonly string[]): string {
  const sorted = [...new Set(list)].sort((a, b) => b.length - a.length || a.localeCompare(b));
  return `(?<![\\w.\\-:/])(?:${sorted.map(escapeRegex).join('|')})(?![\\w.\\-:/])`;
}

export type Grammar = Record<string, unknown>;

export function buildGrammar(): Grammar {
  const enums = allEnumValues().filter((v) => v !== 'true' && v !== 'false');
  const blocks = [...new Set([...BLOCK_NAMES, ...ARCHITECTURE_FAMILIES.flatMap((f) => Object.keys(BLOCK_ALIASES[f]))])];
  return {
    $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
    name: 'rtune',
    scopeName: SCOPE_NAME,
    fileTypes: ['rtune'],
    comment: 'Generated from language/schema.ts by scripts/gen-grammar.ts. Do not edit by hand.',
    patterns: [
      { include: '#comment' },
      { include: '#section' },
      { include: '#string' },
      { include: '#key' },
      { include: '#constant' },
      { include: '#number' },
      { include: '#punctuation' },
    ],
    repository: {
      comment: { name: 'comment.line.number-sign.rtune', match: '#.*$' },
      section: {
        comment: 'A section header: `kind name {`.',
        match: `^\\s*(${words(SECTION_KINDS)})\\s+([^\\s{#"]+|"(?:[^"\\\\]|\\\\.)*")(?=\\s*\\{)`,
        captures: { '1': { name: 'keyword.control.section.rtune' }, '2': { name: 'entity.name.section.rtune' } },
      },
      string: {
        name: 'string.quoted.double.rtune',
        begin: '"',
        end: '"|$',
        beginCaptures: { '0': { name: 'punctuation.definition.string.begin.rtune' } },
        endCaptures: { '0': { name: 'punctuation.definition.string.end.rtune' } },
        patterns: [
          { name: 'constant.character.escape.rtune', match: '\\\\(?:[ntr"\\\\]|u\\{[0-9A-Fa-f]{1,6}\\})' },
          { name: 'invalid.illegal.escape.rtune', match: '\\\\.' },
          { name: 'variable.parameter.placeholder.rtune', match: '\\{(?:statement|persona|label)\\}' },
        ],
      },
      key: { name: 'variable.other.property.rtune', match: words(allKeyNames()) },
      constant: {
        patterns: [
          { name: 'constant.language.boolean.rtune', match: words(['true', 'false']) },
          { name: 'support.constant.builtin.rtune', match: words([BUILTIN_DEMO, 'all']) },
          { name: 'support.type.block.rtune', match: words(blocks) },
          { name: 'constant.language.enum.rtune', match: words(enums) },
        ],
      },
      number: {
        patterns: [
          { name: 'keyword.operator.range.rtune', match: '(?<=\\d)\\.\\.(?=[-+]?\\d)' },
          { name: 'constant.numeric.rtune', match: '(?<![\\w\\-:/])(?<![^.]\\.)[-+]?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?(?![\\w:/]|\\.\\d)' },
        ],
      },
      punctuation: {
        patterns: [
          { name: 'punctuation.section.block.begin.rtune', match: '\\{' },
          { name: 'punctuation.section.block.end.rtune', match: '\\}' },
          { name: 'punctuation.definition.list.begin.rtune', match: '\\[' },
          { name: 'punctuation.definition.list.end.rtune', match: '\\]' },
          { name: 'punctuation.separator.rtune', match: '[,;]' },
        ],
      },
    },
  };
}

/** The grammar file's exact text (stable key order, two-space indent, trailing newline). */
export function grammarJson(): string {
  return `${JSON.stringify(buildGrammar(), null, 2)}\n`;
}
