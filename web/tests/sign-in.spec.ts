// Signing in and the vehicle list, as a fleet manager would: a real motorpool serving the built
// dashboard, Debian's Chromium, screenshots at desktop and phone sizes, and axe-core finding no
// serious or critical accessibility violation on either page.
import AxeBuilder from '@axe-core/playwright';
import {expect, test, type Page} from '@playwright/test';

import {startServer, type Server} from './motorpool';

const password = 'correct horse battery';
let server: Server;

test.beforeAll(async () => {
  server = await startServer([{email: 'fleet@web.test', role: 'fleet_manager', password}]);
  const login = await fetch(`${server.base}/api/v1/auth/login`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({email: 'fleet@web.test', password}),
  });
  const {access_token: token} = await login.json();
  const added = await fetch(`${server.base}/api/v1/vehicles`, {
    method: 'POST', headers: {'Content-Type': 'application/json', Authorization: `Bearer ${token}`},
    body: JSON.stringify({vin: '1HGCM82633A004352', make: 'Honda', model: 'Accord', year: 2003}),
  });
  expect(added.status).toBe(201);
});

test.afterAll(async () => {
  await server?.stop();
});

async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({page}).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help}`);
}

for (const [name, size] of [['desktop', {width: 1280, height: 800}], ['phone', {width: 390, height: 844}]] as const) {
  test(`sign in and see the vehicles (${name})`, async ({page}) => {
    await page.setViewportSize(size);
    await page.goto(server.base + '/');
    await expect(page.getByRole('heading', {name: 'Sign in to motorpool'})).toBeVisible();
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({path: `test-results/screenshots/sign-in-${size.width}x${size.height}.png`});

    await page.getByLabel('E-mail', {exact: true}).fill('fleet@web.test');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', {name: 'Sign in'}).click();
    await expect(page.getByRole('alert')).toHaveText('Invalid credentials');

    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', {name: 'Sign in'}).click();
    await expect(page.getByRole('heading', {name: 'Welcome, fleet@web.test'})).toBeVisible();
    // On a phone the navigation opens from its menu button.
    if (size.width < 700) await page.getByRole('button', {name: 'Menu'}).click();
    await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Vehicles'}).click();
    await expect(page.getByRole('heading', {name: 'Vehicles'})).toBeVisible();
    await expect(page.getByRole('link', {name: '1HGCM82633A004352'})).toBeVisible();
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({path: `test-results/screenshots/vehicles-${size.width}x${size.height}.png`});

    // A reload keeps the session (sessionStorage); an app path is served the app.
    await page.goto(server.base + '/vehicles');
    await expect(page.getByRole('cell', {name: 'Honda'})).toBeVisible();
  });
}
