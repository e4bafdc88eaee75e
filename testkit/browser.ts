/**
 * Debian's Chromium driven by playwright-core. `npx playwright install` cannot download here, so
 * the browser is the system package (`apt-get install chromium`, done by `.ci/run`).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

/** Why browser tests cannot run here, or undefined when they can. */
export function chromiumUnavailableReason(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `Chromium not found at ${CHROMIUM_PATH}: install Debian's "chromium" package (.ci/run does) or set CHROMIUM_PATH`;
}

export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  const reason = chromiumUnavailableReason();
  if (reason !== undefined) throw new Error(reason);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * Signs in on testkit/idp.ts's own login form, which `page` must already be heading to, and waits
 * for the app to have the browser back at `returnTo`. There is no consent step to click: that IdP
 * grants consent without asking. Waits use Playwright's default timeout (30 s).
 */
export async function loginThroughIdpForm(page: Page, options: { username: string; password: string; returnTo: string }): Promise<void> {
  await page.waitForSelector('input[name="username"]');
  await page.fill('input[name="username"]', options.username);
  await page.fill('input[name="password"]', options.password);
  await Promise.all([page.waitForURL(options.returnTo), page.click('button[type="submit"]')]);
}
