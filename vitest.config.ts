import { defineConfig } from 'vitest/config';

import { fileURLToPath } from 'node:url';

const src = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

export default defineConfig({
  plugins: [
    {
      // The Auth.js v5 snippets import next-auth by its own name, as apps do; here it is installed as
      // `next-auth-v5` beside v4 (`next-auth`), so only their imports are pointed at it.
      name: 'authjs-v5-snippets',
      enforce: 'pre',
      resolveId(source, importer) {
        if (!importer?.includes('/docs/snippets/authjs-v5/') || !/^next-auth(\/|$)/.test(source)) return null;
        return this.resolve(source.replace(/^next-auth/, 'next-auth-v5'), importer, { skipSelf: true });
      },
    },
  ],
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
