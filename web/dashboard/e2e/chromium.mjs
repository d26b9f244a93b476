// What both browser scripts share: Debian's Chromium (the tests pass its path in BATTLESHIPER_CHROMIUM;
// `make test` installs it), a phone-sized page, screenshots, and one way to end a script: "OK" on success,
// the error's stack and a screenshot on failure, and the browser closed either way.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

export async function openBrowser(shots) {
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.BATTLESHIPER_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  return { browser, context };
}

export function helpers(page, shots) {
  return {
    shot: (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true }),
    expectText: (text) => page.getByText(text, { exact: false }).first().waitFor({ timeout: 10000 }),
  };
}

export async function runScript(browser, shot, body) {
  try {
    await body();
    console.log('OK');
  } catch (error) {
    await shot('failure').catch(() => {});
    console.error(error.stack ?? String(error));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
