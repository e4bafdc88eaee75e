/**
 * The demo's visitors: real users who log in through the IdP and browse past access-token expiry,
 * one of them with a refresh token revoked mid-run, next to the traffic that fills auth logs in
 * production (Datadog Synthetics, kube-probe, curl, a crawler, prefetches, a tampered cookie).
 */
import { BrowserClient, loginViaAuthorizationCodeFlow, type Idp } from '../../testkit/index.js';

export const BROWSER_USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
] as const;

export const SYNTHETICS_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 DatadogSynthetics';

const PAGES = ['/', '/profile', '/dashboard'] as const;

export type ActorKind = 'user' | 'revoked-user' | 'synthetics' | 'kube-probe' | 'curl' | 'crawler' | 'prefetch' | 'tampered-cookie';

export class TrafficStats {
  readonly requests = new Map<ActorKind, number>();
  readonly failures = new Map<ActorKind, number>();
  readonly events: string[] = [];
  usersLoggedIn = 0;
  /** When the scenario's incident (the IdP outage) began, if it did. */
  incidentAt?: number;

  count(kind: ActorKind, status: number): void {
    this.requests.set(kind, (this.requests.get(kind) ?? 0) + 1);
    if (status >= 500 || status === 0) this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
  }

  total(): number {
    return [...this.requests.values()].reduce((a, b) => a + b, 0);
  }
}

export interface TrafficPlan {
  appUrl: string;
  idp: Idp;
  durationMs: number;
  users: number;
  /** `idp-outage`: past halfway, the IdP's token endpoint answers 503, so every real user's next refresh fails (transiently). */
  scenario: 'healthy' | 'idp-outage';
  stats: TrafficStats;
  signal: AbortSignal;
}

/** Resolves after `ms`, or at once when `signal` aborts: traffic loops stop without a rejection to handle. */
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

const jitter = (ms: number) => ms * (0.75 + Math.random() * 0.5);

