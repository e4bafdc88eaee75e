/**
 * Builds and runs the Next.js apps in `examples/` for the end-to-end tests and `npm run demo`.
 *
 * Each example depends on this package with `"nextjs-auth-otel": "file:../.."` and
 * `install-links=true`, so it gets a real copy in its own `node_modules` and every import the
 * package makes (`next/headers`, `@opentelemetry/api`) resolves to the example's own copies, the
 * way it does for users. The copy is refreshed from the repository's `dist/` before each build,
 * so the apps always run the code in this repository.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILD_LOCK = '/tmp/nextjs-auth-otel-next-build.lock';
const STAMP_FILE = '.nextjs-auth-otel-build-stamp';

export class ExampleAppError extends Error {
  override readonly name = 'ExampleAppError';
}

export interface PrepareOptions {
  /** Progress lines (install, build); default: silent. */
  log?: (line: string) => void;
}

export function exampleDir(name: string): string {
  const dir = join(REPOSITORY_ROOT, 'examples', name);
  if (!existsSync(join(dir, 'package.json'))) throw new ExampleAppError(`examples/${name} has no package.json`);
  return dir;
}

/** Asynchronous on purpose: a test runner's worker must keep answering while a build runs for a minute. */
function run(command: string, args: string[], cwd: string, what: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-200_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (error) => reject(new ExampleAppError(`${what} could not start: ${error.message}`)));
    child.once('close', (code) => {
      if (code === 0) return resolveRun();
      const tail = output.trim().split('\n').slice(-60).join('\n');
      reject(new ExampleAppError(`${what} failed (exit ${String(code)}):\n${tail}`));
    });
  });
}

function hashTree(hash: ReturnType<typeof createHash>, dir: string, base: string, skip: ReadonlySet<string>): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (skip.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) hashTree(hash, path, base, skip);
    else if (entry.isFile()) {
      hash.update(relative(base, path));
      hash.update(readFileSync(path));
    }
  }
}

const SKIPPED = new Set(['node_modules', '.next', 'next-env.d.ts', '.turbo', STAMP_FILE]);

/** Copies the built package into the example, replacing the copy `npm ci` made. */
function syncPackageCopy(dir: string): void {
  const dist = join(REPOSITORY_ROOT, 'dist');
  if (!existsSync(join(dist, 'index.js'))) {
    throw new ExampleAppError('dist/ is missing: run `npm run build` in the repository root first.');
  }
  const target = join(dir, 'node_modules', 'nextjs-auth-otel');
  // A symlinked install (no `install-links`) points back at this repository: never delete through it.
  if (existsSync(target) && lstatSync(target).isSymbolicLink()) rmSync(target);
  rmSync(join(target, 'dist'), { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  cpSync(dist, join(target, 'dist'), { recursive: true });
  cpSync(join(REPOSITORY_ROOT, 'package.json'), join(target, 'package.json'));
}

/**
 * Installs the example's dependencies when needed, refreshes its copy of this package and builds
 * it when the example or the package changed since the last build.
 */
export async function prepareExample(name: string, options: PrepareOptions = {}): Promise<string> {
  const dir = await installExample(name, options);
  await buildNextApp(dir, `examples/${name}`, options);
  return dir;
}

/** Installs the example's dependencies when needed and refreshes its copy of this package. */
export async function installExample(name: string, options: PrepareOptions = {}): Promise<string> {
  const log = options.log ?? (() => {});
  const dir = exampleDir(name);
  const lock = join(dir, 'package-lock.json');
  const installed = join(dir, 'node_modules', '.package-lock.json');
  if (!existsSync(installed) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs)) {
    log(`installing examples/${name} dependencies (npm ci)…`);
    await installDependencies(dir, name);
  }
  syncPackageCopy(dir);
  return dir;
}

/**
 * Runs `next build` in `dir` unless the app and this package's `dist/` are unchanged since its
 * last build. Builds take a machine-wide lock: two concurrent Next builds on a small machine slow
 * both to a crawl.
 */
export async function buildNextApp(dir: string, label: string, options: PrepareOptions = {}): Promise<void> {
  const log = options.log ?? (() => {});
  const hash = createHash('sha256');
  hashTree(hash, dir, dir, SKIPPED);
  hashTree(hash, join(REPOSITORY_ROOT, 'dist'), REPOSITORY_ROOT, SKIPPED);
  const stamp = hash.digest('hex');
  const stampPath = join(dir, '.next', STAMP_FILE);
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp) {
    log(`${label} is already built`);
    return;
  }
  log(`building ${label} (next build)…`);
  // webpack treats node_modules as managed paths: a package is cached by its package.json version,
  // so a refreshed copy of this package under the same version would be served from the old build's
  // cache, and the app would run yesterday's plugin. Without the cache it is bundled from the copy.
  rmSync(join(dir, '.next', 'cache'), { recursive: true, force: true });
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
  await run('flock', [BUILD_LOCK, join(dir, 'node_modules', '.bin', 'next'), 'build'], dir, `next build in ${label}`, env);
  writeFileSync(stampPath, stamp);
}

