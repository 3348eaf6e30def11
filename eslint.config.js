import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.ci/node/**', 'coverage/**', 'demo-output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', globalThis: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', AbortController: 'readonly', setImmediate: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', structuredClone: 'readonly', performance: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['commands/**/*.ts'],
    rules: {
      // Commands stay thin: no store or target clients imported directly.
      'no-restricted-imports': ['error', { patterns: ['ldapts', '@aws-sdk/*', 'pg', 'node:sqlite'] }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
  {
    files: ['bench/**', 'scripts/**', 'test/**', '.ci/**'],
    rules: { 'no-console': 'off' },
  },
);
