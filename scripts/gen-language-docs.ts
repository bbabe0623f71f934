/**
 * Writes docs/language.md from the `.rtune` schema (language/docs.ts). Run after changing the schema:
 *   npx tsc -p tsconfig.test.json && node out/scripts/gen-language-docs.js
 * test/language/schema.test.ts fails when the committed file differs from what this would write.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateLanguageDocs } from '../language/docs';

const root = path.resolve(__dirname, '..', '..');
const target = path.join(root, 'docs', 'language.md');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.writeFileSync(target, generateLanguageDocs());
console.log(`wrote ${path.relative(root, target)}`);
