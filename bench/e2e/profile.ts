/**
 * Where a server's CPU goes, from V8 CPU profiles (`node --cpu-prof`) of every process of an app:
 * self time grouped by the package its code belongs to, so the plugin's own share stands apart
 * from the OpenTelemetry SDK's, Next.js' and React's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

type ProfileNode = { id: number; callFrame: { url: string; functionName: string } };
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** The package a script belongs to: `nextjs-auth-otel`, `@opentelemetry/sdk-trace-base`, `next`, … */
export function packageOf(url: string): string {
  if (url === '') return '(native, GC and idle)';
  if (url.startsWith('node:')) return 'node built-ins';
  const path = url.replace(/^file:\/\//, '');
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

/** Self time in ms per package, over every `.cpuprofile` in `dir`. */
export function selfTimeByPackage(dir: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const packageById = new Map(profile.nodes.map((node) => [node.id, packageOf(node.callFrame.url)]));
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
