// The admin pages: the Smartcar webhook delivery log (signed deliveries posted to the server — one
// for a car the member connected through the simulator, which is processed, one for a car nobody
// connected, which is ignored — filtered by outcome, a payload read, the log cleared) and users and
// roles (search, change the member's role, deactivate and reactivate), each checked against the
// API. A member sees neither page.
import {createHmac} from 'node:crypto';

import {expect, test} from '@playwright/test';

import {call, login, password, screenshots, seriousViolations, signIn, startServer, type Server} from './motorpool';

const admin = 'admin@admin.test';
const member = 'member@admin.test';
const managementToken = 'web-test-management-token';
let server: Server;
let smartcarVehicle: string;

const sign = (body: string) => createHmac('sha256', managementToken).update(body).digest('hex');

function vehicleState(eventId: string, vehicle: string, soc: number): string {
  const at = Date.now() - 60_000;
  return JSON.stringify({
    eventId, eventType: 'VEHICLE_STATE',
    data: {
      user: {id: 'u-1'}, vehicle: {id: vehicle, make: 'TESLA', model: '3'},
      signals: [{
        code: 'tractionbattery-stateofcharge', name: 'StateOfCharge', group: 'TractionBattery',
        body: {unit: 'percent', value: soc}, meta: {oemUpdatedAt: at, retrievedAt: at + 500},
        status: {value: 'SUCCESS'},
      }],
    },
    triggers: [{type: 'SIGNAL_UPDATED'}],
    meta: {version: '4.0', webhookId: 'w-1', deliveryId: `${eventId}-d`, deliveredAt: at + 1000, mode: 'TEST'},
  });
}

async function deliver(body: string, signature: string | null): Promise<number> {
  const headers: Record<string, string> = {'Content-Type': 'application/json'};
  if (signature) headers['SC-Signature'] = signature;
  return (await fetch(`${server.base}/webhooks/smartcar`, {method: 'POST', headers, body})).status;
}

test.beforeAll(async () => {
  // The server signs and checks deliveries with the management token it is given.
  process.env.SMARTCAR_MANAGEMENT_TOKEN = managementToken;
  try {
    server = await startServer([{email: admin, role: 'admin', password}, {email: member, role: 'member', password}]);
  } finally {
    delete process.env.SMARTCAR_MANAGEMENT_TOKEN;
  }
  // The member connects a car through the built-in Smartcar simulator (Connect, approve, callback).
  const token = await login(server.base, member);
  const connect = await call(server.base, 'GET', '/api/v1/connect/smartcar', token);
  expect(connect.status).toBe(200);
  const url = new URL(connect.body.url);
  const approved = await fetch(`${server.base}${url.pathname}${url.search}&approve=true`, {redirect: 'manual'});
  expect(approved.status).toBe(302);
  const back = new URL(approved.headers.get('location')!, server.base);
  const callback = await fetch(`${server.base}${back.pathname}${back.search}`);
  expect(callback.status).toBe(200);
  smartcarVehicle = (await callback.json()).vehicles[0].smartcar_vehicle_id;
});

test.afterAll(async () => {
  await server?.stop();
});

