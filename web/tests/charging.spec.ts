// The charging pages against a real motorpool with a simulated OCPP 1.6J charger (the server's own
// `charger-sim`, which registers it through the API and replays one car): a member asks to charge
// and sees the plan; an admin watches the cluster's load and allocation change live as the car
// plugs in, while the member's page turns to "charging now"; chargers and sessions; an emergency
// beyond the member's allowance approved by support and seen approved by the member; the member
// cancels a request; fairness as a table. axe-core on every page, screenshots of the main ones.
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {expect, test, type Page} from '@playwright/test';

import {call, login, password, screenshots, seriousViolations, signIn, startServer, type Server} from './motorpool';

test.describe.configure({mode: 'serial'});

const admin = 'admin@charging.test';
const support = 'support@charging.test';
const member = 'driver@charging.test';
let server: Server;
let sim: ChildProcess | null = null;
let work: string;
let adminToken: string;
let memberToken: string;
let cluster: {id: string; name: string};
const cars: {id: string; plate: string; label: string}[] = [];

// The page's number format (en-US in this Chromium): at most one decimal (two below 10 kWh).
const kw = (v: number) => `${v.toLocaleString('en-US', {maximumFractionDigits: 1})} kW`;
const kwh = (v: number) => `${v.toLocaleString('en-US', {maximumFractionDigits: Math.abs(v) < 10 ? 2 : 1})} kWh`;

test.beforeAll(async () => {
  server = await startServer([
    {email: admin, role: 'admin', password}, {email: support, role: 'support', password},
    {email: member, role: 'member', password},
  ]);
  work = mkdtempSync(join(tmpdir(), 'motorpool-charging-web-'));
  adminToken = await login(server.base, admin);
  memberToken = await login(server.base, member);
  const me = await call(server.base, 'GET', '/api/v1/me', memberToken);

  const site = await call(server.base, 'POST', '/api/v1/grid/sites', adminToken, {name: 'Depot Nord', time_zone: 'Europe/Berlin'});
  expect(site.status).toBe(201);
  const made = await call(server.base, 'POST', '/api/v1/grid/clusters', adminToken,
    {name: 'Depot Nord transformer', site_id: site.body.id, capacity_kw: 22, base_load_kw: 4});
  expect(made.status).toBe(201);
  cluster = made.body;
  const priced = await call(server.base, 'PATCH', `/api/v1/grid/clusters/${cluster.id}`, adminToken,
    {tariff: {currency: 'EUR', price_per_kwh: 0.3}});
  expect(priced.status).toBe(200);

  for (const [vin, plate] of [['5YJ3E1EA8MF000101', 'B-EV 101'], ['5YJ3E1EAXMF000102', 'B-EV 102'], ['5YJ3E1EA1MF000103', 'B-EV 103']]) {
    const v = await call(server.base, 'POST', '/api/v1/vehicles', memberToken,
      {vin, make: 'Tesla', model: 'Model 3', year: 2021, license_plate: plate});
    expect(v.status).toBe(201);
    cars.push({id: v.body.id, plate, label: `2021 Tesla Model 3 (${plate})`});
  }
  // The driver's charging card: the simulated charger starts its session with this tag.
  const tag = await call(server.base, 'POST', '/api/v1/charging/id-tags', adminToken,
    {id_tag: 'SIM-TAG', user_id: me.body.id, vehicle_id: cars[0].id});
  expect(tag.status).toBe(201);
  // Two emergencies use up the member's allowance (granted at once); each brings its request.
  const departure = new Date(Date.now() + 5 * 3_600_000).toISOString();
  for (const car of cars.slice(1)) {
    const e = await call(server.base, 'POST', '/api/v1/charging/emergency-requests', memberToken,
      {vehicle_id: car.id, reason: 'Early shift', cluster_id: cluster.id, energy_kwh: 10, departure_time: departure});
    expect(e.status).toBe(201);
    expect(e.body).toMatchObject({status: 'approved', automatic: true});
  }
});

async function stopCharger(): Promise<void> {
  if (sim && sim.exitCode === null) {
    const exited = new Promise((r) => sim!.on('exit', r));
    sim.kill('SIGTERM');
    await exited;
  }
}

