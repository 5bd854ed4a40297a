// Smartcar's official Node SDK (smartcar 10.4.0, pinned in package-lock.json) against motorpool's
// simulator, through the SDK's own origin variables: if the SDK can tell the simulator from
// Smartcar on these paths, this fails. Also the SDK's webhook helpers against our webhook endpoint
// and the simulator's emitter.
//   MOTORPOOL_BIN=build/motorpool node --test tests/e2e/
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {createServer} from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {serverEnv, startServer} from './motorpool.mjs';

const bin = process.env.MOTORPOOL_BIN;
assert.ok(bin, 'set MOTORPOOL_BIN to the motorpool binary');

const CLIENT_ID = 'e2e-client-id';
const CLIENT_SECRET = 'e2e-client-secret';
const AMT = 'amt';  // so that the SDK's own test vector applies
const REDIRECT = 'http://localhost:8000/callback';
const SIM_WEBHOOK_ID = '6f1c2a4e-8b3d-4e5f-9a7b-2c1d0e9f8a7b';  // the simulator's webhook
const SCOPES = ['read_vehicle_info', 'read_vin', 'read_location', 'read_odometer', 'read_battery', 'read_charge',
  'control_charge', 'read_security'];

let server;
let base;
let work;
let smartcar;
const deliveries = [];  // what the simulator's emitter sent to our listener
let listener;

before(async () => {
  // The SDK reads its origin variables when it is called (AuthClient: when constructed).
  smartcar = (await import('smartcar')).default;
  // A listener standing in for an application's webhook endpoint.
  listener = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      deliveries.push({headers: req.headers, body});
      const parsed = JSON.parse(body);
      res.setHeader('Content-Type', 'application/json');
      if (parsed.eventType === 'VERIFY') {
        res.end(JSON.stringify({challenge: smartcar.hashChallenge(AMT, parsed.data.challenge)}));
      } else {
        res.end('{}');
      }
    });
  });
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const hook = `http://127.0.0.1:${listener.address().port}/hook`;

  work = mkdtempSync(join(tmpdir(), 'motorpool-e2e-'));
  server = await startServer(serverEnv(work, {
    DATABASE_URL: `sqlite:///${work}/e2e.db`,
    SMARTCAR_MODE: 'simulated',
    SMARTCAR_CLIENT_ID: CLIENT_ID,
    SMARTCAR_CLIENT_SECRET: CLIENT_SECRET,
    SMARTCAR_MANAGEMENT_TOKEN: AMT,
    SMARTCAR_REDIRECT_URI: REDIRECT,
    SMARTCAR_SIM_WEBHOOK_URL: hook,
    SMARTCAR_SIM_WEBHOOK_INTERVAL: '300ms',
  }));
  base = server.base;
  const origin = `${base}/sim/smartcar`;
  process.env.SMARTCAR_API_ORIGIN = origin;
  process.env.SMARTCAR_AUTH_ORIGIN = origin;
  process.env.SMARTCAR_MANAGEMENT_API_ORIGIN = origin;
  process.env.SMARTCAR_API_V3_ORIGIN = origin;
});

after(async () => {
  await server?.stop();
  listener?.close();
  if (work) {
    rmSync(work, {recursive: true, force: true});
  }
});

async function connect(client, options = {}) {
  const url = client.getAuthUrl(SCOPES, {state: 'e2e-state', ...options});
  const approved = await fetch(`${url}&approve=true`, {redirect: 'manual'});
  assert.equal(approved.status, 302);
  const location = new URL(approved.headers.get('location'));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
  assert.equal(location.searchParams.get('state'), 'e2e-state');
  return client.exchangeCode(location.searchParams.get('code'));
}

