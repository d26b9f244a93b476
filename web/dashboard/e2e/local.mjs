// Drives Debian's Chromium through the dashboard served by a running local platform (`battleshiper local
// up`): no request routing, the browser talks to http://localhost:<port> and to the GitHub stand-in as a
// person's browser would. Sign in, find the project in the list, open its page.
import { helpers, openBrowser, runScript } from './chromium.mjs';

const [BASE, SHOTS, PROJECT, REPOSITORY] = process.argv.slice(2);
const { browser, context } = await openBrowser(SHOTS);
const page = await context.newPage();
const { shot, expectText } = helpers(page, SHOTS);

await runScript(browser, shot, async () => {
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
});
