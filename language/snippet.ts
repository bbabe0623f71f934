/**
 * The text a VS Code snippet inserts when every placeholder keeps its default: `$1`, `${1}` and `$0` insert
 * nothing, `${1:text}` inserts its (possibly nested) text, `${1|a,b|}` its first choice, and `\$`, `\}`, `\\`
 * are escapes (a backslash before anything else is literal). The docs, hover examples and the schema tests
 * read section snippets through this, so what they show is what the editor inserts.
 * Non-goals: snippet variables (`$TM_FILENAME`); the schema's snippets use none.
 */

export function snippetText(snippet: string): string {
  return expand(snippet, 0, false).text;
}

function expand(s: string, start: number, nested: boolean): { text: string; end: number } {
  let out = '';
  let i = start;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === '\\' && (s[i + 1] === '$' || s[i + 1] === '}' || s[i + 1] === '\\')) {
      out += s[i + 1];
      i += 2;
      continue;
    }
    if (nested && c === '}') return { text: out, end: i + 1 };
    if (c === '$') {
      const tab = /^\$(\d+)|^\$\{(\d+)\}/.exec(s.slice(i));
      if (tab !== null) {
        i += tab[0].length;
        continue;
      }
      const open = /^\$\{\d+:/.exec(s.slice(i));
      if (open !== null) {
        const inner = expand(s, i + open[0].length, true);
        out += inner.text;
        i = inner.end;
        continue;
      }
      const choice = /^\$\{\d+\|((?:[^|\\]|\\.)*?)\|\}/.exec(s.slice(i));
      if (choice !== null) {
        out += (choice[1] ?? '').split(/(?<!\\),/)[0]?.replace(/\\(.)/g, '$1') ?? '';
        i += choice[0].length;
        continue;
      }
    }
    out += c;
    i++;
  }
  return { text: out, end: i };
}
