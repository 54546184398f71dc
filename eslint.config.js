// Lint: the recommended JS and TypeScript rules, plus the habits of ARCHITECTURE.md that a linter can see.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'bench/results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Library code never prints: output belongs to the CLI edge (tui/cli) and the composition root.
      'no-console': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['state/**/*.ts'],
    rules: {
      'no-console': 'error',
      // state/ is pure: no clock, no randomness, no I/O.
      'no-restricted-globals': ['error', 'Date', 'setTimeout', 'setInterval', 'fetch', 'process'],
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'child_process', '../server/*', '../hooks/*', '../tui/*'] }],
    },
  },
);
