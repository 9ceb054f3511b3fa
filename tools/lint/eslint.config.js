// ESLint lives in tools/lint with its own lockfile: typescript-eslint needs TypeScript's JS API, which
// TypeScript 7.0 does not ship (tsc 7 still does the type checking: `npm run typecheck`).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Paths are matched from tools/lint, where this file lives, hence the leading **/.
    ignores: ['**/node_modules/**', '**/tools/**', '**/dist/**', '**/coverage/**'],
  },
  {
    files: ['**/*.ts', '**/*.js'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    // Nest resolves constructor dependencies from emitted decorator metadata: an import that looks
    // type-only to a linter may be needed at runtime, so no rule may rewrite imports to `import type`.
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { emitDecoratorMetadata: true, experimentalDecorators: true },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
      // Size signals, not gates: a longer file or function needs a reason (docs/architecture.md).
      'max-lines': ['warn', { max: 300, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['warn', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Config file sections: a bare `key:` (YAML null) must be refused, not taken for "left out".
    files: ['**/src/**/*.config.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'class-validator',
              importNames: ['IsOptional'],
              message: 'use IsOmittable (config-validators): IsOptional lets a YAML null through as "left out"',
            },
          ],
        },
      ],
    },
  },
  {
    // The playground's browser scripts (served as written): browser globals, not Node's.
    files: ['**/src/playground/web/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/test/**/*.ts', '**/*.spec.ts', '**/*.e2e-spec.ts', '**/bench/**/*.ts'],
    // Test fixtures report their peers' real failures on the console (e.g. the upstream IdP's 500s).
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-console': 'off',
      'max-lines': 'off',
      'max-lines-per-function': 'off',
    },
  },
);
