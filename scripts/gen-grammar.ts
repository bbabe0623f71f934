/**
 * Writes syntaxes/rtune.tmLanguage.json from the `.rtune` schema (language/textmate.ts). Run after changing
 * the schema:  npx tsc -p tsconfig.test.json && node out/scripts/gen-grammar.js
 * test/grammar/grammar.test.ts fails when the committed file differs from what this would write.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { grammarJson } from '../language/textmate';

const root = path.resolve(__dirname, '..', '..');
const target = path.join(root, 'syntaxes', 'rtune.tmLanguage.json');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.writeFileSync(target, grammarJson());
console.log(`wrote ${path.relative(root, target)}`);
