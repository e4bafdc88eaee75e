/**
 * One load run against a running app: autocannon at a fixed concurrency, plus the CPU time the
 * app's processes spent serving it.
 */
import autocannon from 'autocannon';
import { readFileSync, readdirSync } from 'node:fs';

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU (user + system, every process of the app's group) per request. */
  cpuMsPerRequest: number;
  /** Responses other than 2xx, and connection errors: a run with any is not comparable. */
  failures: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time in ms of every process in a process group, from /proc (Linux). */
export function groupCpuMs(processGroup: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // Exited while scanning.
    }
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== processGroup) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks / CLOCK_TICKS_PER_SECOND) * 1000;
}

export async function drive(url: string, headers: Record<string, string>, processGroup: number, options: LoadOptions): Promise<LoadResult> {
  const cpuBefore = groupCpuMs(processGroup);
  const result = await autocannon({ url, headers, connections: options.connections, duration: options.durationSeconds });
  const cpu = groupCpuMs(processGroup) - cpuBefore;
  const requests = result.requests.total;
  return {
    requests,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuMsPerRequest: requests > 0 ? cpu / requests : Number.NaN,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}
