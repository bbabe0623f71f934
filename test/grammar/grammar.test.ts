/**
 * The TextMate grammar: the committed syntaxes/rtune.tmLanguage.json equals what language/textmate.ts builds
 * from the schema (regenerate with `node out/scripts/gen-grammar.js`), package.json contributes the language
 * and grammar, and the `*.test.rtune` files in this folder pass vscode-tmgrammar-test (scope assertions,
 * run headless on vscode-textmate + oniguruma, offline). Note: vscode-tmgrammar-test 0.1.3 loops forever on an
 * assertion with two `-` exclusions (`^^ a - b - c`); write one exclusion per assertion line.
 */

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { grammarJson } from '../../language/textmate';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const grammarFile = path.join(repoRoot, 'syntaxes', 'rtune.tmLanguage.json');

describe('TextMate grammar', () => {
  it('matches what the schema generates (node out/scripts/gen-grammar.js)', () => {
    assert.ok(
      fs.readFileSync(grammarFile, 'utf8') === grammarJson(),
      'syntaxes/rtune.tmLanguage.json is stale: run `npx tsc -p tsconfig.test.json && node out/scripts/gen-grammar.js`',
    );
  });

  it('is contributed in package.json with the language configuration and onLanguage activation', () => {
    const pkg: unknown = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    const text = JSON.stringify(pkg);
    assert.ok(text.includes('"onLanguage:rtune"'));
    assert.ok(text.includes('"scopeName":"source.rtune"') && text.includes('"path":"./syntaxes/rtune.tmLanguage.json"'));
    assert.ok(text.includes('"extensions":[".rtune"]') && text.includes('"configuration":"./language-configuration.json"'));
    const config: unknown = JSON.parse(fs.readFileSync(path.join(repoRoot, 'language-configuration.json'), 'utf8'));
    assert.ok(typeof config === 'object' && config !== null && 'comments' in config);
  });

  it('passes the vscode-tmgrammar-test scope assertions', () => {
    const cli = path.join(repoRoot, 'node_modules', 'vscode-tmgrammar-test', 'dist', 'unit.js');
    const testDir = path.join(repoRoot, 'test', 'grammar');
    const files = fs.readdirSync(testDir).filter((f) => f.endsWith('.test.rtune'));
    assert.ok(files.length >= 2);
    const r = spawnSync(process.execPath, [cli, '-g', grammarFile, ...files.map((f) => path.join(testDir, f))], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });
});
