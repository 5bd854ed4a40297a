// The Membership Auto mobile app's main flow against motorpool (MOTORPOOL_COMPAT=membership-auto):
// plain fetch code written from the original service's documentation only — register, log in,
// add a vehicle, link its dongle, upload a telematics batch, and refresh the access token twice
// with the refresh token from the login (the app keeps the first one).
//   MOTORPOOL_BIN=build/motorpool node --test tests/e2e/
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {serverEnv, startServer} from './motorpool.mjs';

const work = mkdtempSync(join(tmpdir(), 'motorpool-compat-membership-'));
const env = serverEnv(work, {MOTORPOOL_COMPAT: 'membership-auto'});
let server;
let base;

async function api(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  return {status: res.status, body: text ? JSON.parse(text) : null};
}

before(async () => {
  server = await startServer(env);
  base = server.base;
});

after(async () => {
  await server?.stop();
  rmSync(work, {recursive: true, force: true});
});

test('register, log in, add a vehicle, upload telematics, refresh twice', async () => {
  const registered = await api('POST', '/api/auth/register/',
    {email: 'member@example.com', password: 'correct horse battery', name: 'Mia', phone: '+1 555 0100'});
  assert.equal(registered.status, 201);
  assert.equal(typeof registered.body.accessToken, 'string');
  assert.equal(typeof registered.body.refreshToken, 'string');
  assert.deepEqual(Object.keys(registered.body.user).sort(),
    ['createdAt', 'email', 'id', 'membershipId', 'name', 'phone', 'referralCode', 'rewardsBalance']);

  const login = await api('POST', '/api/auth/login/',
    {email: 'member@example.com', password: 'correct horse battery', deviceId: 'iphone-15'});
  assert.equal(login.status, 200);
  const {accessToken, refreshToken} = login.body;
  const wrong = await api('POST', '/api/auth/login/', {email: 'member@example.com', password: 'nope nope nope'});
  assert.equal(wrong.status, 401);
  assert.deepEqual(wrong.body, {error: 'Invalid credentials'});

  const vehicle = await api('POST', '/api/vehicles/',
    {vin: '1HGCM82633A004352', make: 'Honda', model: 'Accord', year: 2003, licensePlate: 'ABC123', fuelType: 'gasoline'},
    accessToken);
  assert.equal(vehicle.status, 201, JSON.stringify(vehicle.body));
  assert.equal(vehicle.body.licensePlate, 'ABC123');
  const missing = await api('POST', '/api/vehicles/', {make: 'Honda'}, accessToken);
  assert.equal(missing.status, 400);
  assert.ok(Array.isArray(missing.body.vin));

  const linked = await api('POST', `/api/vehicles/${vehicle.body.id}/link-dongle/`,
    {dongleId: 'OBD-0001', connectionType: 'BLE'}, accessToken);
  assert.equal(linked.status, 200);
  assert.equal(linked.body.dongleConnectionType, 'BLE');
  const vehicles = await api('GET', '/api/vehicles/', undefined, accessToken);
  assert.ok(Array.isArray(vehicles.body));
  assert.equal(vehicles.body[0].dongleId, 'OBD-0001');

  const start = Date.now() - 60_000;
  const batch = await api('POST', `/api/telematics/${vehicle.body.id}/`, {
    vehicleId: vehicle.body.id,
    startTimestamp: start,
    endTimestamp: start + 20_000,
    samples: [
      {t: start, speed: 45.5, fuelRate: 2.3, odometer: 15000.5},
      {t: start + 10_000, speed: 52.0, fuelRate: 2.6, odometer: 15000.6},
    ],
  }, accessToken);
  assert.equal(batch.status, 202);
  assert.deepEqual(batch.body, {message: 'Telemetry batch accepted'});

  // Two refreshes with the same refresh token: both succeed, each access token works.
  for (let i = 0; i < 2; ++i) {
    const refreshed = await api('POST', '/api/auth/refresh/', {refreshToken}, undefined);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.deepEqual(Object.keys(refreshed.body), ['accessToken']);
    const again = await api('GET', '/api/vehicles/', undefined, refreshed.body.accessToken);
    assert.equal(again.status, 200);
  }
  const bogus = await api('POST', '/api/auth/refresh/', {refreshToken: 'not-a-token'});
  assert.equal(bogus.status, 401);
});
