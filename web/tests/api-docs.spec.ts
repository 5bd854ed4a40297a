// Swagger UI at /api/docs (and /docs) over motorpool's OpenAPI document, under the pages' strict
// Content-Security-Policy: the operations render and "Authorize" offers the bearer scheme.
import {expect, test} from '@playwright/test';

import {startServer, type Server} from './motorpool';

let server: Server;

test.beforeAll(async () => {
  server = await startServer([]);
});

test.afterAll(async () => {
  await server?.stop();
});

for (const path of ['/api/docs', '/docs']) {
  test(`Swagger UI at ${path}`, async ({page}) => {
    const refused: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') refused.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400) refused.push(`${r.status()} ${r.url()}`);
    });
    await page.setViewportSize({width: 1280, height: 800});
    await page.goto(server.base + path);
    await expect(page.getByRole('heading', {name: /motorpool API/})).toBeVisible();
    await expect(page.getByText('/api/v1/vehicles').first()).toBeVisible();
    await page.getByRole('button', {name: /Authorize/}).first().click();
    await expect(page.getByText(/bearer/i).first()).toBeVisible();
    await page.screenshot({path: `test-results/screenshots/api-docs${path.replaceAll('/', '-')}-1280x800.png`});
    expect(refused).toEqual([]);
  });
}
