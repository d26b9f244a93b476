// Drives Debian's Chromium through the dashboard served by a running local platform (`battleshiper local
// up`): no request routing, the browser talks to http://localhost:<port> and to the GitHub stand-in as a
// person's browser would. Sign in, find the project in the list, open its page; scenario `env` then
// edits the project's environment variables.
import { helpers, openBrowser, runScript } from './chromium.mjs';

const [BASE, SHOTS, PROJECT, REPOSITORY, SCENARIO = 'project'] = process.argv.slice(2);
const { browser, context } = await openBrowser(SHOTS);
const page = await context.newPage();
const { shot, expectText } = helpers(page, SHOTS);

// Values the test looks for: the plain one must stay out of the page until shown, the secrets always.
const PLAIN = 'https://api.example.test/v1';
const SECRETS = ['sk_test_first_0d61da6f', 'sk_test_second_93be17c4'];

/** Fails when a secret is anywhere in the page: its HTML, its text or a field's current value. */
async function expectNoSecret() {
  const html = await page.content();
  const text = await page.locator('body').innerText();
  const fields = await page.locator('input, textarea').evaluateAll((all) => all.map((f) => f.value).join('\n'));
  for (const secret of SECRETS) {
    if ([html, text, fields].some((s) => s.includes(secret))) throw new Error('a secret value is in the page');
  }
}

async function add(name, value, { secret = false, target } = {}) {
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Value', { exact: true }).fill(value);
  if (secret) await page.getByLabel('Secret').check();
  if (target) await page.getByLabel('Target').selectOption(target);
  await page.getByRole('button', { name: 'Add variable' }).click();
}

async function environment() {
  await page.getByRole('heading', { name: 'Environment variables' }).waitFor();
  await expectText('No variables yet');
  await page.getByText(/^0 of \d+ variables, 0 B of /).waitFor();

  // A plain variable for both targets: two rows, the value masked until shown.
  await add('API_URL', PLAIN);
  await expectText('Saved: redeploy to apply');
  await page.getByRole('button', { name: 'Show value of API_URL (production)' }).waitFor();
  if ((await page.content()).includes(PLAIN)) throw new Error('a plain value is shown before "Show"');
  await page.getByRole('button', { name: 'Show value of API_URL (production)' }).click();
  await page.getByText(PLAIN, { exact: true }).waitFor();
  if (await page.getByText(PLAIN, { exact: true }).count() !== 1) throw new Error('"Show" showed more than its row');
  await page.getByRole('button', { name: 'Hide value of API_URL (production)' }).click();
  await page.getByText(PLAIN, { exact: true }).waitFor({ state: 'detached' });

  // A secret: stored, never shown again; replacing it does not show the old one either.
  await add('STRIPE_KEY', SECRETS[0], { secret: true, target: 'production' });
  await page.getByRole('button', { name: 'Replace STRIPE_KEY (production)' }).waitFor();
  await expectNoSecret();
  await page.getByRole('button', { name: 'Replace STRIPE_KEY (production)' }).click();
  const replacement = page.getByLabel('New value of STRIPE_KEY (production)');
  if (await replacement.inputValue() !== '') throw new Error('"Replace" starts from the old value');
  await replacement.fill(SECRETS[1]);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await replacement.waitFor({ state: 'detached' });
  await expectNoSecret();
  await shot('environment');

  // A plain value edited inline, for one target only.
  await page.getByRole('button', { name: 'Edit API_URL (preview)' }).click();
  await page.getByLabel('Value of API_URL (preview)', { exact: true }).fill(`${PLAIN}-preview`);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByLabel('Value of API_URL (preview)', { exact: true }).waitFor({ state: 'detached' });
  await expectText('Saved: redeploy to apply');

  // The name's shape is checked while typing; a reserved name is the API's to refuse, in its words.
  await page.getByLabel('Name', { exact: true }).fill('1PASSWORD');
  await expectText('Cannot start with a digit.');
  await add('AWS_REGION', 'eu-west-1');
  await page.getByRole('alert').getByText('AWS_REGION is reserved by AWS Lambda').waitFor();
  await shot('environment-refused');

  // Deleting needs a second click and removes one target's entry.
  await page.getByRole('button', { name: 'Delete API_URL (preview)' }).click();
  await page.getByRole('button', { name: 'Delete API_URL', exact: true }).click();
  await expectText('Removed: redeploy to apply');
  await page.getByRole('button', { name: 'Edit API_URL (preview)' }).waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Edit API_URL (production)' }).waitFor();
  await expectNoSecret();
}

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
  if (SCENARIO === 'env') await environment();
});
