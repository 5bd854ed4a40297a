// The membership business as a member and as an admin would use it: a real motorpool serving the
// built dashboard, set up through the API by the admin (services, two locations in Berlin and
// Munich on Europe/Berlin time, plans, offers). The browser sits in New York with a position in
// Berlin, so the booking page must sort the nearest location first and show the times on the
// location's clock, not the browser's.
import {expect, test, type Page} from '@playwright/test';

import {call, login, screenshots, seriousViolations, signIn, startServer, password, type Server} from './motorpool';

const admin = 'admin@membership.test';
const member = 'member@membership.test';
const zone = 'Europe/Berlin';
const everyDay = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [['08:00', '18:00']]]));

let server: Server;
let adminToken: string;
let memberToken: string;
let berlin: {id: string; horizon_days: number};
let adminVehicle: string;

test.describe.configure({mode: 'serial'});
test.use({
  locale: 'en-GB', timezoneId: 'America/New_York',
  geolocation: {latitude: 52.52, longitude: 13.405}, permissions: ['geolocation'],
});

/// A date on Berlin's calendar, YYYY-MM-DD.
function berlinDate(instant: number): string {
  const p = new Intl.DateTimeFormat('en-US', {timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit'}).formatToParts(instant);
  const part = (t: string) => p.find((x) => x.type === t)!.value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/// A time on Berlin's wall clock as the page shows it (en-GB: 24-hour).
function berlinTime(iso: string): string {
  return new Date(iso).toLocaleTimeString('en-GB', {hour: '2-digit', minute: '2-digit', timeZone: zone});
}

function euros(cents: number): string {
  return new Intl.NumberFormat('en-GB', {style: 'currency', currency: 'EUR'}).format(cents / 100);
}

async function ok(res: Promise<{status: number; body: any}>, status = 201): Promise<any> {
  const answer = await res;
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  return answer.body;
}

async function slotsOf(day: string): Promise<{start: string; end: string}[]> {
  const answer = await ok(call(server.base, 'GET',
    `/api/v1/appointments/availability?location_id=${berlin.id}&date=${day}&services=oil_change`, memberToken), 200);
  return answer.available_slots;
}

async function axe(page: Page): Promise<void> {
  expect(await seriousViolations(page)).toEqual([]);
}

test.beforeAll(async () => {
  server = await startServer([
    {email: admin, role: 'admin', password},
    {email: member, role: 'member', password},
  ]);
  adminToken = await login(server.base, admin);
  memberToken = await login(server.base, member);
  const post = (path: string, body: unknown, token = adminToken) => ok(call(server.base, 'POST', path, token, body));
  await post('/api/v1/services', {code: 'oil_change', name: 'Oil change', duration_min: 30, price_cents: 4900});
  await post('/api/v1/services', {code: 'inspection', name: 'Inspection', duration_min: 60, price_cents: 8900});
  await post('/api/v1/locations', {
    name: 'Munich Süd', address: 'Lindwurmstraße 1, München', latitude: 48.137, longitude: 11.575, time_zone: zone,
    bays: 2, opening_hours: everyDay, services: ['inspection'], horizon_days: 30,
  });
  berlin = await post('/api/v1/locations', {
    name: 'Berlin Mitte', address: 'Unter den Linden 1, Berlin', latitude: 52.5163, longitude: 13.3777, time_zone: zone,
    bays: 1, opening_hours: everyDay, services: ['oil_change', 'inspection'],
    slot_interval_min: 30, min_notice_min: 60, horizon_days: 14, cancel_cutoff_min: 60,
  });
  await post('/api/v1/memberships/plans', {code: 'basic', name: 'Basic', price_cents: 1900, included_services: {oil_change: 1}});
  await post('/api/v1/memberships/plans', {
    code: 'plus', name: 'Plus', price_cents: 3900, included_services: {oil_change: 2, inspection: 1},
    benefits: ['Courtesy car'],
  });
  const expires = new Date(Date.now() + 30 * 86_400_000).toISOString();
  await post('/api/v1/offers', {
    title: 'Winter check 20% off', description: 'Tyres, battery and lights checked.', terms: 'Once per member.',
    expires_at: expires, eligible_plans: ['plus'], location_ids: [berlin.id], limit_per_member: 1,
  });
  await post('/api/v1/offers', {title: 'Basic welcome gift', expires_at: expires, eligible_plans: ['basic']});
  await post('/api/v1/vehicles', {vin: 'WBA3A5C54DF000002', make: 'BMW', model: '320i', year: 2013}, memberToken);
  adminVehicle = (await post('/api/v1/vehicles', {vin: '5YJ3E1EA1KF000003', make: 'Tesla', model: 'Model 3', year: 2019})).id;
});

test.afterAll(async () => {
  await server?.stop();
});

test('a member subscribes to a plan and upgrades it', async ({page}) => {
  await signIn(page, server.base, member);
  const nav = page.getByRole('navigation', {name: 'Main'});
  for (const name of ['Membership', 'Book', 'Appointments', 'Offers', 'Referrals']) {
    await expect(nav.getByRole('link', {name, exact: true})).toBeVisible();
  }
  await nav.getByRole('link', {name: 'Membership'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Membership'})).toBeVisible();
  await expect(page.getByText('You have no membership.')).toBeVisible();
  await expect(page.locator('[data-plan=plus]')).toContainText('2 × Oil change, 1 × Inspection');
  await axe(page);

  await page.getByRole('button', {name: 'Subscribe to Basic'}).click();
  await expect(page.getByRole('status').filter({hasText: 'Welcome to Basic'})).toBeVisible();
  expect((await ok(call(server.base, 'GET', '/api/v1/memberships/me', memberToken), 200)).plan_code).toBe('basic');
  await expect(page.getByRole('region', {name: 'Membership charges, newest first'}).getByRole('row')).toHaveCount(2);

  await page.getByRole('button', {name: 'Upgrade to Plus now'}).click();
  await expect(page.getByRole('status').filter({hasText: 'Upgraded to Plus'})).toBeVisible();
  const mine = await ok(call(server.base, 'GET', '/api/v1/memberships/me', memberToken), 200);
  expect(mine.plan_code).toBe('plus');
  expect(mine.status).toBe('active');
  const charges = (await ok(call(server.base, 'GET', '/api/v1/memberships/me/charges', memberToken), 200)).items;
  expect(charges.map((c: any) => c.kind)).toEqual(['upgrade', 'subscription']);
  const rows = page.getByRole('region', {name: 'Membership charges, newest first'}).getByRole('row');
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(1)).toContainText(euros(charges[0].amount_cents));
  await expect(rows.nth(2)).toContainText(euros(1900));
  await expect(page.locator('[data-plan=plus]')).toContainText('Your current plan');
  await expect(page.getByRole('button', {name: 'Switch to Basic at period end'})).toBeVisible();
  await axe(page);
  await screenshots(page, 'membership');
});

test('a member books through the day picker; a slot taken meanwhile is reloaded', async ({page}) => {
  await signIn(page, server.base, member);
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Book'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Book an appointment'})).toBeVisible();
  // The browser's position is in Berlin: Berlin Mitte comes first, with its distance.
  const place = page.getByLabel('Location');
  await expect(place).toHaveValue(berlin.id);
  await expect(place.locator('option').first()).toHaveText(/^Berlin Mitte \(\d+\.\d km\)$/);
  await expect(page.getByText('Nearest first, from your position.')).toBeVisible();
  await expect(page.getByText(`Days and times are Berlin Mitte's local time (${zone}).`)).toBeVisible();
  await page.getByRole('checkbox', {name: /Oil change/}).check();

  // The first bookable day holds the roving tab stop; the arrow keys reach tomorrow, Enter picks it.
  const day = berlinDate(Date.now() + 86_400_000);
  const grid = page.locator('.daypicker table');
  const start = grid.locator('button[tabindex="0"]');
  const first = (await start.getAttribute('data-date'))!;
  expect(first <= day).toBe(true);
  await start.focus();
  if (first < day) await page.keyboard.press('ArrowRight');
  await expect(grid.locator(`button[data-date="${day}"]`)).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(grid.locator(`button[data-date="${day}"]`)).toHaveAttribute('aria-pressed', 'true');

  // Days past the horizon are disabled (the grid shows the horizon's month by the "Next month" button).
  const last = berlinDate(Date.now() + berlin.horizon_days * 86_400_000);
  while (await grid.locator(`button[data-date="${last}"]`).count() === 0) {
    await page.getByRole('button', {name: 'Next month'}).click();
  }
  await expect(grid.locator(`button[data-date="${last}"]`)).not.toHaveAttribute('aria-disabled', 'true');
  const beyond = addDays(last, 1);
  if (beyond.slice(0, 7) === last.slice(0, 7)) {
    await expect(grid.locator(`button[data-date="${beyond}"]`)).toHaveAttribute('aria-disabled', 'true');
  } else {
    await expect(page.getByRole('button', {name: 'Next month'})).toBeDisabled();
  }

  // The free times are the server's, on Berlin's clock although the browser is in New York.
  const slots = await slotsOf(day);
  expect(slots.length).toBeGreaterThan(1);
  const radios = page.getByRole('radio');
  await expect(radios).toHaveCount(slots.length);
  await expect(page.locator('.slots label').first()).toHaveText(`${berlinTime(slots[0].start)} – ${berlinTime(slots[0].end)}`);
  await axe(page);
  await screenshots(page, 'book');

  // Someone else (the admin, for their own car) takes the first time while the member looks at it.
  await radios.first().check();
  await ok(call(server.base, 'POST', '/api/v1/appointments', adminToken,
    {vehicle_id: adminVehicle, location_id: berlin.id, start_time: slots[0].start, services: ['oil_change']}));
  await page.getByRole('button', {name: 'Book', exact: true}).click();
  await expect(page.getByRole('alert').filter({hasText: 'that time was taken a moment ago'})).toBeVisible();
  const fresh = await slotsOf(day);
  expect(fresh[0].start).not.toBe(slots[0].start);
  await expect(radios).toHaveCount(fresh.length);
  await expect(page.locator('.slots label').first()).toHaveText(`${berlinTime(fresh[0].start)} – ${berlinTime(fresh[0].end)}`);

  await radios.first().check();
  await page.getByRole('button', {name: 'Book', exact: true}).click();
  await expect(page.getByRole('heading', {name: 'Booked'})).toBeVisible();
  await expect(page.getByRole('status').filter({hasText: 'Berlin Mitte is booked for'}))
    .toContainText(`${berlinTime(fresh[0].start)} (${zone})`);
  const mine = (await ok(call(server.base, 'GET', '/api/v1/appointments', memberToken), 200)).items;
  expect(mine).toHaveLength(1);
  expect(mine[0].start_time).toBe(fresh[0].start);
  expect(mine[0].location_id).toBe(berlin.id);
  expect(mine[0].services.map((s: any) => s.code)).toEqual(['oil_change']);
  await expect(page.locator('.confirmation dl')).toContainText(euros(mine[0].amount_due_cents));
  await axe(page);
  await screenshots(page, 'booked');
});

test('a member sees the offers for their plan and redeems one', async ({page}) => {
  await signIn(page, server.base, member);
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Offers'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Offers'})).toBeVisible();
  const offer = page.locator('article', {has: page.getByRole('heading', {name: 'Winter check 20% off'})});
  await expect(offer).toContainText('Berlin Mitte');
  await expect(page.getByText('Nearest first, from your position.')).toBeVisible();
  await expect(offer).toContainText(/\d+\.\d km away/);
  await expect(page.getByRole('heading', {name: 'Basic welcome gift'})).toHaveCount(0);
  await axe(page);
  await screenshots(page, 'offers');

  await offer.getByRole('button', {name: 'Redeem'}).click();
  await expect(page.getByRole('status').filter({hasText: 'is redeemed on your appointment'})).toBeVisible();
  await expect(offer).toContainText('Used');
  const offers = (await ok(call(server.base, 'GET', '/api/v1/offers', memberToken), 200)).items;
  expect(offers.find((o: any) => o.title === 'Winter check 20% off').redemptions_left).toBe(0);
});

