// The charging load balancer's clients against motorpool (MOTORPOOL_COMPAT=charging-balancer):
// plain fetch code written from the original's documentation only — a driver asks for a
// charging slot and an emergency charge, an operator reads the fleet, the grid cluster and the
// fairness figures. (motorpool's own API sets up the site, as an operator would.)
//   MOTORPOOL_BIN=build/motorpool node --test tests/e2e/
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {runCli, serverEnv, startServer} from './motorpool.mjs';

const work = mkdtempSync(join(tmpdir(), 'motorpool-compat-balancer-'));
const env = serverEnv(work, {MOTORPOOL_COMPAT: 'charging-balancer'});
let server;
let base;

async function api(method, path, token, body) {
  const headers = {Authorization: `Bearer ${token}`};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  return {status: res.status, body: text ? JSON.parse(text) : null};
}

async function login(email) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({email, password: 'correct horse battery'}),
  });
  return (await res.json()).access_token;
}

before(async () => {
  const created = runCli(env, ['users', 'create', '--email', 'ops@example.com', '--role', 'admin', '--password-stdin'],
    'correct horse battery\n');
  assert.equal(created.status, 0, String(created.stderr));
  server = await startServer(env);
  base = server.base;
});

after(async () => {
  await server?.stop();
  rmSync(work, {recursive: true, force: true});
});

test('a driver requests a slot and an emergency charge; the operator reads fleet, grid and fairness', async () => {
  const ops = await login('ops@example.com');
  const site = await api('POST', '/api/v1/grid/sites', ops, {name: 'Depot', time_zone: 'UTC'});
  assert.equal(site.status, 201);
  const cluster = await api('POST', '/api/v1/grid/clusters', ops, {name: 'Depot', capacity_kw: 100, site_id: site.body.id});
  assert.equal(cluster.status, 201);

  const registered = await fetch(`${base}/api/v1/auth/register`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({name: 'Dee', email: 'driver@example.com', password: 'correct horse battery'}),
  });
  assert.equal(registered.status, 201);
  const driver = await login('driver@example.com');
  const car = await api('POST', '/api/v1/vehicles', driver, {vin: '1HGCM82633A004352', make: 'Honda', model: 'e'});
  assert.equal(car.status, 201);

  // The balancer's API from here on.
  const slot = await api('POST', '/drivers/slot/request', driver, {
    vehicle_id: car.body.id, requested_start: new Date().toISOString(), duration_minutes: 120, energy_kwh: 15,
  });
  assert.equal(slot.status, 200, JSON.stringify(slot.body));
  assert.ok(['allocated', 'unavailable'].includes(slot.body.status));
  assert.equal(slot.body.slot.vehicle_id, car.body.id);
  assert.equal(slot.body.slot.grid_cluster_id, cluster.body.id);
  const invalid = await api('POST', '/drivers/slot/request', driver, {vehicle_id: car.body.id});
  assert.equal(invalid.status, 422);
  assert.ok(Array.isArray(invalid.body.detail));

  const emergency = await api('POST', '/drivers/emergency/request', driver, {vehicle_id: car.body.id, reason: 'Hospital run'});
  assert.equal(emergency.status, 200);
  assert.equal(typeof emergency.body.is_emergency, 'boolean');
  assert.equal(emergency.body.reason, 'Hospital run');

  const status = await api('GET', `/drivers/charging/status?vehicle_id=${car.body.id}`, driver);
  assert.equal(status.status, 404);
  assert.deepEqual(status.body, {detail: 'No active charging session'});

  const fleet = await api('GET', '/fleet/vehicles', ops);
  assert.equal(fleet.status, 200);
  assert.deepEqual(fleet.body.map((v) => [v.id, v.make, v.model]), [[car.body.id, 'Honda', 'e']]);
  const one = await api('GET', `/fleet/vehicle/${car.body.id}`, ops);
  assert.equal(one.body.id, car.body.id);

  const grid = await api('GET', '/grid/cluster', ops);
  assert.equal(grid.status, 200);
  assert.equal(grid.body.max_capacity_kw, 100);
  assert.equal(typeof grid.body.utilization_percent, 'number');
  assert.equal(typeof grid.body.available_capacity_kw, 'number');
  const fairness = await api('GET', '/analytics/fairness', ops);
  assert.equal(fairness.status, 200);
  assert.equal(typeof fairness.body.average_wait_time, 'number');
});
