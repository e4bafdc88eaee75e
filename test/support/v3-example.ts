/**
 * What the nextjs-auth0 v3 example apps' end-to-end tests share: the built app started against a
 * real IdP and an OTLP receiver, a Chromium, and a browser user logged in through the IdP's form.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { startIdp, startOtlpReceiver, type Idp, type OtlpReceiver } from '../../testkit/index.js';
import { freePort, prepareExample, startExample, type ExampleApp } from '../../testkit/example-app.js';
import { launchChromium, loginThroughIdpForm } from '../../testkit/browser.js';

/** A desktop Chrome, so the browser is classed `browser` (headless Chromium's own user agent is a bot's). */
export const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export type V3ExampleStack = {
  idp: Idp;
  otlp: OtlpReceiver;
  app: ExampleApp;
  browser: Browser;
  /** Logs `username` in through `/profile` (`withPageAuthRequired`) and the IdP's form; the page ends on `/profile`. */
  loggedInUser(username: string): Promise<{ context: BrowserContext; page: Page }>;
  stop(): Promise<void>;
};

/** Builds (once) and starts a v3 example; each of `users` logs in with the password `<name>-password`. */
export async function startV3Example(
  example: string,
  options: { accessTokenTtl: number; users: readonly string[]; serviceName: string },
): Promise<V3ExampleStack> {
  await prepareExample(example);
  // Whatever started is stopped again if a later step fails.
  const started: Array<{ stop(): Promise<void> } | { close(): Promise<void> }> = [];
  const stopAll = async () => {
    for (const part of started.reverse()) await ('stop' in part ? part.stop() : part.close());
  };
  try {
    const idp = await startIdp({ accessTokenTtl: options.accessTokenTtl });
    started.push(idp);
    for (const user of options.users) {
      const name = `${user[0]!.toUpperCase()}${user.slice(1)} Example`;
      idp.addAccount({ username: user, password: `${user}-password`, sub: user, name, email: `${user}@example.com` });
    }
    const otlp = await startOtlpReceiver();
    started.push(otlp);
    const port = await freePort();
    const appUrl = `http://127.0.0.1:${port}`;
    await idp.registerRedirectUris(appUrl);
    const app = await startExample(example, {
      port,
      env: {
        AUTH0_SECRET: 'e2e-secret-of-at-least-thirty-two-characters!!',
        AUTH0_BASE_URL: appUrl,
        AUTH0_ISSUER_BASE_URL: idp.url,
        AUTH0_CLIENT_ID: idp.clientId,
        AUTH0_CLIENT_SECRET: idp.clientSecret,
        AUTH0_SCOPE: 'openid profile email offline_access',
        ...otlp.exporterEnv(options.serviceName),
      },
    });
    started.push(app);
    const browser = await launchChromium();
    started.push(browser);
    return stackOf(idp, otlp, app, browser, stopAll);
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function stackOf(idp: Idp, otlp: OtlpReceiver, app: ExampleApp, browser: Browser, stop: () => Promise<void>): V3ExampleStack {
  return {
    idp,
    otlp,
    app,
    browser,
    async loggedInUser(username) {
      await idp.endSessions();
      const context = await browser.newContext({ userAgent: CHROME_UA });
      const page = await context.newPage();
      await page.goto(`${app.url}/profile`);
      await loginThroughIdpForm(page, { username, password: `${username}-password`, returnTo: `${app.url}/profile` });
      expect(await page.textContent('#name')).toMatch(/\S/);
      return { context, page };
    },
    stop,
  };
}
