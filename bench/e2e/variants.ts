/**
 * The app setups the end-to-end benchmark compares: copies of examples/auth0-v3-app-router that
 * differ only in their instrumentation, each built once with `next build`.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPOSITORY_ROOT, buildNextApp, exampleDir, installExample, prepareExample } from '../../testkit/example-app.js';

export const EXAMPLE = 'auth0-v3-app-router';

export type VariantName = 'off' | 'bare' | 'default' | 'notable' | 'metrics-only';

export interface Variant {
  readonly name: VariantName;
  readonly description: string;
  /** Whether the SDK calls and the middleware go through the plugin's wrappers. */
  readonly wrappers: boolean;
  /** The `registerAuthTelemetry()` call in instrumentation.ts: none, as shipped, or with a `spans` mode. */
  readonly register: 'none' | 'as-shipped' | 'notable' | 'none-spans';
}

export const VARIANTS: readonly Variant[] = [
  { name: 'off', description: 'no telemetry at all', wrappers: false, register: 'none' },
  { name: 'bare', description: "telemetry registered as shipped, without the plugin's wrappers", wrappers: false, register: 'as-shipped' },
  { name: 'default', description: "the README's quick start (default options)", wrappers: true, register: 'as-shipped' },
  { name: 'notable', description: "quick start with spans: 'notable'", wrappers: true, register: 'notable' },
  { name: 'metrics-only', description: "quick start with spans: 'none' (metrics only)", wrappers: true, register: 'none-spans' },
];

const SOURCE_EXTENSIONS = /\.(ts|tsx|js|mjs)$/;
const SHIPPED_OPTION = "monitorUserAgents: ['internal-healthcheck/'],";

/** The app's own code, with every plugin wrapper call replaced by the SDK it wraps. */
function withoutWrappers(source: string): string {
  return source
    .replace(/^import .* from 'nextjs-auth-otel\/[\w-]+';\n/gm, '')
    .replace(/instrumentAuth0\((\w+)\)/g, '$1')
    .replace(/withAuthTelemetry\(/g, '(');
}

function instrumentation(variant: Variant, shipped: string): string {
  if (variant.register === 'none') return 'export async function register(): Promise<void> {}\n';
  if (variant.register === 'as-shipped') return shipped;
  if (!shipped.includes(SHIPPED_OPTION)) throw new Error(`instrumentation.ts no longer contains ${SHIPPED_OPTION}: update bench/e2e/variants.ts`);
  const spans = variant.register === 'notable' ? 'notable' : 'none';
  return shipped.replace(SHIPPED_OPTION, `${SHIPPED_OPTION}\n    spans: '${spans}',`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return SOURCE_EXTENSIONS.test(entry.name) ? [path] : [];
  });
}

function writeIfChanged(path: string, content: string): void {
  if (!existsSync(path) || readFileSync(path, 'utf8') !== content) writeFileSync(path, content);
}

const SHIPPED_EXPERIMENTAL = 'experimental: { instrumentationHook: true }';

/** Source maps for the Node.js server chunks too, so that a CPU profile can name bundled packages. */
function withServerSourceMaps(config: string): string {
  if (!config.includes(SHIPPED_EXPERIMENTAL)) throw new Error(`next.config.mjs no longer contains ${SHIPPED_EXPERIMENTAL}: update bench/e2e/variants.ts`);
  return config.replace(SHIPPED_EXPERIMENTAL, 'experimental: { instrumentationHook: true, serverSourceMaps: true }');
}

/**
 * Writes the variant's copy of the example (sharing its node_modules) and builds it if it
 * changed. `profiled`: a separate copy built with server source maps.
 */
export async function prepareVariant(variant: Variant, log: (line: string) => void, { profiled = false } = {}): Promise<string> {
  // The example as shipped is the quick-start variant: its build is shared with the end-to-end tests.
  if (variant.wrappers && variant.register === 'as-shipped' && !profiled) return prepareExample(EXAMPLE, { log });
  const source = exampleDir(EXAMPLE);
  const dir = join(REPOSITORY_ROOT, '.tmp', 'bench-e2e', profiled ? `${variant.name}-profiled` : variant.name);
  mkdirSync(dir, { recursive: true });
  cpSync(source, dir, { recursive: true, filter: (path) => !/(^|\/)(node_modules|\.next)(\/|$)/.test(relative(source, path)) });
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(source, 'node_modules'), join(dir, 'node_modules'));

  writeIfChanged(join(dir, 'instrumentation.ts'), instrumentation(variant, readFileSync(join(source, 'instrumentation.ts'), 'utf8')));
  for (const file of sourceFiles(dir)) {
    if (file.endsWith('instrumentation.ts')) continue;
    const original = readFileSync(join(source, relative(dir, file)), 'utf8');
    const code = variant.wrappers ? original : withoutWrappers(original);
    if (!variant.wrappers && /from 'nextjs-auth-otel|instrumentAuth0|withAuthTelemetry/.test(code))
      throw new Error(`${relative(dir, file)} still uses the plugin after unwrapping`);
    writeIfChanged(file, code);
  }
  if (profiled) writeIfChanged(join(dir, 'next.config.mjs'), withServerSourceMaps(readFileSync(join(source, 'next.config.mjs'), 'utf8')));
  await buildNextApp(dir, `the '${variant.name}' variant${profiled ? ' with source maps' : ''}`, { log });
  return dir;
}

/** Installs the example and refreshes its copy of this package, once, before the variants are built. */
export async function prepareExampleDependencies(log: (line: string) => void): Promise<void> {
  await installExample(EXAMPLE, { log });
}
