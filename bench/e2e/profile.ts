/**
 * Where a server's CPU goes, from V8 CPU profiles (`node --cpu-prof`) of every process of an app:
 * self time grouped by the package its code belongs to, so the plugin's own share stands apart
 * from the OpenTelemetry SDK's, Next.js' and React's.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

type ProfileNode = { id: number; callFrame: { url: string; functionName: string; lineNumber: number; columnNumber: number } };
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** The package a script belongs to: `nextjs-auth-otel`, `@opentelemetry/sdk-trace-base`, `next`, … */
export function packageOf(url: string): string {
  if (url === '') return '(native, GC and idle)';
  if (url.startsWith('node:')) return 'node built-ins';
  const path = url.replace(/^(file|webpack):\/\/[^/]*/, '');
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules >= 0) {
    const [scope, name] = path.slice(inModules + '/node_modules/'.length).split('/');
    const pkg = scope!.startsWith('@') ? `${scope}/${name}` : scope!;
    // Next.js bundles its own copy of the OpenTelemetry API: report it as what it is.
    if (pkg === 'next' && path.includes('/compiled/@opentelemetry/')) return 'next (bundled @opentelemetry/api)';
    return pkg;
  }
  if (path.includes('/.next/')) return 'the app (compiled by Next.js)';
  return 'other';
}

/**
 * Next.js bundles the app's server code, this package and the OpenTelemetry SDK into chunks
 * under `.next/`. With source maps next to them (`experimental.serverSourceMaps` for Node
 * chunks; Edge chunks always have them), a function's start is mapped back to the file it came
 * from, so bundled code is attributed to its package too.
 */
class BundleMaps {
  private readonly maps = new Map<string, SourceMap | undefined>();

  originalSource(frame: ProfileNode['callFrame']): string | undefined {
    if (!frame.url.startsWith('file://') || !frame.url.includes('/.next/')) return undefined;
    if (!this.maps.has(frame.url)) this.maps.set(frame.url, this.load(fileURLToPath(frame.url)));
    const entry = this.maps.get(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string } | undefined;
    return entry?.originalSource;
  }

  private load(path: string): SourceMap | undefined {
    const mapPath = `${path}.map`;
    return existsSync(mapPath) ? new SourceMap(JSON.parse(readFileSync(mapPath, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]) : undefined;
  }
}

function packageOfFrame(frame: ProfileNode['callFrame'], maps: BundleMaps): string {
  const original = maps.originalSource(frame);
  if (original === undefined) return packageOf(frame.url);
  if (original.includes('/node_modules/')) return packageOf(original);
  return 'the app (compiled by Next.js)';
}

/** Self time in ms per package, over every `.cpuprofile` in `dir`. */
export function selfTimeByPackage(dir: string): Map<string, number> {
  const totals = new Map<string, number>();
  const maps = new BundleMaps();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const packageById = new Map(profile.nodes.map((node) => [node.id, packageOfFrame(node.callFrame, maps)]));
    profile.samples.forEach((id, i) => {
      const pkg = packageById.get(id) ?? 'other';
      totals.set(pkg, (totals.get(pkg) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
  }
  return totals;
}

export function profileTable(totals: Map<string, number>, requests: number, top = 12): string[] {
  const busy = [...totals].filter(([pkg]) => pkg !== '(native, GC and idle)');
  const busyMs = busy.reduce((sum, [, ms]) => sum + ms, 0);
  const rows = busy.sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    '| code | self time, µs/request | share of JS time |',
    '|---|---|---|',
    ...rows.map(([pkg, ms]) => `| ${pkg} | ${((ms / requests) * 1000).toFixed(0)} | ${((ms / busyMs) * 100).toFixed(1)} % |`),
  ];
}
