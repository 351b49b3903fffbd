// ESLint flat config: typescript-eslint's recommended rules, plus the guard Temporal needs —
// workflow code may not import Node built-ins or side-effecting modules (determinism).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.driftline/', 'coverage/', 'test/fixtures/histories/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'crypto', 'child_process', 'net', 'http', 'https', 'os'], message: 'Workflows must be deterministic: do I/O in an activity.' },
            { group: ['pg', 'kysely', '@aws-sdk/*', '@temporalio/worker', '@temporalio/client', '@temporalio/activity'], message: 'Workflows may only import @temporalio/workflow, core/ and activity types.' },
            { group: ['../activities/*', '../activities/**'], allowTypeImports: true, message: 'Import activities as types only (proxyActivities).' },
          ],
        },
      ],
    },
  },
);
