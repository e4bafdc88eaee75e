import { defineConfig } from 'vitest/config';

import { fileURLToPath } from 'node:url';

const src = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    // README snippets import the package by name; tests run them against the sources.
    alias: [
      { find: /^nextjs-auth-otel\/auth0$/, replacement: src('auth0.ts') },
      { find: /^nextjs-auth-otel\/next-auth$/, replacement: src('next-auth.ts') },
      { find: /^nextjs-auth-otel\/register$/, replacement: src('register.ts') },
      { find: /^nextjs-auth-otel$/, replacement: src('index.ts') },
      // The v4 README snippets import the package by its own name; here it is installed as an alias.
      { find: /^@auth0\/nextjs-auth0\/server$/, replacement: '@auth0/nextjs-auth0-v4/server' },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real servers (IdP, OTLP receiver, Next apps) on loopback ports.
    fileParallelism: false,
    globalSetup: ['test/support/global-setup.ts'],
    // next-auth 5 imports `next/server` without an extension, which only a bundler resolves (as Next's does).
    server: { deps: { inline: [/node_modules\/next-auth-v5\//] } },
    reporters: ['default'],
  },
});
