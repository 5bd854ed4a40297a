// Vehicles as a fleet manager and as a member would use them: a CSV import with progress, keyset
// paging, search, adding a vehicle with the VIN checked as it is typed; connecting a simulated car
// through Smartcar Connect, a signal arriving live without a reload, a history chart and the track.
import {expect, test} from '@playwright/test';

import {call, login, screenshots, seriousViolations, signIn, startServer, type Server} from './motorpool';

let server: Server;

test.beforeAll(async () => {
  server = await startServer([
    {email: 'fleet@web.test', role: 'fleet_manager', password: 'correct horse battery'},
    {email: 'member@web.test', role: 'member', password: 'correct horse battery'},
  ]);
});

test.afterAll(async () => {
  await server?.stop();
});

/// A North American VIN with its check digit (ISO 3779 transliteration and weights), from a serial.
function vin(serial: number): string {
  const values: Record<string, number> = {A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5,
    P: 7, R: 9, S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9};
  const weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
  const chars = [...'1HGCM826', '0', ...'3A', ...String(serial).padStart(6, '0')];
  const sum = chars.reduce((s, c, i) => s + (/\d/.test(c) ? Number(c) : values[c]) * weights[i], 0);
  chars[8] = sum % 11 === 10 ? 'X' : String(sum % 11);
  return chars.join('');
}

test('a fleet manager imports a CSV file, pages and searches, and adds a vehicle', async ({page}) => {
  await signIn(page, server.base, 'fleet@web.test');
  expect(await seriousViolations(page)).toEqual([]);

  const rows = ['vin,make,model,year'];
  for (let i = 1; i <= 120; i++) rows.push(`${vin(i)},Honda,${i % 2 ? 'Accord' : 'Civic'},2019`);
  rows.push('NOTAVIN,Honda,Accord,2019');
  await page.getByRole('link', {name: 'Vehicles'}).click();
  await page.getByRole('link', {name: 'Import a CSV file'}).click();
  await expect(page.getByRole('heading', {name: 'Import vehicles'})).toBeVisible();
  await page.getByLabel('CSV file').setInputFiles({name: 'fleet.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n'))});
  await page.getByRole('button', {name: 'Import'}).click();
  await expect(page.getByText(/^Done: 121 rows read — 120 added, 0 updated, 0 unchanged, 0 skipped, 1 rejected$/)).toBeVisible();
  await expect(page.getByRole('cell', {name: 'NOTAVIN'})).toBeVisible();
  await expect(page.getByRole('row', {name: /^122 NOTAVIN/})).toBeVisible();  // its line in the file
  expect(await seriousViolations(page)).toEqual([]);
  await screenshots(page, 'vehicle-import');

  await page.getByRole('link', {name: 'Back to the vehicles'}).click();
  await expect(page.getByText('1–50 of 120')).toBeVisible();
  await page.getByRole('button', {name: 'Next'}).click();
  await expect(page.getByText('51–100 of 120')).toBeVisible();
  await page.getByRole('button', {name: 'Next'}).click();
  await expect(page.getByText('101–120 of 120')).toBeVisible();
  await expect(page.getByRole('button', {name: 'Next'})).toBeDisabled();
  await page.getByRole('button', {name: 'Previous'}).click();
  await expect(page.getByText('51–100 of 120')).toBeVisible();

  await page.getByLabel('Model', {exact: true}).first().fill('Civic');
  await page.getByRole('button', {name: 'Search'}).click();
  await expect(page.getByText('1–50 of 60')).toBeVisible();
  await expect(page).toHaveURL(/model=Civic/);
  expect(await seriousViolations(page)).toEqual([]);
  await screenshots(page, 'vehicles');

  const vinBox = page.getByLabel('VIN');
  await vinBox.fill('1HGCM82633A00435I');
  await expect(page.locator('#vin-status')).toHaveText('"I" cannot appear in a VIN (I, O and Q never do).');
  await vinBox.fill('1hgcm82633a004352');
  await expect(vinBox).toHaveValue('1HGCM82633A004352');
  await expect(page.locator('#vin-status')).toHaveText(/^Valid VIN — Honda/);
  await expect(page.getByLabel('Make', {exact: true}).last()).toHaveValue('Honda');
  await page.getByLabel('Model', {exact: true}).last().fill('Accord');
  await page.getByRole('button', {name: 'Add vehicle'}).click();
  await expect(page.getByRole('heading', {level: 1, name: /Honda Accord/})).toBeVisible();
  await expect(page.getByText('VIN 1HGCM82633A004352')).toBeVisible();
});

