import type { AuthRuntime } from '../telemetry/catalog.js';

let detected: AuthRuntime | undefined;

/** `edge` inside Next's Edge runtime (and @edge-runtime/vm), `nodejs` everywhere else. Detected once. */
export function currentRuntime(): AuthRuntime {
  if (detected === undefined) {
    const edgeGlobal = (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime;
    const nextRuntime = typeof process === 'object' ? process.env?.NEXT_RUNTIME : undefined;
    detected = typeof edgeGlobal === 'string' || nextRuntime === 'edge' ? 'edge' : 'nodejs';
  }
  return detected;
}