test('a member reschedules and cancels under my appointments', async ({page}) => {
  await signIn(page, server.base, member);
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Appointments'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Appointments'})).toBeVisible();
  const [booked] = (await ok(call(server.base, 'GET', '/api/v1/appointments', memberToken), 200)).items;
  const upcoming = page.getByRole('region', {name: 'Upcoming appointments'});
  await expect(upcoming.getByRole('row')).toHaveCount(2);
  await expect(upcoming.getByRole('row').nth(1)).toContainText(`${berlinTime(booked.start_time)} (${zone})`);
  await expect(upcoming.getByRole('row').nth(1)).toContainText('BMW 320i');
  await axe(page);
  await screenshots(page, 'appointments');

  // Reschedule: the picker opens on the appointment's day; its first free time becomes the new one.
  await upcoming.getByRole('button', {name: /^Reschedule/}).click();
  await expect(page.getByRole('heading', {name: /^Reschedule:/})).toBeFocused();
  const day = booked.local_start.slice(0, 10);
  await expect(page.locator(`.daypicker button[data-date="${day}"]`)).toHaveAttribute('aria-pressed', 'true');
  const free = await slotsOf(day);
  await expect(page.getByRole('radio')).toHaveCount(free.length);
  await axe(page);
  await page.getByRole('radio').first().check();
  await page.getByRole('button', {name: 'Move here'}).click();
  await expect(page.getByRole('status').filter({hasText: 'Moved to'})).toContainText(berlinTime(free[0].start));
  const moved = await ok(call(server.base, 'GET', `/api/v1/appointments/${booked.id}`, memberToken), 200);
  expect(moved.start_time).toBe(free[0].start);
  await expect(upcoming.getByRole('row').nth(1)).toContainText(berlinTime(free[0].start));

  await upcoming.getByRole('button', {name: /^Cancel the appointment/}).click();
  await expect(page.getByRole('status').filter({hasText: 'is cancelled'})).toBeVisible();
  await expect(upcoming.getByRole('row').nth(1)).toContainText('cancelled');
  expect((await ok(call(server.base, 'GET', `/api/v1/appointments/${booked.id}`, memberToken), 200)).status).toBe('cancelled');
  await axe(page);
});

