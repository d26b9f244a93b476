// Drives Debian's Chromium through the dashboard served by a running local platform (`battleshiper local
// up`): no request routing, the browser talks to http://localhost:<port> and to the GitHub stand-in as a
// person's browser would. Sign in, find the project in the list, open its page.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [BASE, SHOTS, PROJECT, REPOSITORY] = process.argv.slice(2);
mkdirSync(SHOTS, { recursive: true });

// The launch flags of e2e/browser.mjs.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
const shot = (name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
const expectText = async (text) => page.getByText(text, { exact: false }).first().waitFor({ timeout: 10000 });

try {
  await page.goto(BASE + '/');
  await page.getByRole('link', { name: 'Sign in with GitHub' }).first().click();
  await page.waitForURL(`${BASE}/profile`);
  await expectText('GitHub login');
  await page.getByRole('link', { name: 'Projects' }).click();
  await page.getByRole('link', { name: PROJECT, exact: true }).click();
  await page.waitForURL(`${BASE}/projects/${PROJECT}`);
  await page.getByRole('heading', { name: PROJECT }).waitFor({ timeout: 10000 });
  await expectText(REPOSITORY);
  await shot('project');
  console.log('OK');
} catch (error) {
  await shot('failure').catch(() => {});
  console.error(error.stack ?? String(error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