test.afterAll(async () => {
  await stopCharger();
  await server?.stop();
  if (work) rmSync(work, {recursive: true, force: true});
});

async function check(page: Page, name?: string): Promise<void> {
  expect(await seriousViolations(page)).toEqual([]);
  if (name) await screenshots(page, name);
}

test('a member asks to charge the car and sees the plan', async ({page}) => {
  await signIn(page, server.base, member);
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Charging', exact: true}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Charging'})).toBeVisible();
  const requests = page.getByRole('table', {name: 'Your charging requests'});
  await expect(requests.getByRole('row')).toHaveCount(3);
  await expect(requests.getByRole('row', {name: /B-EV 102/})).toContainText('emergency');
  await expect(page.getByText('No car is charging yet: your request waits for the car to plug in.')).toBeVisible();
  await check(page, 'charging-driver');

  await page.getByRole('link', {name: 'Charge my car'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Charge my car'})).toBeVisible();
  // The site's code comes from the member's earlier requests; its price shows at once.
  await expect(page.getByLabel('Charging site code')).toHaveValue(cluster.id);
  await expect(page.locator('#site-status')).toHaveText('Price now €0.30 per kWh');
  const forecast = (await call(server.base, 'GET', `/api/v1/grid/clusters/${cluster.id}/price`, memberToken)).body;
  await page.getByText('Price for the next 24 hours').click();
  await expect(page.getByRole('table', {name: /Price per kWh for the next 24 h/}).locator('tbody tr'))
    .toHaveCount(forecast.forecast.length);

  await page.getByLabel('Vehicle').selectOption({label: cars[0].label});
  await page.getByLabel('Energy to add (kWh)').fill('20');
  await page.getByLabel('Charging card').selectOption('SIM-TAG');
  await check(page, 'charging-request');
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/charging/slot-requests') && r.request().method() === 'POST'),
    page.getByRole('button', {name: 'Ask for a charging slot'}).click(),
  ]);
  expect(answer.status()).toBe(201);
  const plan = await answer.json();
  expect(plan).toMatchObject({status: 'waiting', vehicle_id: cars[0].id, energy_kwh: 20, id_tag: 'SIM-TAG'});
  const view = page.locator(`[data-request="${plan.id}"]`);
  await expect(view.getByRole('heading', {name: 'Your plan'})).toBeFocused();
  await expect(view.getByRole('status')).toHaveText('waiting The car has not plugged in yet.');
  expect(plan.reason).toBe('the car has not plugged in yet');
  await expect(view.locator('dd').nth(0)).toHaveText('any free charger of the site');
  await expect(view.locator('dd').nth(2)).toHaveText(kw(plan.plan.power_kw));
  await expect(view.locator('dd').nth(3)).toHaveText(`${kwh(plan.plan.expected_kwh)} expected of 20 kWh asked`);
  await expect(view.locator('dd').nth(4)).toHaveText(
    plan.plan.price_estimate === null ? '—' : new Intl.NumberFormat('en-US', {style: 'currency', currency: 'EUR',
      minimumFractionDigits: 2, maximumFractionDigits: 3}).format(plan.plan.price_estimate));
  const steps = plan.plan.schedule.length;
  if (steps) await expect(view.getByRole('table', {name: 'Power schedule'}).locator('tbody tr')).toHaveCount(steps);
  await view.scrollIntoViewIfNeeded();
  await check(page, 'charging-plan');

  // A second request for the same car is refused, and the form says why.
  await page.getByRole('button', {name: 'Ask for a charging slot'}).click();
  await expect(page.getByRole('alert').filter({hasText: 'already has an open charging request'})).toBeVisible();

  // Clusters are for staff.
  await page.goto(`${server.base}/charging/clusters/${cluster.id}`);
  await expect(page.getByRole('heading', {level: 1, name: 'Not found'})).toBeVisible();
});

