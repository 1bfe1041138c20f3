// ESLint for the TypeScript facade and tests and for the plain JavaScript around them (fixtures,
// benchmarks, scripts, examples). Formatting is prettier's job, so no stylistic rules here.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// What Node gives a CommonJS script beyond the language's own globals (ESLint ships no
// environments any more, and this list is short enough to keep rather than add a dependency).
const nodeGlobals = {
  require: 'readonly',
  module: 'writable',
  exports: 'writable',
  __dirname: 'readonly',
  __filename: 'readonly',
  process: 'readonly',
  Buffer: 'readonly',
  console: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setInterval: 'readonly',
  clearInterval: 'readonly',
  setImmediate: 'readonly',
  clearImmediate: 'readonly',
  queueMicrotask: 'readonly',
  structuredClone: 'readonly',
  performance: 'readonly',
  AbortController: 'readonly',
  AbortSignal: 'readonly',
  TextEncoder: 'readonly',
  TextDecoder: 'readonly',
  URL: 'readonly',
};

export default defineConfig([
  // A disable comment that no longer silences anything is stale and must go.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  globalIgnores(['dist/', 'build/', 'prebuilds/', 'coverage/', 'node_modules/', 'test/.tmp/', '.cache/']),
  {
    files: ['**/*.{js,cjs,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'commonjs', globals: nodeGlobals },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      // `using x = ...` that is never read exists for its disposal at the end of the scope.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreUsingDeclarations: true }],
    },
  },
]);
