/**
 * Generates the dashboards, alert rules and promtool tests under dashboards/ from the telemetry
 * catalog (src/core/telemetry/catalog.ts).
 *
 *   npx tsx scripts/build-dashboards.ts            write the committed files (default options)
 *   npx tsx scripts/build-dashboards.ts --check    exit 1 if a committed file differs (drift check)
 *   npx tsx scripts/build-dashboards.ts --slo=0.995 --out=/tmp/my-dashboards
 *                                                  a customised set, written elsewhere
 *
 * Options (flags, or environment variables for CI):
 *   --slo=0.99                      NEXTJS_AUTH_OTEL_SLO                     refresh SLO for real users
 *   --min-refreshes-per-hour=100    NEXTJS_AUTH_OTEL_MIN_REFRESHES_PER_HOUR  burn-alert traffic guard
 *   --naming=otlp|js-exporter       NEXTJS_AUTH_OTEL_PROMETHEUS_NAMING       Prometheus metric names
 *   --grafana-datasource-uid=…      NEXTJS_AUTH_OTEL_GRAFANA_DATASOURCE_UID  uid Grafana alert rules query
 *   --runbook-url=…                 NEXTJS_AUTH_OTEL_RUNBOOK_URL             base URL of docs/runbook.md
 *
 * Non-default options are refused without --out, so the committed files always use the defaults.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildAll, optionsFromEnv, type BuildOptions, type PrometheusNaming } from '../dashboards/src/index.js';

export { buildAll } from '../dashboards/src/index.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Args {
  check: boolean;
  out?: string;
  options: Partial<BuildOptions>;
}

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {} as NodeJS.ProcessEnv): Args {
  const options: { -readonly [K in keyof BuildOptions]?: BuildOptions[K] } = { ...optionsFromEnv(env) };
  const args: Args = { check: false, options };
  for (const arg of argv) {
    const [flag, raw] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    const need = () => {
      if (raw === undefined || raw === '') throw new Error(`${flag} needs a value`);
      return raw;
    };
    switch (flag) {
      case '--check':
        args.check = true;
        break;
      case '--out':
        args.out = need();
        break;
      case '--slo':
        options.slo = Number(need());
        break;
      case '--min-refreshes-per-hour':
        options.minRefreshesPerHour = Number(need());
        break;
      case '--naming':
        options.naming = need() as PrometheusNaming;
        break;
      case '--grafana-datasource-uid':
        options.grafanaDatasourceUid = need();
        break;
      case '--runbook-url':
        options.runbookUrl = need();
        break;
      case '--help':
      case '-h':
        console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
        process.exit(0);
      // falls through
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  return args;
}

export function main(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  const args = parseArgs(argv, env);
  if (Object.keys(args.options).length > 0 && args.out === undefined && !args.check) {
    throw new Error('non-default options change the committed files; pass --out=DIR to write them elsewhere');
  }
  const files = buildAll(args.options);
  const root = args.out === undefined ? REPO_ROOT : resolve(args.out);
  if (args.check) {
    const drift = Object.entries(files).filter(([path, content]) => {
      const file = join(root, path);
      return !existsSync(file) || readFileSync(file, 'utf8') !== content;
    });
    for (const [path] of drift) console.error(`out of date: ${path}`);
    if (drift.length > 0) console.error('run: npx tsx scripts/build-dashboards.ts');
    return drift.length > 0 ? 1 : 0;
  }
  for (const [path, content] of Object.entries(files)) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  console.log(`wrote ${Object.keys(files).length} files under ${root}`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2), process.env);
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 2;
  }
}