test('the car plugs in: the cluster page and the driver\'s page follow live', async ({browser}) => {
  const adminContext = await browser.newContext({viewport: {width: 1280, height: 800}});
  const memberContext = await browser.newContext({viewport: {width: 1280, height: 800}});
  const page = await adminContext.newPage();
  const driver = await memberContext.newPage();

  await signIn(page, server.base, admin);
  await page.goto(`${server.base}/charging`);
  const clusters = page.getByRole('table', {name: 'Grid clusters: load and headroom'});
  const row = clusters.getByRole('row', {name: /Depot Nord transformer/});
  await expect(row.getByRole('cell')).toHaveText(['Depot Nord transformer', '22 kW', '4 kW', '18 kW', '0', '0']);
  await check(page, 'charging-staff');

  await row.getByRole('link', {name: 'Depot Nord transformer'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Depot Nord transformer'})).toBeVisible();
  const meter = page.getByRole('meter', {name: 'Load against capacity'});
  await expect(meter).toHaveAttribute('aria-valuemax', '22');
  await expect(meter).toHaveAttribute('aria-valuenow', '4');
  await expect(page.locator('[data-field="capacity"]')).toHaveText('22 kW');
  const detail = (await call(server.base, 'GET', `/api/v1/grid/clusters/${cluster.id}`, adminToken)).body;
  await expect(page.locator('[data-field="headroom"]')).toHaveText('18 kW');
  await expect(page.locator('[data-field="unallocated"]')).toHaveText(kw(detail.allocation.headroom_kw));
  const waiting = page.getByRole('table', {name: 'Requests waiting for their car'});
  await expect(waiting.locator('tbody tr')).toHaveCount(3);
  for (const car of cars) await expect(waiting.getByRole('row', {name: new RegExp(car.plate)})).toBeVisible();
  await expect(page.getByText('No car is plugged in.')).toBeVisible();
  const forecast = (await call(server.base, 'GET', `/api/v1/grid/clusters/${cluster.id}/price`, adminToken)).body;
  await expect(page.getByRole('table', {name: /Price per kWh/}).locator('tbody tr')).toHaveCount(forecast.forecast.length);
  await expect(page.getByText('No charger hangs on this cluster yet.')).toBeVisible();

  await signIn(driver, server.base, member);
  await driver.goto(`${server.base}/charging`);
  await expect(driver.getByText('No car is charging yet: your request waits for the car to plug in.')).toBeVisible();

  // One charger with two 11 kW connectors; a car (7 kW) arrives a second after it boots.
  const sessions = join(work, 'sessions.csv');
  writeFileSync(sessions, 'id,station,arrival,departure,energy_kwh,max_power_kw\nev-1,CA-1,0,1000,30,7\n');
  sim = spawn(process.env.MOTORPOOL_BIN!, ['charger-sim', '--url', server.base, '--token', adminToken, '--chargers', '1',
    '--connectors', '2', '--max-power', '11', '--prefix', 'WEB-CP-', '--cluster-id', cluster.id, '--sessions', sessions,
    '--speed', '1', '--heartbeat', '60', '--meter-interval', '1'], {stdio: 'ignore'});

  // Live, without a reload: the car appears in the allocation, charging at its connector.
  const allocation = page.getByRole('table', {name: 'Allocation per car'});
  const car = allocation.getByRole('row', {name: /B-EV 101/});
  await expect(car).toContainText('WEB-CP-1 #1', {timeout: 20_000});
  await expect(car).toContainText('charging');
  await expect(waiting.locator('tbody tr')).toHaveCount(2);
  await expect.poll(async () => Number(await meter.getAttribute('aria-valuenow')), {timeout: 20_000}).toBeGreaterThan(4);
  await expect(page.getByRole('table', {name: 'Chargers of this cluster'}).getByRole('row', {name: /WEB-CP-1/}))
    .toContainText('online', {timeout: 10_000});
  await check(page, 'charging-cluster');

  // The driver's page turns to the car charging now, with its power from the meter.
  const card = driver.locator('article.card').filter({hasText: 'at WEB-CP-1, connector 1'});
  await expect(card).toBeVisible({timeout: 20_000});
  await expect(card.getByRole('heading')).toHaveText(`${cars[0].label} at WEB-CP-1, connector 1`);
  await expect(card.locator('dd').first()).toHaveText(/^\d+(\.\d)? kW$/, {timeout: 10_000});
  await check(driver, 'charging-driver-live');
  await adminContext.close();
  await memberContext.close();
});

test('staff see the chargers and the sessions', async ({page}) => {
  await signIn(page, server.base, admin);
  await page.goto(`${server.base}/charging`);
  await page.getByRole('navigation', {name: 'Charging'}).getByRole('link', {name: 'Chargers'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Chargers'})).toBeVisible();
  const charger = page.getByRole('table', {name: 'Chargers and their connectors'}).getByRole('row', {name: /WEB-CP-1/});
  await expect(charger.getByRole('cell').nth(1)).toHaveText('Depot Nord transformer');
  await expect(charger.getByRole('cell').nth(2)).toHaveText('online');
  await expect(charger.locator('[data-connector="WEB-CP-1/1"]')).toContainText('Charging');
  await expect(charger.locator('[data-connector="WEB-CP-1/2"]')).toContainText('Available');
  await check(page, 'charging-chargers');

  await page.goto(`${server.base}/charging/sessions`);
  const list = (await call(server.base, 'GET', '/api/v1/charging/sessions', adminToken)).body;
  expect(list.total).toBe(1);
  const session = page.getByRole('table', {name: 'Charging sessions'}).getByRole('row', {name: /WEB-CP-1 #1/});
  await expect(session).toContainText(cars[0].label);
  await expect(session).toContainText('charging');
  await expect(session.getByRole('cell').nth(5)).toHaveText(/^\d+(\.\d)? kW$/);
  await check(page, 'charging-sessions');

  await session.getByRole('link').click();
  await expect(page.getByRole('heading', {level: 1, name: 'Charging session'})).toBeVisible();
  await expect(page.locator('[data-field="power"]')).toHaveText(/^\d+(\.\d)? kW$/);
  await expect(page.locator('#power-chart canvas').first()).toBeVisible();
  // Meter values keep arriving every second: the newest reading changes live.
  const newest = page.getByRole('table', {name: 'Latest meter readings'}).locator('tbody tr').first();
  const before = await newest.getByRole('cell').first().textContent();
  await expect(newest.getByRole('cell').first()).not.toHaveText(before!, {timeout: 10_000});
  await check(page, 'charging-session');
});

test('an emergency beyond the allowance: support approves it, the member sees it approved', async ({page, browser}) => {
  await signIn(page, server.base, member);
  await page.goto(`${server.base}/charging/emergency`);
  await expect(page.getByRole('heading', {level: 1, name: 'Emergency charging'})).toBeVisible();
  const mine = page.getByRole('table', {name: 'Your emergency requests'});
  await expect(mine.locator('tbody tr')).toHaveCount(2);
  await expect(mine.locator('tbody tr').first()).toContainText('approved automatically');
  await page.getByLabel('Vehicle').selectOption({label: cars[0].label});
  await page.getByLabel('Reason').fill('Night shift at the hospital: I need the car by six');
  await page.getByRole('button', {name: 'Ask for emergency charging'}).click();
  await expect(page.getByRole('status').filter({hasText: 'Sent: support reviews it'})).toBeVisible();
  const asked = mine.getByRole('row', {name: /Night shift/});
  await expect(asked).toContainText('pending');
  await check(page, 'charging-emergency');

  const agentContext = await browser.newContext({viewport: {width: 1280, height: 800}});
  const agent = await agentContext.newPage();
  await signIn(agent, server.base, support);
  await agent.goto(`${server.base}/charging`);
  await expect(agent.getByRole('link', {name: 'Emergency requests (1 pending)'})).toBeVisible();
  await expect(agent.getByRole('link', {name: 'Charge a fleet vehicle'})).toHaveCount(0);
  await expect(agent.locator('[data-alert]').filter({hasText: 'emergency limit'})).toHaveCount(1);
  await agent.getByRole('link', {name: 'Emergency requests (1 pending)'}).click();
  const pending = agent.getByRole('table', {name: 'Emergency requests waiting for review'});
  const row = pending.getByRole('row', {name: /Night shift/});
  await expect(row).toContainText(cars[0].label);
  await row.getByRole('textbox', {name: `Note for ${cars[0].label}`}).fill('Granted: drive safely');
  await check(agent, 'charging-emergency-review');
  await row.getByRole('button', {name: `Approve the request for ${cars[0].label}`}).click();
  await expect(agent.getByRole('status').filter({hasText: `Request from ${cars[0].label} approved.`})).toBeVisible();
  await expect(agent.getByText('Nothing waits for review.')).toBeVisible();
  await expect(agent.getByRole('table', {name: 'Emergency requests', exact: true}).getByRole('row', {name: /Night shift/}))
    .toContainText('Granted: drive safely');
  const reviewed = (await call(server.base, 'GET', '/api/v1/charging/emergency-requests?status=approved', adminToken)).body;
  expect(reviewed.items.find((e: {reason: string}) => e.reason.startsWith('Night shift'))).toMatchObject({
    status: 'approved', automatic: false, review_note: 'Granted: drive safely',
  });
  await agentContext.close();

  // The member's page looks again while a request of theirs waits.
  await expect(asked).toContainText('approved', {timeout: 15_000});
  await expect(asked).toContainText('Granted: drive safely');
  await page.goto(`${server.base}/charging`);
  await expect(page.getByRole('table', {name: 'Your charging requests'}).getByRole('row', {name: /B-EV 101/}))
    .toContainText('emergency');
});

test('the member cancels a waiting request', async ({page}) => {
  await signIn(page, server.base, member);
  await page.goto(`${server.base}/charging`);
  const requests = page.getByRole('table', {name: 'Your charging requests'});
  const row = requests.getByRole('row', {name: /B-EV 103/});
  await expect(row).toContainText('waiting');
  await row.getByRole('button', {name: `Cancel the request for ${cars[2].label}`}).click();
  await expect(page.getByRole('status').filter({hasText: 'Request cancelled.'})).toBeVisible();
  await expect(row).toContainText('cancelled');
  await expect(row.getByRole('button')).toHaveCount(0);
  // The charging request cannot be cancelled once the car is plugged in: no button for it.
  await expect(requests.getByRole('row', {name: /B-EV 101/}).getByRole('button')).toHaveCount(0);
});

test('fairness of the cluster as numbers and bars', async ({page}) => {
  // The charger goes away, so the energy delivered (and the figures) stop moving.
  await stopCharger();
  await expect.poll(async () => (await call(server.base, 'GET', '/api/v1/chargers/WEB-CP-1', adminToken)).body.online).toBe(false);
  await signIn(page, server.base, admin);
  await page.goto(`${server.base}/charging`);
  await page.getByRole('link', {name: 'Fairness'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Charging fairness'})).toBeVisible();
  await expect(page.getByLabel('Grid cluster')).toHaveValue(cluster.id);
  const summary = page.getByRole('table', {name: 'Fairness summary'});
  await expect(summary).toBeVisible();
  const params = new URL(page.url()).searchParams;
  const f = (await call(server.base, 'GET', `/api/v1/analytics/fairness?cluster_id=${cluster.id}`
    + `&from=${encodeURIComponent(params.get('from')!)}&to=${encodeURIComponent(params.get('to')!)}`, adminToken)).body;
  expect(f.requests).toBe(2);  // the cancelled request does not count
  await expect(summary.getByRole('row', {name: /^Requests/}).getByRole('cell').nth(1)).toHaveText(String(f.requests));
  await expect(summary.getByRole('row', {name: /Jain index/}).getByRole('cell').nth(1))
    .toHaveText(f.jain_index.toLocaleString('en-US', {maximumFractionDigits: 4}));
  const drivers = page.getByRole('table', {name: 'Fairness by driver, least served first'});
  await expect(drivers.locator('tbody tr')).toHaveCount(f.by_member.length);
  await expect(drivers.locator('tbody tr').first().getByRole('cell').nth(1)).toHaveText(String(f.by_member[0].requests));
  const priorities = page.getByRole('table', {name: 'Fairness by priority'});
  await expect(priorities.locator('tbody tr')).toHaveCount(Object.keys(f.by_priority).length);
  await check(page, 'charging-fairness');
});
