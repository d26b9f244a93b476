// Drives Debian's Chromium through the dashboard. The browser believes it is at https://<domain>: every
// request there is answered by the local server (BASE), so cookies, Secure and Origin behave as in AWS.
import { helpers, openBrowser, runScript } from './chromium.mjs';

const [BASE, DOMAIN, SHOTS, SCENARIO, GITHUB] = process.argv.slice(2);
const SITE = `https://${DOMAIN}`;
const { browser, context } = await openBrowser(SHOTS);
// Playwright routes only the first request of a redirect chain, so a redirect becomes a page that moves on
// by itself: each hop is then a new navigation, routed again (its Set-Cookie headers are kept).
async function forward(route, url) {
  const response = await route.fetch({ url, maxRedirects: 0 });
  const location = response.headers()['location'];
  if (response.status() < 300 || response.status() >= 400 || !location) return route.fulfill({ response });
  const headers = { ...response.headers(), 'content-type': 'text/html' };
  delete headers['location'];
  const target = new URL(location, route.request().url()).href.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  await route.fulfill({ status: 200, headers, body: `<meta http-equiv="refresh" content="0;url=${target}">` });
}
await context.route(`${SITE}/**`, (route) => forward(route, BASE + route.request().url().slice(SITE.length)));
await context.route(`${GITHUB}/**`, (route) => forward(route, route.request().url()));
const page = await context.newPage();
if (process.env.E2E_DEBUG) page.on('requestfailed', (r) => console.error('failed', r.url(), r.failure()?.errorText));
const { shot, expectText } = helpers(page, SHOTS);

await runScript(browser, shot, async () => {
  await page.goto(SITE + '/');
  await shot('landing');
  await page.getByRole('link', { name: 'Sign in with GitHub' }).first().click();
  await page.waitForURL(`${SITE}/profile`);
  await expectText('GitHub login');
  await shot('profile');
  const adminLink = await page.getByRole('link', { name: 'Administration' }).count();
  if (SCENARIO === 'admin') {
    if (!adminLink) throw new Error('the administrator sees no Administration link');
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('tab', { name: 'Roles' }).waitFor();
    await page.getByLabel('GitHub user id').fill('1001');
    await page.getByLabel('SUPPORT').check();
    await page.getByRole('button', { name: 'Set roles' }).click();
    await expectText('Roles of user 1001 saved.');
    await shot('admin');
  } else {
    if (adminLink) throw new Error('a plain user sees the Administration link');
    await page.goto(SITE + '/admin');
    await expectText('You have no administration permissions.');
    await page.getByRole('link', { name: 'Projects' }).click();
    await expectText('No projects yet');
    await page.getByRole('link', { name: 'New project' }).click();
    await page.getByLabel('Repository').selectOption({ label: 'alice/shop' });
    await page.getByLabel('Name').fill('Shop');
    await expectText('Use lowercase letters only.');
    await page.getByLabel('Name').fill('shop');
    await shot('new-project');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(`${SITE}/projects/shop`);
    await expectText('CREATING');
    await shot('project-creating');
    console.log('CREATED');
    // The test moves the project on (as the pipeline would); the page's polling must show it.
    await page.getByText('LIVE').first().waitFor({ timeout: 20000 });
    await page.getByRole('button', { name: 'Roll back to 20260101T000000-aaaaaa' }).click();
    await expectText('is live again');
    await shot('project-live');
    // An environment change reaches the live deployment with a new build of the live commit.
    await page.getByLabel('Name', { exact: true }).fill('GREETING');
    await page.getByLabel('Value', { exact: true }).fill('hello');
    await page.getByRole('button', { name: 'Add variable' }).click();
    await expectText('Changes apply to the next deployment.');
    await page.getByRole('button', { name: 'Redeploy' }).click();
    await page.getByText(/^Build (started|queued)/).waitFor();
    await shot('project-redeploy');
  }
});
