/**
 * The example apps run the README's code: every file an example shares with a README snippet
 * (or with the ready-to-copy `instrumentation.ts`) must stay byte-for-byte the same, so a change
 * to one that forgets the other fails here rather than in a slow end-to-end test or, worse, not at all.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../testkit/example-app.js';

/** [file in the example, the snippet it must equal], per example. */
const SHARED_FILES: Record<string, Array<[string, string]>> = {
  'auth0-v3-app-router': [
    ['instrumentation.ts', 'instrumentation.ts'],
    ['middleware.ts', 'docs/snippets/middleware.ts'],
  ],
  'auth0-v3-pages-router': [
    ['instrumentation.ts', 'instrumentation.ts'],
    ['lib/auth0.js', 'docs/snippets/lib/auth0-v3.js'],
    ['pages/api/token.js', 'docs/snippets/pages/api/token.js'],
  ],
  'auth0-v4-proxy': [
    ['instrumentation.ts', 'docs/snippets/proxy-instrumentation.ts'],
    ['proxy.ts', 'docs/snippets/proxy.ts'],
  ],
  'auth0-v4-next15-middleware': [['instrumentation.ts', 'docs/snippets/proxy-instrumentation.ts']],
  'next-auth-rotation': [
    ['instrumentation.ts', 'docs/snippets/shared-ledger-instrumentation.ts'],
    ['lib/auth.ts', 'docs/snippets/next-auth-options.ts'],
  ],
  'next-auth-pages-router': [['instrumentation.ts', 'instrumentation.ts']],
  'authjs-v5': [
    ['instrumentation.ts', 'docs/snippets/shared-ledger-instrumentation.ts'],
    ['middleware.ts', 'docs/snippets/authjs-v5/middleware.ts'],
    ['middleware-auth.ts', 'docs/snippets/authjs-v5/middleware-auth.ts'],
    ['auth.config.ts', 'docs/snippets/authjs-v5-config.ts'],
  ],
};

const read = (...path: string[]) => readFileSync(join(REPOSITORY_ROOT, ...path), 'utf8');

describe('example apps run the README snippets unchanged', () => {
  for (const [example, files] of Object.entries(SHARED_FILES)) {
    it.each(files)(`examples/${example}/%s is %s`, (file, snippet) => {
      expect(read('examples', example, file)).toBe(read(snippet));
    });
  }

  it('covers every example app, and every example registers telemetry through a shared file', () => {
    const apps = readdirSync(join(REPOSITORY_ROOT, 'examples')).filter((name) => existsSync(join(REPOSITORY_ROOT, 'examples', name, 'instrumentation.ts')));
    expect(Object.keys(SHARED_FILES).sort()).toEqual(apps.sort());
    for (const files of Object.values(SHARED_FILES)) expect(files.map(([file]) => file)).toContain('instrumentation.ts');
  });
});
