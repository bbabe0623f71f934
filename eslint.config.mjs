// ESLint (flat config) over the TypeScript sources, tests and scripts: eslint's and typescript-eslint's
// recommended rules, plus the type-aware no-floating-promises (a promise nobody awaits loses its error: in the
// worker or the extension that is a job that fails silently). Type information comes from tsconfig.json through
// the project service. The few .js/.mjs build and e2e scripts are not linted: they would need Node's and VS
// Code's globals declared, and tsc does not check them either.
// Module boundaries are not lint rules: test/architecture/deps.test.ts checks them over the whole import graph.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['out/', 'dist/', '.package/', '.code-server/', '.test-output/', 'runs/', 'exports/', '**/*.js', '**/*.mjs', '**/*.cjs']),
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it/test return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] }],
      // tsc's noUnusedLocals and noUnusedParameters already check this, with the `_name` convention.
      '@typescript-eslint/no-unused-vars': 'off',
    },
  },
);