test('an admin reads, filters and clears the webhook delivery log', async ({page}) => {
  const known = vehicleState('ev-web-known', smartcarVehicle, 64.5);
  const stranger = vehicleState('ev-web-stranger', 'sc-nobody-connected', 12);
  expect(await deliver(known, sign(known))).toBe(200);
  expect(await deliver(known, sign(known))).toBe(200); // a re-delivery: logged once, counted
  expect(await deliver(stranger, sign(stranger))).toBe(200);
  expect(await deliver(vehicleState('ev-web-forged', smartcarVehicle, 1), 'ab'.repeat(32))).toBe(401);
  const token = await login(server.base, admin);
  // Processing is asynchronous: wait until neither delivery is pending.
  await expect.poll(async () => {
    const log = await call(server.base, 'GET', '/api/v1/webhook-events', token);
    return log.body.items.map((d: {event_id: string; status: string}) => `${d.event_id}:${d.status}`).sort();
  }).toEqual(['ev-web-known:processed', 'ev-web-stranger:ignored']);
  const log = await call(server.base, 'GET', '/api/v1/webhook-events', token);
  const processed = log.body.items.find((d: {event_id: string}) => d.event_id === 'ev-web-known');
  const ignored = log.body.items.find((d: {event_id: string}) => d.event_id === 'ev-web-stranger');
  expect(processed.redeliveries).toBe(1);
  expect(ignored.outcome).toBe('unknown vehicle sc-nobody-connected');

  await signIn(page, server.base, admin);
  const nav = page.getByRole('navigation', {name: 'Main'});
  await expect(nav.getByRole('link', {name: 'Support'})).toBeVisible();
  await nav.getByRole('link', {name: 'Webhooks'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Webhook deliveries'})).toBeVisible();
  const deliveries = page.getByRole('table', {name: '2 deliveries'});
  await expect(deliveries).toBeVisible();
  await expect(deliveries.getByRole('row')).toHaveCount(3);
  expect(await seriousViolations(page)).toEqual([]);
  await screenshots(page, 'admin-webhooks');

  await page.getByLabel('Outcome').selectOption('ignored');
  const onlyIgnored = page.getByRole('table', {name: '1 delivery (ignored)'});
  await expect(onlyIgnored.getByRole('row')).toHaveCount(2);
  await expect(onlyIgnored.getByRole('cell', {name: 'ev-web-stranger'})).toBeVisible();
  await expect(onlyIgnored.getByRole('cell', {name: 'unknown vehicle sc-nobody-connected'})).toBeVisible();
  await expect(page).toHaveURL(/\/admin\/webhooks\?status=ignored$/);

  await page.getByLabel('Outcome').selectOption('processed');
  const onlyProcessed = page.getByRole('table', {name: '1 delivery (processed)'});
  const row = onlyProcessed.getByRole('row', {name: /ev-web-known/});
  await expect(row.getByRole('cell', {name: processed.outcome, exact: true})).toBeVisible();
  await expect(row.getByRole('cell', {name: '1', exact: true})).toBeVisible(); // the re-delivery
  await row.getByText('Payload').click();
  const payload = row.getByLabel('Payload of ev-web-known');
  await expect(payload).toBeVisible();
  expect(JSON.parse((await payload.textContent())!)).toEqual(JSON.parse(known));
  expect(await seriousViolations(page)).toEqual([]);
  await screenshots(page, 'admin-webhook-payload');

  await page.getByLabel('Outcome').selectOption('failed');
  await expect(page.getByText('No delivery has this outcome.')).toBeVisible();
  await page.getByLabel('Outcome').selectOption('');

  // Clearing asks first: dismissed, nothing happens; accepted, the log is empty.
  page.once('dialog', (d) => void d.dismiss());
  await page.getByRole('button', {name: 'Clear the log…'}).click();
  await expect(page.getByRole('table', {name: '2 deliveries'})).toBeVisible();
  expect((await call(server.base, 'GET', '/api/v1/webhook-events', token)).body.total).toBe(2);
  page.once('dialog', (d) => {
    expect(d.message()).toContain('Clear the webhook delivery log?');
    void d.accept();
  });
  await page.getByRole('button', {name: 'Clear the log…'}).click();
  await expect(page.getByText('The log was cleared.')).toBeVisible();
  await expect(page.getByText('The log is empty.')).toBeVisible();
  expect((await call(server.base, 'GET', '/api/v1/webhook-events', token)).body.total).toBe(0);
});

test('an admin changes a member\'s role and deactivates and reactivates the account', async ({page}) => {
  const token = await login(server.base, admin);
  const find = async () => (await call(server.base, 'GET', `/api/v1/users?q=${encodeURIComponent(member)}`, token))
    .body.items[0];

  await signIn(page, server.base, admin);
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Users'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Users and roles'})).toBeVisible();
  await expect(page.getByRole('table', {name: '2 users'})).toBeVisible();
  // Your own account cannot be changed here.
  await expect(page.getByRole('row', {name: /admin@admin\.test/}).getByText('Admin (you)')).toBeVisible();
  await expect(page.getByRole('combobox', {name: `Role of ${admin}`})).toHaveCount(0);
  expect(await seriousViolations(page)).toEqual([]);
  await screenshots(page, 'admin-users');

  await page.getByLabel('Name or e-mail').fill('member@');
  await page.getByRole('button', {name: 'Search'}).click();
  const results = page.getByRole('table', {name: '1 user matching "member@"'});
  await expect(results.getByRole('row')).toHaveCount(2);
  await expect(page).toHaveURL(/\/admin\/users\?q=member%40$/);

  await page.getByRole('combobox', {name: `Role of ${member}`}).selectOption('support');
  await page.getByRole('button', {name: `Change the role of ${member}`}).click();
  await expect(page.getByRole('status').filter({hasText: `${member} is now support.`})).toBeVisible();
  expect((await find()).role).toBe('support');
  await expect(page.getByRole('combobox', {name: `Role of ${member}`})).toHaveValue('support');

  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', {name: `Deactivate ${member}`}).click();
  await expect(page.getByText(`${member} is deactivated and signed out.`)).toBeVisible();
  await expect(results.getByRole('cell', {name: 'Deactivated'})).toBeVisible();
  expect((await find()).active).toBe(false);
  const refused = await call(server.base, 'POST', '/api/v1/auth/login', undefined, {email: member, password});
  expect(refused.status).not.toBe(200);
  expect(await seriousViolations(page)).toEqual([]);

  await page.getByRole('button', {name: `Reactivate ${member}`}).click();
  await expect(page.getByText(`${member} can sign in again.`)).toBeVisible();
  expect((await find()).active).toBe(true);
  expect((await call(server.base, 'POST', '/api/v1/auth/login', undefined, {email: member, password})).status).toBe(200);

  // Put back, and a member sees no admin page.
  expect((await call(server.base, 'PATCH', `/api/v1/users/${(await find()).id}`, token, {role: 'member'})).status)
    .toBe(200);
});

test('a member has no admin pages', async ({page}) => {
  await signIn(page, server.base, member);
  const nav = page.getByRole('navigation', {name: 'Main'});
  await expect(nav.getByRole('link', {name: 'Support'})).toBeVisible();
  await expect(nav.getByRole('link', {name: 'Webhooks'})).toHaveCount(0);
  await expect(nav.getByRole('link', {name: 'Users'})).toHaveCount(0);
  await page.goto(`${server.base}/admin/users`);
  await expect(page.getByRole('heading', {level: 1, name: 'Not found'})).toBeVisible();
  await page.goto(`${server.base}/admin/webhooks`);
  await expect(page.getByRole('heading', {level: 1, name: 'Not found'})).toBeVisible();
});
