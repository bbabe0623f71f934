/**
 * The prompt-template syntax, shared by the language (editor diagnostics) and the engine (rendering), so both
 * read a template the same way: `{name}` is a placeholder (name = letters, digits, `_`, not starting with a
 * digit), `{{` and `}}` are literal braces, and any other brace is an error with a fix. Templates are parsed
 * after the `.rtune` string escapes are decoded, so `\u{263A}` is just the character ☺.
 * Like the other protocol modules this imports nothing; offsets are UTF-16 indices into the decoded template.
 */

export interface TemplateText {
  readonly kind: 'text';
  /** The literal text, with `{{` and `}}` already turned into single braces. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

export interface TemplatePlaceholder {
  readonly kind: 'placeholder';
  readonly name: string;
  /** `start` is the `{`, `end` is just after the `}`. */
  readonly start: number;
  readonly end: number;
}

export type TemplatePart = TemplateText | TemplatePlaceholder;

/** A brace that forms no placeholder; the message says what to write and `edit` is that fix. */
export interface TemplateProblem {
  readonly start: number;
  readonly end: number;
  readonly message: string;
  /** The fix as an edit of the decoded template: replace [start, end) with `newText`. */
  readonly edit: { readonly start: number; readonly end: number; readonly newText: string; readonly title: string };
}

export interface ParsedTemplate {
  readonly parts: readonly TemplatePart[];
  readonly problems: readonly TemplateProblem[];
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

function nameAt(template: string, i: number): string | undefined {
  NAME.lastIndex = i;
  return NAME.exec(template)?.[0];
}

/** Splits a template into literal text and placeholders, and lists every brace that forms neither. */
export function parseTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const problems: TemplateProblem[] = [];
  let text = '';
  let textStart = 0;
  const flush = (end: number): void => {
    if (text !== '') parts.push({ kind: 'text', text, start: textStart, end });
    text = '';
  };
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === '{' && template[i + 1] === '{') {
      if (text === '') textStart = i;
      text += '{';
      i += 2;
    } else if (c === '}' && template[i + 1] === '}') {
      if (text === '') textStart = i;
      text += '}';
      i += 2;
    } else if (c === '{') {
      const name = nameAt(template, i + 1);
      const after = i + 1 + (name?.length ?? 0);
      if (name !== undefined && template[after] === '}') {
        flush(i);
        parts.push({ kind: 'placeholder', name, start: i, end: after + 1 });
        i = after + 1;
        continue;
      }
      // Report once and read what the problem covers as text, so `{ label }` is not also a lone `}`.
      const problem = openProblem(template, i, name);
      problems.push(problem);
      if (text === '') textStart = i;
      text += template.slice(i, problem.end);
      i = problem.end;
    } else if (c === '}') {
      problems.push({
        start: i,
        end: i + 1,
        message: 'a "}" that closes no placeholder: write }} for a literal brace',
        edit: { start: i, end: i + 1, newText: '}}', title: 'Write }} for a literal brace' },
      });
      if (text === '') textStart = i;
      text += '}';
      i++;
    } else {
      if (text === '') textStart = i;
      text += c;
      i++;
    }
  }
  flush(template.length);
  return { parts, problems };
}

function openProblem(template: string, i: number, name: string | undefined): TemplateProblem {
  const close = template.indexOf('}', i + 1);
  const inner = close > 0 ? template.slice(i + 1, close) : undefined;
  const trimmed = inner?.trim();
  if (inner !== undefined && trimmed !== undefined && trimmed !== '' && nameAt(trimmed, 0) === trimmed) {
    return {
      start: i,
      end: close + 1,
      message: `a placeholder name cannot have spaces around it: write {${trimmed}}, or {{ for a literal brace`,
      edit: { start: i, end: close + 1, newText: `{${trimmed}}`, title: `Write {${trimmed}}` },
    };
  }
  if (name !== undefined) {
    const after = i + 1 + name.length;
    return {
      start: i,
      end: after,
      message: `"{${name}" is not closed: close it with } to make the placeholder {${name}}, or write {{ for a literal brace`,
      edit: { start: after, end: after, newText: '}', title: `Close {${name} with }` },
    };
  }
  if (inner === '') {
    return {
      start: i,
      end: close + 1,
      message: 'an empty placeholder {}: write {{}} for literal braces',
      edit: { start: i, end: close + 1, newText: '{{}}', title: 'Write {{}} for literal braces' },
    };
  }
  return {
    start: i,
    end: i + 1,
    message: 'a "{" that starts no placeholder: write {{ for a literal brace',
    edit: { start: i, end: i + 1, newText: '{{', title: 'Write {{ for a literal brace' },
  };
}

/** The placeholder names a template uses (braces that form no placeholder are not names). */
export function templatePlaceholders(template: string): Set<string> {
  const names = new Set<string>();
  for (const p of parseTemplate(template).parts) if (p.kind === 'placeholder') names.add(p.name);
  return names;
}