async function plainGet(url: string, headers: Record<string, string>): Promise<number> {
  try {
    const response = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** Runs `tick` every `everyMs` (with jitter) until the plan ends. */
async function every(plan: TrafficPlan, everyMs: number, tick: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; !plan.signal.aborted; i++) {
    await tick(i);
    await sleep(jitter(everyMs), plan.signal);
  }
}

async function browse(plan: TrafficPlan, client: BrowserClient, kind: ActorKind, path: string): Promise<number> {
  try {
    const response = await client.request(plan.appUrl + path, { initiator: plan.appUrl });
    plan.stats.count(kind, response.status);
    return response.status;
  } catch {
    plan.stats.count(kind, 0);
    return 0;
  }
}

/**
 * What the App Router's `<Link>` sends when it prefetches: Next strips `Next-Router-Prefetch` and
 * `RSC` before middleware runs, so only `Next-Url` and the fetch metadata reach the plugin.
 */
async function linkPrefetch(plan: TrafficPlan, client: BrowserClient, from: string, to: string): Promise<void> {
  try {
    const response = await client.request(`${plan.appUrl}${to}?_rsc=${Math.random().toString(36).slice(2, 7)}`, {
      follow: false,
      initiator: plan.appUrl,
      headers: { rsc: '1', 'next-router-prefetch': '1', 'next-url': from, 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors' },
    });
    plan.stats.count('prefetch', response.status);
  } catch {
    plan.stats.count('prefetch', 0);
  }
}

/** Chrome speculation rules: a real prefetch signal that survives to middleware. */
async function speculativePrefetch(plan: TrafficPlan, client: BrowserClient, to: string): Promise<void> {
  try {
    const response = await client.request(plan.appUrl + to, { follow: false, initiator: plan.appUrl, headers: { 'sec-purpose': 'prefetch' } });
    plan.stats.count('prefetch', response.status);
  } catch {
    plan.stats.count('prefetch', 0);
  }
}

async function login(plan: TrafficPlan, username: string, password: string, userAgent: string): Promise<BrowserClient | undefined> {
  try {
    const result = await loginViaAuthorizationCodeFlow({ appUrl: plan.appUrl, username, password, userAgent, transport: 'http' });
    plan.stats.usersLoggedIn++;
    return result.client;
  } catch (error) {
    plan.stats.events.push(`login of ${username} failed: ${(error as Error).message}`);
    return undefined;
  }
}

async function realUser(plan: TrafficPlan, index: number): Promise<void> {
  const username = `user${index + 1}`;
  const userAgent = BROWSER_USER_AGENTS[index % BROWSER_USER_AGENTS.length]!;
  // Staggered, so refreshes do not all land in the same second.
  await sleep(index * 1500, plan.signal);
  const client = await login(plan, username, `${username}-password`, userAgent);
  if (!client) return;
  let here = '/';
  await every(plan, 2500, async (step) => {
    const next = PAGES[(step + index) % PAGES.length]!;
    if (step % 3 === 1) await linkPrefetch(plan, client, here, next);
    if (step % 7 === 3) await speculativePrefetch(plan, client, next);
    await browse(plan, client, 'user', next);
    here = next;
  });
}

/**
 * Loses the refresh token at the IdP at 40 % of the run (an admin revoked it, or the grant
 * expired), browses on until a refresh has failed, then logs in again, as a user who sees the
 * app misbehave would.
 */
async function revokedUser(plan: TrafficPlan): Promise<void> {
  const userAgent = BROWSER_USER_AGENTS[1]!;
  let client = await login(plan, 'bob', 'bob-password', userAgent);
  if (!client) return;
  const started = Date.now();
  let revokedAt: number | undefined;
  let stepsSinceRevocation = 0;
  let relogged = false;
  const failedSinceRevocation = () =>
    plan.idp.tokenRequests().filter((r) => r.at >= revokedAt! && r.grantType === 'refresh_token' && r.error === 'invalid_grant').length;
  await every(plan, 3000, async (step) => {
    if (revokedAt === undefined && (Date.now() - started) / plan.durationMs >= 0.4) {
      revokedAt = Date.now();
      const n = await plan.idp.revokeRefreshTokens('bob');
      plan.stats.events.push(`revoked bob's refresh token at the IdP (${n} token)`);
    }
    if (revokedAt !== undefined && !relogged && (failedSinceRevocation() > 0 || ++stepsSinceRevocation > 8)) {
      relogged = true;
      await plan.idp.endSessions();
      client = (await login(plan, 'bob', 'bob-password', userAgent)) ?? client;
      plan.stats.events.push('bob logged in again');
    }
    await browse(plan, client!, 'revoked-user', PAGES[step % PAGES.length]!);
  });
}

/**
 * Just past halfway (after the tampered-cookie user's login), the IdP's token endpoint answers 503
 * until the end of the run: every real user's refresh fails, transiently. The grants survive.
 */
async function idpOutage(plan: TrafficPlan): Promise<void> {
  await sleep(plan.durationMs * 0.55, plan.signal);
  if (plan.signal.aborted) return;
  plan.stats.incidentAt = Date.now();
  plan.idp.failTokenEndpoint(503);
  plan.stats.events.push('IdP outage: the token endpoint answers 503 from now on');
}

async function tamperedCookies(plan: TrafficPlan): Promise<void> {
  await sleep(plan.durationMs * 0.5, plan.signal);
  if (plan.signal.aborted) return;
  const client = await login(plan, 'user1', 'user1-password', BROWSER_USER_AGENTS[0]);
  if (!client) return;
  const session = client.jar.getAll().find((c) => c.name === 'appSession' || c.name.startsWith('appSession.'));
  if (!session) return;
  const jar = client.jar;
  const original = session.value;
  // A flipped character in the ciphertext (undecryptable), then a cookie that is not a JWE at all.
  const flipped = original.slice(0, -12) + (original.at(-12) === 'A' ? 'B' : 'A') + original.slice(-11);
  for (const value of [flipped, flipped, 'not-a-jwe', 'not-a-jwe']) {
    jar.set(session.name, value);
    await browse(plan, client, 'tampered-cookie', '/');
    await sleep(1000, plan.signal);
  }
  plan.stats.events.push('sent 4 requests with a tampered session cookie');
}

export async function runTraffic(plan: TrafficPlan): Promise<void> {
  for (let i = 0; i < plan.users; i++) {
    plan.idp.addAccount({
      username: `user${i + 1}`,
      password: `user${i + 1}-password`,
      sub: `user-${i + 1}`,
      name: `User ${i + 1}`,
      email: `user${i + 1}@example.com`,
    });
  }
  const actors: Promise<void>[] = [];
  for (let i = 0; i < plan.users; i++) actors.push(realUser(plan, i));
  actors.push(revokedUser(plan));
  actors.push(tamperedCookies(plan));
  if (plan.scenario === 'idp-outage') actors.push(idpOutage(plan));
  const base = plan.appUrl;
  actors.push(
    every(plan, 3000, async (i) => {
      // A Datadog browser test: Chrome plus "DatadogSynthetics", and the synthetics origin header.
      const status = await plainGet(base + (i % 2 ? '/dashboard' : '/'), { 'user-agent': SYNTHETICS_USER_AGENT, 'x-datadog-origin': 'synthetics' });
      plan.stats.count('synthetics', status);
    }),
    every(plan, 5000, async () => plan.stats.count('kube-probe', await plainGet(base + '/', { 'user-agent': 'kube-probe/1.31' }))),
    every(plan, 9000, async () => plan.stats.count('curl', await plainGet(base + '/profile', { 'user-agent': 'curl/8.11.1', accept: '*/*' }))),
    every(plan, 7000, async (i) =>
      plan.stats.count(
        'crawler',
        await plainGet(base + PAGES[i % PAGES.length]!, {
          'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
        }),
      ),
    ),
  );
  await Promise.all(actors);
}
