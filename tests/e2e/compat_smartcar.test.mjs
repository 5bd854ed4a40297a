// The Smartcar services' clients against motorpool (MOTORPOOL_COMPAT=smartcar-integration,
// smartcar-webhooks): plain fetch code written from the originals' documentation only. The
// integration's frontend connects a (simulated) car and reads the latest telemetry and history;
// the webhook server's user logs in through /login and /exchange, Smartcar's console delivers a
// signed VEHICLE_STATE to /webhook, and a dashboard reads the latest signals by Smartcar's id.
//   MOTORPOOL_BIN=build/motorpool node --test tests/e2e/
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {createHmac} from 'node:crypto';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {serverEnv, startServer} from './motorpool.mjs';

const work = mkdtempSync(join(tmpdir(), 'motorpool-compat-smartcar-'));
const env = serverEnv(work, {MOTORPOOL_COMPAT: 'smartcar-integration,smartcar-webhooks'});
let server;
let base;

async function register(email) {
  const res = await fetch(`${base}/api/v1/auth/register`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({name: 'Driver', email, password: 'correct horse battery'}),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text).access_token;
}

/// What a browser does with a Connect URL: approve at Connect (the simulator here) and follow
/// its redirect back to the callback.
async function approve(connectUrl) {
  const connect = await fetch(`${connectUrl}&approve=true`, {redirect: 'manual'});
  assert.equal(connect.status, 302);
  const callback = new URL(connect.headers.get('location'), base);
  return fetch(`${base}${callback.pathname}${callback.search}`, {redirect: 'manual'});
}

async function until(what, attempt) {
  for (let i = 0; i < 100; ++i) {
    const value = await attempt();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  server = await startServer(env);
  base = server.base;
});

after(async () => {
  await server?.stop();
  rmSync(work, {recursive: true, force: true});
});

test('integration: connect a car, then read its latest telemetry and history', async () => {
  const token = await register('ev-driver@example.com');
  const auth = {Authorization: `Bearer ${token}`};
  const none = await fetch(`${base}/v1/ev/me/telemetry/latest`, {headers: auth});
  assert.equal(none.status, 404);
  assert.equal(typeof (await none.json()).detail, 'string');

  const {url} = await (await fetch(`${base}/v1/ev/connect`, {headers: auth})).json();
  assert.match(url, /^http/);
  const back = await approve(url);
  assert.ok(back.status < 400, await back.text());

  const latest = await until('telemetry', async () => {
    const res = await fetch(`${base}/v1/ev/me/telemetry/latest`, {headers: auth});
    return res.status === 200 ? res.json() : null;
  });
  assert.deepEqual(Object.keys(latest).sort(),
    ['charging_state', 'latitude', 'longitude', 'recorded_at', 'soc_pct']);
  assert.equal(typeof latest.soc_pct, 'number');
  assert.ok(!Number.isNaN(Date.parse(latest.recorded_at)));

  const vehicles = await (await fetch(`${base}/v1/ev/me/vehicles`, {headers: auth})).json();
  assert.ok(Array.isArray(vehicles) && vehicles.length >= 1);
  const history = await (await fetch(`${base}/v1/ev/me/telemetry/history?days=7`, {headers: auth})).json();
  assert.ok(Array.isArray(history) && history.some((row) => typeof row.soc_pct === 'number'));
});

test('webhook server: log in, receive a signed webhook, read the latest signals', async () => {
  const token = await register('fleet-owner@example.com');
  // /login is a link in a browser: the token rides in the query.
  const login = await fetch(`${base}/login?token=${encodeURIComponent(token)}`, {redirect: 'manual'});
  assert.equal(login.status, 302);
  const exchanged = await approve(login.headers.get('location'));
  assert.ok(exchanged.status < 400, await exchanged.text());

  const auth = {Authorization: `Bearer ${token}`};
  const listed = await (await fetch(`${base}/api/vehicles`, {headers: auth})).json();
  assert.equal(listed.total_vehicles, listed.vehicles.length);
  const vehicleId = listed.vehicles[0];
  assert.equal(typeof vehicleId, 'string');

  const recordedAt = Date.now() + 60_000;  // newer than the first poll's readings
  const body = JSON.stringify({
    eventId: `evt-${recordedAt}`,
    eventType: 'VEHICLE_STATE',
    data: {
      user: {id: 'user-1'},
      vehicle: {id: vehicleId, make: 'TESLA', model: 'Model 3', year: 2022},
      signals: [
        {code: 'tractionbattery-stateofcharge', name: 'StateOfCharge', group: 'TractionBattery',
          body: {unit: 'percent', value: 42}, meta: {oemUpdatedAt: recordedAt}, status: {value: 'SUCCESS'}},
        {code: 'location-preciselocation', name: 'PreciseLocation', group: 'Location',
          body: {latitude: 37.7749, longitude: -122.4194, heading: 0}, meta: {oemUpdatedAt: recordedAt},
          status: {value: 'SUCCESS'}},
      ],
    },
    triggers: [{type: 'SIGNAL_UPDATED'}],
    meta: {version: '4.0', webhookId: 'wh-1', deliveryId: `d-${recordedAt}`, deliveredAt: recordedAt,
      signalCount: 2, mode: 'TEST'},
  });
  const signature = createHmac('sha256', 'e2e').update(body).digest('hex');  // SMARTCAR_MANAGEMENT_TOKEN
  const forged = await fetch(`${base}/webhook`, {
    method: 'POST', headers: {'Content-Type': 'application/json', 'SC-Signature': '00'.repeat(32)}, body,
  });
  assert.equal(forged.status, 401);
  const delivered = await fetch(`${base}/webhook`, {
    method: 'POST', headers: {'Content-Type': 'application/json', 'SC-Signature': signature}, body,
  });
  assert.equal(delivered.status, 200);
  assert.equal((await delivered.json()).status, 'success');

  const signals = await until('the delivered signals', async () => {
    const res = await fetch(`${base}/api/vehicle/${vehicleId}/latest-signals`, {headers: auth});
    const json = await res.json();
    return json['TractionBattery.StateOfCharge']?.data?.value === 42 ? json : null;
  });
  assert.deepEqual(signals['TractionBattery.StateOfCharge'].data, {value: 42, unit: 'percent'});
  assert.equal(signals['Location.PreciseLocation'].data.latitude, 37.7749);
  assert.equal(new Date(signals['Location.PreciseLocation'].timestamp).getTime(), recordedAt);
  const location = await (await fetch(`${base}/api/vehicle/${vehicleId}/location`, {headers: auth})).json();
  assert.equal(location.vehicle_id, vehicleId);
  assert.equal(location.location.longitude, -122.4194);
});
