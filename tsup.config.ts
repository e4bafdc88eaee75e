import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    auth0: 'src/auth0.ts',
    'next-auth': 'src/next-auth.ts',
    register: 'src/register.ts',
    'register.edge': 'src/register.edge.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: true,
  treeshake: true,
  // Peers and the SDKs we instrument are the user's: never bundle them.
  external: [/^@opentelemetry\//, /^@auth0\//, /^next(\/|$)/, /^next-auth/, /^@auth\//, 'isbot'],
  // Bundled, not a dependency: @noble/hashes v2 is ESM-only and needs Node 20.19+, so an external
  // require() from the CJS build would fail on the older Node 20 releases this package supports.
  noExternal: ['@noble/hashes'],
});
