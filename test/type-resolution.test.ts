/**
 * The package's types resolve under every `moduleResolution` a Next.js app may have: `bundler`
 * (create-next-app today), `node16` / `nodenext`, from ES modules and CommonJS, and the legacy
 * `node` (older templates), which ignores `exports` altogether. A consumer file imports every
 * entry point and uses its types; `tsc` type-checks it against a copy of the built package in a
 * `node_modules` of its own, as an app would install it.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../testkit/example-app.js';

const APP = join(REPOSITORY_ROOT, '.tmp', 'type-resolution');
const TSC = join(REPOSITORY_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Every entry point, with a type from each that a mistyped or `any` import would not satisfy. */
const CONSUMER = `import { withAuthTelemetry, type AuthTelemetryOptions } from 'nextjs-auth-otel';
import { instrumentAuth0 } from 'nextjs-auth-otel/auth0';
import { instrumentNextAuth } from 'nextjs-auth-otel/next-auth';
import { registerAuthTelemetry, type AuthTelemetryRegistration } from 'nextjs-auth-otel/register';

const options: AuthTelemetryOptions = { spans: 'notable' };
export const middleware = withAuthTelemetry(async () => new Response(null));
export const wrappers = [instrumentAuth0, instrumentNextAuth];
export const registration: Promise<AuthTelemetryRegistration> = registerAuthTelemetry(options);
`;

const MODES = {
  bundler: { module: 'esnext', moduleResolution: 'bundler', file: 'consumer.ts' },
  node16: { module: 'node16', moduleResolution: 'node16', file: 'consumer.ts' },
  'node16, CommonJS file': { module: 'node16', moduleResolution: 'node16', file: 'consumer.cts' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext', file: 'consumer.ts' },
  'node (legacy)': { module: 'commonjs', moduleResolution: 'node', file: 'consumer.ts' },
} as const;

function tsconfig(mode: (typeof MODES)[keyof typeof MODES]): string {
  const compilerOptions = { strict: true, noEmit: true, skipLibCheck: true, noImplicitAny: true, target: 'es2022', lib: ['es2022', 'dom'], ...mode };
  return JSON.stringify({ compilerOptions: { ...compilerOptions, file: undefined }, files: [mode.file] });
}

async function typeCheck(name: keyof typeof MODES): Promise<string> {
  const config = join(APP, `tsconfig.${name.replace(/\W+/g, '-')}.json`);
  writeFileSync(config, tsconfig(MODES[name]));
  try {
    await promisify(execFile)(process.execPath, [TSC, '-p', config], { cwd: APP });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

describe('type resolution of nextjs-auth-otel in an app', () => {
  beforeAll(() => {
    rmSync(APP, { recursive: true, force: true });
    const installed = join(APP, 'node_modules', 'nextjs-auth-otel');
    mkdirSync(installed, { recursive: true });
    cpSync(join(REPOSITORY_ROOT, 'dist'), join(installed, 'dist'), { recursive: true });
    cpSync(join(REPOSITORY_ROOT, 'package.json'), join(installed, 'package.json'));
    // An ES-module app, as `"type": "module"` makes it; `.cts` files stay CommonJS.
    writeFileSync(join(APP, 'package.json'), JSON.stringify({ name: 'type-resolution-app', private: true, type: 'module' }));
    writeFileSync(join(APP, 'consumer.ts'), CONSUMER);
    writeFileSync(join(APP, 'consumer.cts'), CONSUMER);
  });

  it.each(Object.keys(MODES) as Array<keyof typeof MODES>)('moduleResolution %s: every entry point resolves with its types', async (name) => {
    expect(await typeCheck(name)).toBe('');
  });

  it('a missing entry point is reported (negative control)', async () => {
    writeFileSync(join(APP, 'consumer.ts'), `${CONSUMER}import { nothing } from 'nextjs-auth-otel/not-an-entry';\n`);
    expect(await typeCheck('node (legacy)')).toMatch(/TS2307/);
    writeFileSync(join(APP, 'consumer.ts'), CONSUMER);
  });
});