/** A dropped registry connection (ECONNRESET, ETIMEDOUT) fails `npm ci` for nothing: try again, a few times. */
async function installDependencies(dir: string, name: string, attempts = 3): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], dir, `npm ci in examples/${name}`);
    } catch (error) {
      const network = error instanceof ExampleAppError && /ECONNRESET|ETIMEDOUT|EAI_AGAIN|ECONNREFUSED|network/i.test(error.message);
      if (!network || attempt >= attempts) throw error;
    }
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface StartExampleOptions {
  /** Environment for the app on top of the current one (IdP URLs, OTLP endpoint, secrets). */
  env?: Record<string, string | undefined>;
  port?: number;
  /** Path polled until the app answers; every example serves `/api/health`. */
  readyPath?: string;
  readyTimeoutMs?: number;
  /** Node.js flags for the server process, e.g. `--cpu-prof` (which NODE_OPTIONS does not accept). */
  nodeArgs?: string[];
}

export interface ExampleApp {
  readonly url: string;
  readonly port: number;
  /** The `next start` process, leader of its own process group (its workers are in that group). */
  readonly pid: number;
  /** Everything the server printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** No `next start` outlives the process that started it, whatever way that process ends. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  });
}

export function startExample(name: string, options: StartExampleOptions = {}): Promise<ExampleApp> {
  return startNextApp(exampleDir(name), `examples/${name}`, options);
}

/** `next start` for a built app in `dir`, resolved once it answers `readyPath`. */
export async function startNextApp(dir: string, label: string, options: StartExampleOptions = {}): Promise<ExampleApp> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const next = ['start', '-p', String(port), '-H', '127.0.0.1'];
  const [command, args] = options.nodeArgs
    ? [process.execPath, [...options.nodeArgs, join(dir, 'node_modules', 'next', 'dist', 'bin', 'next'), ...next]]
    : [join(dir, 'node_modules', '.bin', 'next'), next];
  const server = await startServerProcess(command, args, {
    what: label,
    cwd: dir,
    env: { NEXT_TELEMETRY_DISABLED: '1', PORT: String(port), ...options.env },
    readyUrl: url + (options.readyPath ?? '/api/health'),
    readyTimeoutMs: options.readyTimeoutMs,
  });
  return { url, port, ...server };
}

export interface ServerProcessOptions {
  /** Names the process in error messages. */
  what: string;
  cwd?: string;
  /** On top of the current environment. */
  env?: Record<string, string | undefined>;
  /** Polled until it answers below 500. */
  readyUrl: string;
  readyTimeoutMs?: number;
}

export interface ServerProcess {
  /** The process, leader of its own process group. */
  readonly pid: number;
  /** Everything the process printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a server in its own process group and waits until `readyUrl` answers. The group is
 * killed on `stop()` and when this process exits, whatever way it ends.
 */
export async function startServerProcess(command: string, args: readonly string[], options: ServerProcessOptions): Promise<ServerProcess> {
  installExitHook();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolveExit) => {
    child.once('exit', () => resolveExit());
    child.once('error', () => resolveExit());
  });

  const stop = async () => {
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    running.delete(child);
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (spawnError) {
      running.delete(child);
      throw new ExampleAppError(`${options.what} could not start: ${spawnError.message}`);
    }
    if (child.exitCode !== null) {
      running.delete(child);
      throw new ExampleAppError(`${options.what} exited with ${child.exitCode} before it was ready:\n${output.slice(-4000)}`);
    }
    try {
      const response = await fetch(options.readyUrl, { signal: AbortSignal.timeout(5000) });
      await response.arrayBuffer();
      if (response.status < 500) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new ExampleAppError(`${options.what} did not answer ${options.readyUrl} in time:\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { pid: child.pid!, output: () => output, stop };
}
