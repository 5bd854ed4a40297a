// Signing in with an e-mailed one-time link: the dashboard asks for it, the link (printed by the
// server in development, where mail without SMTP is logged) lands on /auth/magic-link and signs in,
// once: the same link again is refused.
import {expect, test} from '@playwright/test';

import {screenshots, seriousViolations, startServer, type Server} from './motorpool';

let server: Server;

test.beforeAll(async () => {
  server = await startServer([{email: 'driver@web.test', role: 'member', password: 'correct horse battery'}],
    {MOTORPOOL_ENV: 'development', MOTORPOOL_LOG_LEVEL: 'info'});
});

test.afterAll(async () => {
  await server?.stop();
});

test('a magic link signs in once', async ({page}) => {
  await page.goto(server.base + '/sign-in');
  await page.getByLabel('E-mail for a sign-in link').fill('driver@web.test');
  await page.getByRole('button', {name: 'E-mail me a link'}).click();
  await expect(page.getByRole('status')).toContainText('a sign-in link is on its way');
  expect(await seriousViolations(page)).toEqual([]);
  await screenshots(page, 'sign-in-link');

  // The mail as the server logged it: the link carries the port the server bound.
  const port = new URL(server.base).port;
  let link = '';
  await expect.poll(() => {
    link = new RegExp(`http://localhost:${port}/auth/magic-link\\?token=[A-Za-z0-9_-]+`).exec(server.output())?.[0] ?? '';
    return link;
  }, {timeout: 15_000}).not.toBe('');
  await page.goto(link);
  await expect(page.getByRole('heading', {name: 'Welcome, driver@web.test'})).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`^http://localhost:${port}/$`));

  await page.goto(link);
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByRole('link', {name: 'Ask for a new one'})).toBeVisible();
});
