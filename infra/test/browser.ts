import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { repoRoot } from './platform-process.js';

/** Debian's Chromium (installed by .ci/run); BV_CHROMIUM points at another build. */
const chromiumPath = process.env.BV_CHROMIUM ?? '/usr/bin/chromium';
const screenshotDir = join(repoRoot, 'test-results');

/** The admin every browser test logs in as (set on the platform it starts). */
export const e2eAdmin = { email: 'admin@e2e.local', password: 'e2e-password-1234' };

/** Headless Chromium without the background traffic (sync, updates, QUIC) a test has no use for. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Fills the dashboard's login form; the caller waits for where the login should land. */
export async function fillLogin(page: Page, email: string, password: string): Promise<void> {
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

/** Saves what the page shows under test-results/ (kept by CI as the run's pictures). */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage });
}
