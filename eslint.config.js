// ESLint flat config: the JavaScript and typescript-eslint recommended rules over the package, its
// tests, test kit, scripts and benchmark. The example apps are Next.js projects with their own
// dependencies and are built by `next build`, which lints them.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'examples/', 'coverage/', '**/.next/'] },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks a binding kept on purpose (a destructured-away field, a required parameter).
      // Wrappers forward whatever arguments the wrapped SDK function takes.
      '@typescript-eslint/no-explicit-any': ['error', { ignoreRestArgs: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Tests and the test kit read untyped OTLP JSON, SDK internals and fixtures.
    files: ['test/**', 'testkit/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
