import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRICS, SPANS, ATTRIBUTES } from '../src/core/telemetry/catalog.js';
import { VERSION } from '../src/core/telemetry/version.js';
import { END, START, telemetryTables } from '../scripts/readme-tables.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('has the telemetry tables exactly as the catalog generates them (run `npm run docs` after changing the catalog)', () => {
    const section = readme.slice(readme.indexOf(START), readme.indexOf(END) + END.length);
    expect(section).toBe(telemetryTables());
    for (const spec of [...Object.values(SPANS), ...Object.values(METRICS)]) expect(section).toContain(`\`${spec.name}\``);
    for (const spec of Object.values(ATTRIBUTES)) expect(section).toContain(`\`${spec.key}\``);
  });

  it('shows code samples that are the files the tests run', () => {
    const snippets = [...readme.matchAll(/<!-- snippet: (\S+) -->\n```(?:ts|js)\n([\s\S]*?)```/g)];
    expect(snippets.map((m) => m[1])).toEqual([
      'instrumentation.ts',
      'docs/snippets/middleware.ts',
      'docs/snippets/lib/auth0-v3.js',
      'docs/snippets/pages/api/token.js',
      'docs/snippets/lib/auth0-v4.ts',
      'docs/snippets/proxy.ts',
      'docs/snippets/proxy-instrumentation.ts',
      'docs/snippets/next-auth-options.ts',
      'docs/snippets/authjs-v5-config.ts',
      'docs/snippets/authjs-v5/middleware.ts',
      'docs/snippets/authjs-v5/middleware-auth.ts',
      'docs/snippets/pages/api/auth/[...nextauth].ts',
      'docs/snippets/shared-ledger-instrumentation.ts',
      'docs/snippets/trace-token-refresh.ts',
      'docs/snippets/vercel-otel-instrumentation.ts',
      'docs/snippets/prometheus-exporter-instrumentation.ts',
    ]);
    for (const [, path, body] of snippets) expect(body).toBe(readFileSync(new URL(`../${path}`, import.meta.url), 'utf8'));
  });

  it('keeps the test command and the package version in step', () => {
    expect(readme).toContain('npm test');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
