/**
 * Traffic for the live alerting scenarios: real users who log in through the IdP's form and browse,
 * monitors and crawlers that hit the middleware without a session, and monitors and crawlers with
 * a session whose refresh token the IdP no longer honours, so each of their requests is a failed
 * refresh. Every loop stops when the signal aborts.
 */
import { loginViaAuthorizationCodeFlow, type BrowserClient, type Idp } from '../../testkit/index.js';
import { BROWSER_USER_AGENTS, SYNTHETICS_USER_AGENT, sleep } from '../../scripts/demo/traffic.js';

export const GOOGLEBOT_USER_AGENT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

export interface Visitor {
  username: string;
  client: BrowserClient;
}

/** Creates the accounts and logs each in with its user agent (and extra headers, e.g. Synthetics'). */
export async function logIn(
  idp: Idp,
  appUrl: string,
  prefix: string,
  userAgents: readonly string[],
  extraHeaders: Record<string, string> = {},
): Promise<Visitor[]> {
  return Promise.all(
    userAgents.map(async (userAgent, i) => {
      const username = `${prefix}${i + 1}`;
      idp.addAccount({ username, password: `${username}-password`, sub: username, name: username, email: `${username}@example.com` });
      const { client } = await loginViaAuthorizationCodeFlow({
        appUrl,
        username,
        password: `${username}-password`,
        userAgent,
        extraHeaders,
        transport: 'http',
      });
      return { username, client };
    }),
  );
}

export const browsers = (n: number): string[] => Array.from({ length: n }, (_, i) => BROWSER_USER_AGENTS[i % BROWSER_USER_AGENTS.length]!);

/** Each visitor requests a page every `everyMs` (the first after `firstAfterMs`) until the signal aborts. */
export async function browse(
  appUrl: string,
  visitors: readonly Visitor[],
  signal: AbortSignal,
  { everyMs, firstAfterMs = 0, headers = {} }: { everyMs: number; firstAfterMs?: number; headers?: Record<string, string> },
): Promise<void> {
  await Promise.all(
    visitors.map(async (visitor, i) => {
      // Staggered, so the visitors do not all arrive in the same instant.
      await sleep(firstAfterMs + (i * everyMs) / visitors.length, signal);
      while (!signal.aborted) {
        await visitor.client.request(`${appUrl}/dashboard`, { initiator: appUrl, headers }).catch(() => undefined);
        await sleep(everyMs, signal);
      }
    }),
  );
}

/** Requests without any session, `perSecond` in all, with the given headers. */
export async function probe(appUrl: string, headers: Record<string, string>, perSecond: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await fetch(`${appUrl}/dashboard`, { headers, redirect: 'manual', signal: AbortSignal.timeout(10_000) })
      .then((r) => r.arrayBuffer())
      .catch(() => undefined);
    await sleep(1000 / perSecond, signal);
  }
}

export { SYNTHETICS_USER_AGENT };
