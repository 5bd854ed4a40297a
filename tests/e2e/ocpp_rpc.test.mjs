// ocpp-rpc 2.2.1 (pinned in package-lock.json) as a strict OCPP 1.6 charge point against motorpool's
// central system: every payload both ways is checked against the OCPP 1.6 schemas by the client;
// one strict-mode failure fails the test. Boot, status, authorise, start, meter values, a
// SetChargingProfile sent by motorpool, stop.
//   MOTORPOOL_BIN=build/motorpool node --test tests/e2e/
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import ocppRpc from 'ocpp-rpc';

import {runCli, serverEnv, startServer} from './motorpool.mjs';

const {RPCClient} = ocppRpc;
const bin = process.env.MOTORPOOL_BIN;
assert.ok(bin, 'set MOTORPOOL_BIN to the motorpool binary');

let server;
let base;
let port;
let work;
let token;

const env = () => serverEnv(work, {DATABASE_URL: `sqlite:///${work}/ocpp.db`, SMARTCAR_SIM_WEBHOOK_URL: 'off'});

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: {'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {status: res.status, body: text ? JSON.parse(text) : null};
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'motorpool-ocpp-e2e-'));
  const created = runCli(env(), ['users', 'create', '--email', 'ops@e2e.test', '--role', 'admin', '--password-stdin'],
    'e2e-admin-password\n');
  assert.equal(created.status, 0, String(created.stderr));
  server = await startServer(env());
  base = server.base;
  port = Number(new URL(base).port);
  const login = await fetch(base + '/api/v1/auth/login', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({email: 'ops@e2e.test', password: 'e2e-admin-password'}),
  });
  assert.equal(login.status, 200);
  token = (await login.json()).access_token;
});

after(async () => {
  await server?.stop();
  if (work) rmSync(work, {recursive: true, force: true});
});

test('a strict ocpp-rpc charge point runs a whole session with zero schema failures', async () => {
  const charger = await api('POST', '/api/v1/chargers', {id: 'E2E CP 1', max_power_kw: 22, connectors: 2});
  assert.equal(charger.status, 201, JSON.stringify(charger.body));
  assert.equal((await api('POST', '/api/v1/charging/id-tags', {id_tag: 'E2E-TAG'})).status, 201);

  const failures = [];
  const cp = new RPCClient({
    endpoint: `ws://127.0.0.1:${port}/ocpp`,
    identity: 'E2E CP 1',  // a space: percent-encoded in the path
    password: charger.body.ocpp_password,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
  });
  cp.on('strictValidationFailure', (e) => failures.push(e));
  let profile;
  cp.handle('SetChargingProfile', ({params}) => {
    profile = params;
    return {status: 'Accepted'};
  });
  await cp.connect();
  assert.equal(cp.protocol, 'ocpp1.6');

  const boot = await cp.call('BootNotification', {chargePointVendor: 'E2E', chargePointModel: 'Strict'});
  assert.equal(boot.status, 'Accepted');
  assert.equal(typeof boot.interval, 'number');
  await cp.call('StatusNotification', {connectorId: 1, errorCode: 'NoError', status: 'Preparing'});
  const auth = await cp.call('Authorize', {idTag: 'E2E-TAG'});
  assert.equal(auth.idTagInfo.status, 'Accepted');
  const start = await cp.call('StartTransaction', {
    connectorId: 1, idTag: 'E2E-TAG', meterStart: 0, timestamp: new Date().toISOString(),
  });
  assert.equal(start.idTagInfo.status, 'Accepted');
  assert.ok(Number.isInteger(start.transactionId));
  await cp.call('MeterValues', {
    connectorId: 1, transactionId: start.transactionId,
    meterValue: [{timestamp: new Date().toISOString(), sampledValue: [
      {value: '1500'}, {value: '7.4', measurand: 'Power.Active.Import', unit: 'kW'},
    ]}],
  });

  // motorpool sends a TxProfile for the transaction: 16 A.
  const sent = await api('POST', `/api/v1/chargers/${encodeURIComponent('E2E CP 1')}/ocpp/SetChargingProfile`, {
    connectorId: 1,
    csChargingProfiles: {
      chargingProfileId: 1, transactionId: start.transactionId, stackLevel: 0,
      chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Absolute',
      chargingSchedule: {chargingRateUnit: 'A', startSchedule: new Date(Date.now() - 1000).toISOString(),
        chargingSchedulePeriod: [{startPeriod: 0, limit: 16.0}]},
    },
  });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  assert.equal(sent.body.status, 'Accepted');
  assert.equal(profile.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit, 16);

  const stop = await cp.call('StopTransaction', {
    transactionId: start.transactionId, meterStop: 4200, timestamp: new Date().toISOString(), idTag: 'E2E-TAG',
    reason: 'EVDisconnected',
  });
  assert.equal(stop.idTagInfo.status, 'Accepted');
  await cp.call('Heartbeat', {});
  await cp.close();

  assert.deepEqual(failures, [], 'strict-mode validation failures');
  const sessions = await api('GET', '/api/v1/charging/sessions');
  assert.equal(sessions.status, 200);
  assert.equal(sessions.body.items[0].energy_wh, 4200);
  assert.equal(sessions.body.items[0].status, 'completed');
});