test('the service desk sees every appointment and sets the status, live on the member\'s page', async ({page, browser}) => {
  const day = berlinDate(Date.now() + 2 * 86_400_000);
  const [slot] = await slotsOf(day);
  const vehicles = (await ok(call(server.base, 'GET', '/api/v1/vehicles?mine=true', memberToken), 200)).items;
  const booked = await ok(call(server.base, 'POST', '/api/v1/appointments', memberToken,
    {vehicle_id: vehicles[0].id, location_id: berlin.id, start_time: slot.start, services: ['inspection']}));

  // The member watches their appointments in another browser.
  const memberContext = await browser.newContext({locale: 'en-GB', timezoneId: 'America/New_York'});
  const memberPage = await memberContext.newPage();
  await signIn(memberPage, server.base, member);
  await memberPage.goto(`${server.base}/appointments`);
  const memberRow = memberPage.getByRole('region', {name: 'Upcoming appointments'}).getByRole('row', {name: /Inspection/});
  await expect(memberRow).toContainText('booked');

  await signIn(page, server.base, admin);
  const nav = page.getByRole('navigation', {name: 'Main'});
  await expect(nav.getByRole('link', {name: 'Book'})).toHaveCount(0);
  await nav.getByRole('link', {name: 'Appointments'}).click();
  await expect(page.getByRole('heading', {name: 'All appointments'})).toBeVisible();
  const all = page.getByRole('region', {name: 'Appointments'});
  await expect(all.getByRole('row')).toHaveCount(4);  // the admin's, the member's cancelled one and this one
  const row = all.getByRole('row', {name: /Inspection/});
  await expect(row).toContainText('BMW 320i');
  await axe(page);
  await screenshots(page, 'appointments-desk');

  await row.getByLabel('New status').selectOption('checked_in');
  await row.getByRole('button', {name: 'Set status'}).click();
  await expect(page.getByRole('status').filter({hasText: 'is now checked in'})).toBeVisible();
  expect((await ok(call(server.base, 'GET', `/api/v1/appointments/${booked.id}`, adminToken), 200)).status).toBe('checked_in');
  await expect(memberRow).toContainText('checked in');  // over the WebSocket, no reload
  await memberContext.close();
});

test('a member sees their referral code, link and rewards', async ({page, browser}) => {
  const summary = await ok(call(server.base, 'GET', '/api/v1/referrals/me', memberToken), 200);
  await signIn(page, server.base, member);
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Referrals'}).click();
  await expect(page.getByRole('heading', {level: 1, name: 'Referrals and rewards'})).toBeVisible();
  await expect(page.locator('.referral-code')).toHaveText(summary.code);
  await expect(page.getByRole('link', {name: summary.link})).toBeVisible();
  await expect(page.getByText('Balance:')).toContainText(euros(summary.rewards_balance_cents));
  await axe(page);
  await screenshots(page, 'referrals');

  // The link opens registration with the code filled in.
  const visitor = await browser.newContext();
  const visit = await visitor.newPage();
  await visit.goto(server.base + new URL(summary.link, server.base).pathname);
  await expect(visit.getByLabel('Referral code (optional)')).toHaveValue(summary.code);
  await visitor.close();
});