test('a member connects a simulated car and watches its data live', async ({page}) => {
  await signIn(page, server.base, 'member@web.test');
  await expect(page.getByText('No vehicles yet.')).toBeVisible();
  await screenshots(page, 'home-empty');

  await page.getByRole('link', {name: 'Vehicles'}).click();
  await page.getByRole('button', {name: 'Connect a car'}).click();
  // Smartcar Connect (the simulator in development) asks the owner, then sends the browser back.
  await expect(page.getByRole('heading', {name: 'Connect your vehicle'})).toBeVisible();
  await page.getByRole('link', {name: 'Approve'}).click();
  await expect(page.getByRole('heading', {name: 'Car connected'})).toBeVisible();
  await page.getByRole('link', {name: 'Open the vehicle'}).click();
  await expect(page.getByRole('heading', {name: 'Smartcar connection'})).toBeVisible();
  await expect(page.locator('[data-connection-status]')).toHaveText('active');
  const vehicleId = new URL(page.url()).pathname.split('/').pop()!;

  // The poller reads the new car at once; the first values arrive live.
  await expect(page.locator('[data-signal="TractionBattery.StateOfCharge"]')).toHaveText(/^\d+(\.\d)? %$/, {timeout: 30_000});

  // A dongle batch: the speed arrives on the open page without a reload.
  const token = await login(server.base, 'member@web.test');
  const now = Date.now();
  const samples = [0, 1, 2, 3].map((i) => ({t_ms: now - (3 - i) * 60_000, speed_kmh: 40 + i * 16,
    latitude: 52.52 + i * 0.01, longitude: 13.40 + i * 0.01}));
  const sent = await call(server.base, 'POST', `/api/v1/vehicles/${vehicleId}/telemetry`, token,
    {start_timestamp_ms: samples[0].t_ms, end_timestamp_ms: now, samples});
  expect(sent.status).toBe(202);
  await expect(page.locator('[data-signal="Motion.Speed"]')).toHaveText('88 km/h');
  await expect(page.getByText(/^Updated live at .*Motion\.Speed/)).toBeVisible();

  // The speed's history as a chart, and the positions as a track.
  await page.getByLabel('Signal', {exact: true}).selectOption('Motion.Speed');
  await page.getByRole('button', {name: 'Show'}).click();
  await expect(page.getByText(/^4 points of Speed.*min 40, max 88, latest 88$/)).toBeVisible();
  await expect(page.locator('#history-chart canvas')).toBeVisible();
  await screenshots(page, 'vehicle-history', '#history-h');
  await page.reload();
  await expect(page.getByRole('img', {name: /^Track: \d+ positions over/})).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  await screenshots(page, 'vehicle');

  await page.getByRole('link', {name: 'Home'}).click();
  await expect(page.locator(`[data-vehicle="${vehicleId}"]`)).toContainText('%');
  expect(await seriousViolations(page)).toEqual([]);
  await screenshots(page, 'home');
});

test('register, the magic-link form and a spent link', async ({page}) => {
  await page.goto(server.base + '/register?ref=NOSUCHCODE');
  await expect(page.getByLabel('Referral code (optional)')).toHaveValue('NOSUCHCODE');
  expect(await seriousViolations(page)).toEqual([]);
  await page.getByLabel('Referral code (optional)').fill('');
  await page.getByLabel('Name').fill('Ada Driver');
  await page.getByLabel('E-mail').fill('ada@web.test');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', {name: 'Create account'}).click();
  await expect(page.getByRole('alert')).toContainText('password');
  await page.getByLabel('Password').fill('a much longer passphrase');
  await page.getByRole('button', {name: 'Create account'}).click();
  await expect(page.getByRole('heading', {name: 'Welcome, Ada Driver'})).toBeVisible();
  await page.getByRole('button', {name: 'Sign out'}).click();
  await expect(page.getByRole('heading', {name: 'Sign in to motorpool'})).toBeVisible();

  await page.getByLabel('E-mail for a sign-in link').fill('ada@web.test');
  await page.getByRole('button', {name: 'E-mail me a link'}).click();
  await expect(page.getByRole('status')).toContainText('a sign-in link is on its way');
  await page.goto(server.base + '/auth/magic-link?token=spent-or-made-up');
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByRole('link', {name: 'Ask for a new one'})).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
});
