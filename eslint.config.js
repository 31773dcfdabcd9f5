// Lint: typescript-eslint's recommended rules, plus Shardgate's layering rule (eslint-rules/layering.js):
// imports point one way, cli → roles → adapters → ports → core, and src/core is pure.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layering from './eslint-rules/layering.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'test-results/**', 'bench/results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      // Node's globals (the `globals` package is not a dependency; this is the list the code uses).
      globals: Object.fromEntries(
        ['process', 'console', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'performance', 'fetch', 'AbortController', 'TextEncoder', 'TextDecoder'].map((name) => [name, 'readonly']),
      ),
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { shardgate: { rules: { layering } } },
    rules: { 'shardgate/layering': 'error' },
  },
  {
    // The core is deterministic: time and randomness are passed in, never read.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'Date', message: 'src/core is pure: take the time as a parameter (nowMs).' },
        { name: 'setTimeout', message: 'src/core is pure: decide on ticks, let the caller schedule.' },
        { name: 'setInterval', message: 'src/core is pure: decide on ticks, let the caller schedule.' },
        { name: 'setImmediate', message: 'src/core is pure: let the caller schedule.' },
        { name: 'process', message: 'src/core is pure: the caller passes what it needs from the process.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'src/core is pure: take a seeded random source as a parameter.' },
        { object: 'globalThis', property: 'setTimeout', message: 'src/core is pure.' },
        { object: 'globalThis', property: 'Date', message: 'src/core is pure.' },
        { object: 'performance', property: 'now', message: 'src/core is pure: take the time as a parameter.' },
      ],
    },
  },
);