test('the SDK connects, reads and refreshes against the simulator', async () => {
  const client = new smartcar.AuthClient({
    clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: REDIRECT, mode: 'simulated'});
  const url = client.getAuthUrl(SCOPES, {state: 'e2e-state', forcePrompt: true});
  assert.ok(url.startsWith(`${base}/sim/smartcar/oauth/authorize?response_type=code&client_id=${CLIENT_ID}`), url);
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Approve/);

  const access = await connect(client);
  assert.equal(access.accessToken.length, 36);
  assert.ok(access.expiration instanceof Date && access.expiration > new Date());
  assert.ok(access.refreshExpiration > access.expiration);

  const {vehicles, paging} = await smartcar.getVehicles(access.accessToken);
  assert.ok(vehicles.length >= 1 && vehicles.length <= 3);
  assert.equal(paging.count, vehicles.length);
  const user = await smartcar.getUser(access.accessToken);
  assert.equal(user.id.length, 36);

  const vehicle = new smartcar.Vehicle(vehicles[0], access.accessToken);
  const attributes = await vehicle.attributes();
  assert.equal(attributes.id, vehicles[0]);
  assert.equal(typeof attributes.make, 'string');
  assert.equal(typeof attributes.year, 'number');
  assert.equal(attributes.meta.requestId.length, 36);
  const {vin} = await vehicle.vin();
  assert.match(vin, /^[A-HJ-NPR-Z0-9]{17}$/);
  const location = await vehicle.location();
  assert.ok(Math.abs(location.latitude) <= 90 && Math.abs(location.longitude) <= 180);
  assert.ok(location.meta.dataAge instanceof Date);
  const battery = await vehicle.battery();
  assert.ok(battery.percentRemaining >= 0 && battery.percentRemaining <= 1, 'v2 reports a fraction');
  assert.ok(battery.range > 0);
  const odometer = await vehicle.odometer();
  assert.ok(odometer.distance > 0);
  assert.equal(odometer.meta.unitSystem, 'metric');
  const charge = await vehicle.charge();
  assert.equal(typeof charge.isPluggedIn, 'boolean');
  assert.ok(['CHARGING', 'FULLY_CHARGED', 'NOT_CHARGING'].includes(charge.state));
  const limit = await vehicle.setChargeLimit(0.9);  // the SDK sends the limit as a string
  assert.equal(limit.status, 'success');
  assert.equal((await vehicle.getChargeLimit()).limit, 0.9);

  const batch = await vehicle.batch(['/battery', '/charge', '/odometer', '/fuel']);
  assert.equal(batch.battery().percentRemaining, battery.percentRemaining);
  assert.equal(typeof batch.charge().isPluggedIn, 'boolean');
  assert.ok(batch.odometer().distance >= odometer.distance);
  assert.throws(() => batch.fuel(), (err) => err.type === 'PERMISSION');  // read_fuel was not granted

  // Smartcar's error shape, as the SDK parses it.
  const stranger = new smartcar.Vehicle(vehicles[0], '00000000-0000-4000-8000-000000000000');
  await assert.rejects(stranger.battery(), (err) => {
    assert.equal(err.statusCode, 401);
    assert.equal(err.type, 'AUTHENTICATION');
    assert.equal(err.requestId.length, 36);
    return true;
  });

  const refreshed = await client.exchangeRefreshToken(access.refreshToken);
  assert.notEqual(refreshed.accessToken, access.accessToken);
  assert.notEqual(refreshed.refreshToken, access.refreshToken);
  const again = new smartcar.Vehicle(vehicles[0], refreshed.accessToken);
  assert.equal((await again.attributes()).id, vehicles[0]);
  await assert.rejects(client.exchangeRefreshToken('00000000-0000-4000-8000-000000000000'),
      (err) => err.statusCode === 400);

  const connections = await smartcar.getConnections(AMT, {userId: user.id});
  assert.ok(connections.connections.some((c) => c.vehicleId === vehicles[0]));
});

test('the SDK\'s webhook helpers agree with our endpoint and the simulator\'s emitter', async () => {
  assert.equal(smartcar.hashChallenge('amt', 'challenge'),
      '9baf5a7464bd86740ad5a06e439dcf535a075022ed2c92d74efacf646d79328e');
  assert.ok(smartcar.verifyPayload('amt', '4c05a8da471f05156ad717baa4017acd13a3a809850b9ca7d3301dcaaa854f70',
      {pizza: 'pasta'}));

  // Our endpoint answers VERIFY as the SDK computes it...
  const verify = await fetch(`${base}/webhooks/smartcar`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({eventId: 'v1', eventType: 'VERIFY', data: {challenge: 'e2e-challenge'},
      meta: {version: '4.0', webhookId: 'w', deliveryId: 'd', deliveredAt: Date.now()}}),
  });
  assert.equal(verify.status, 200);
  assert.equal((await verify.json()).challenge, smartcar.hashChallenge(AMT, 'e2e-challenge'));
  // ...and accepts what an application signs the way the SDK verifies (JSON.stringify of the payload).
  const payload = {eventId: 'sdk-1', eventType: 'VEHICLE_STATE', data: {vehicle: {id: 'nobody'}, signals: []},
    meta: {version: '4.0', deliveredAt: Date.now()}};
  const post = (signature) => fetch(`${base}/webhooks/smartcar`, {
    method: 'POST', headers: {'Content-Type': 'application/json', 'SC-Signature': signature},
    body: JSON.stringify(payload),
  });
  assert.equal((await post(smartcar.hashChallenge(AMT, JSON.stringify(payload)))).status, 200);
  assert.equal((await post(smartcar.hashChallenge('other', JSON.stringify(payload)))).status, 401);

  // The emitter: VERIFY first, then signed deliveries for a subscribed vehicle that the SDK's
  // verifyPayload accepts (it re-serialises the parsed body, so the bytes must be JSON.stringify's).
  const client = new smartcar.AuthClient({
    clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: REDIRECT, mode: 'simulated'});
  const access = await connect(client, {singleSelect: {enabled: true}});
  const {vehicles} = await smartcar.getVehicles(access.accessToken);
  assert.equal(vehicles.length, 1);
  const subscribed = await new smartcar.Vehicle(vehicles[0], access.accessToken).subscribe(SIM_WEBHOOK_ID);
  assert.equal(subscribed.vehicleId, vehicles[0]);
  const deadline = Date.now() + 10000;
  let state;
  while (!state && Date.now() < deadline) {
    state = deliveries.find((d) => JSON.parse(d.body).eventType === 'VEHICLE_STATE' &&
      JSON.parse(d.body).data.vehicle.id === vehicles[0]);
    if (!state) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.ok(state, 'a VEHICLE_STATE delivery arrived');
  assert.equal(JSON.parse(deliveries[0].body).eventType, 'VERIFY');
  assert.ok(smartcar.verifyPayload(AMT, state.headers['sc-signature'], JSON.parse(state.body)));
  assert.equal(state.body, JSON.stringify(JSON.parse(state.body)), 'compact JSON, as JSON.stringify writes it');
  const body = JSON.parse(state.body);
  assert.equal(body.meta.version, '4.0');
  assert.equal(body.meta.signalCount, body.data.signals.length);
  const soc = body.data.signals.find((s) => s.code === 'tractionbattery-stateofcharge');
  assert.ok(soc.body.value >= 0 && soc.body.value <= 100, 'signals carry percent');
  await new smartcar.Vehicle(vehicles[0], access.accessToken).unsubscribe(AMT, SIM_WEBHOOK_ID);
});
