// Durability of OCPP transactions: every StartTransaction and StopTransaction the central system
// answered is in the database after `kill -9` and a restart (they are committed before their
// CALLRESULT), and a StartTransaction re-sent after the restart gets the same transactionId.
// On SQLite, and on PostgreSQL when MOTORPOOL_TEST_PG_URL names one (make test starts it).
//   MOTORPOOL_BIN=build/motorpool node --test tests/e2e/
import {test, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import ocppRpc from 'ocpp-rpc';

import {runCli, serverEnv, startServer} from './motorpool.mjs';

const {RPCClient} = ocppRpc;
const bin = process.env.MOTORPOOL_BIN;
assert.ok(bin, 'set MOTORPOOL_BIN to the motorpool binary');
const work = mkdtempSync(join(tmpdir(), 'motorpool-ocpp-kill9-'));
let server;
let databaseUrl;

const env = () => serverEnv(work, {DATABASE_URL: databaseUrl, SMARTCAR_SIM_WEBHOOK_URL: 'off'});

async function start() {
  server = await startServer(env());
  return Number(new URL(server.base).port);
}

async function api(port, token, method, path, body) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method, headers: {'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {status: res.status, body: await res.json().catch(() => null)};
}

async function login(port) {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({email: 'ops@kill9.test', password: 'kill9-admin-password'}),
  });
  return (await res.json()).access_token;
}

after(() => {
  server?.kill('SIGKILL');
  rmSync(work, {recursive: true, force: true});
});

async function killNine() {
  const created = runCli(env(), ['users', 'create', '--email', 'ops@kill9.test', '--role', 'admin',
    '--password-stdin'], 'kill9-admin-password\n');
  assert.equal(created.status, 0, String(created.stderr));
  let port = await start();
  let token = await login(port);
  const charger = await api(port, token, 'POST', '/api/v1/chargers', {id: 'KILL9', max_power_kw: 22, connectors: 1});
  assert.equal(charger.status, 201);
  assert.equal((await api(port, token, 'POST', '/api/v1/charging/id-tags', {id_tag: 'K9'})).status, 201);

  const cp = new RPCClient({
    endpoint: `ws://127.0.0.1:${port}/ocpp`, identity: 'KILL9', password: charger.body.ocpp_password,
    protocols: ['ocpp1.6'], strictMode: true, reconnect: false, callTimeoutMs: 5000,
  });
  await cp.connect();
  await cp.call('BootNotification', {chargePointVendor: 'K9', chargePointModel: 'K9'});
  const acknowledged = [];  // {id, stopped}
  let meter = 0;
  let last;
  const killAt = Date.now() + 1500;
  let killed = false;
  try {
    for (let i = 0; ; ++i) {
      if (!killed && Date.now() >= killAt) {
        killed = true;
        server.kill('SIGKILL');  // mid-stream: a call may be in flight
      }
      const startPayload = {connectorId: 1, idTag: 'K9', meterStart: meter, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()};
      last = startPayload;
      const started = await cp.call('StartTransaction', startPayload);
      const entry = {id: started.transactionId, stopped: false, meterStop: meter + 100};
      acknowledged.push(entry);
      meter += 100;
      await cp.call('StopTransaction', {transactionId: entry.id, meterStop: meter, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i, 500)).toISOString()});
      entry.stopped = true;
    }
  } catch {
    // the server died under the charger
  }
  cp.close({force: true}).catch(() => {});
  assert.ok(killed && acknowledged.length > 5, `only ${acknowledged.length} transactions before the kill`);

  port = await start();
  token = await login(port);
  const sessions = await api(port, token, 'GET', '/api/v1/charging/sessions?page_size=100');
  assert.equal(sessions.status, 200);
  let all = [...sessions.body.items];
  for (let page = 2; page <= sessions.body.total_pages; ++page) {
    all = all.concat((await api(port, token, 'GET', `/api/v1/charging/sessions?page_size=100&page=${page}`)).body.items);
  }
  const byId = new Map(all.map((s) => [s.transaction_id, s]));
  for (const entry of acknowledged) {
    const s = byId.get(entry.id);
    assert.ok(s, `acknowledged transaction ${entry.id} lost`);
    if (entry.stopped) {
      assert.equal(s.stop_reason, 'Local', `acknowledged stop of ${entry.id} lost`);
      assert.equal(s.energy_wh, 100);
    }
  }
  // The last StartTransaction, re-sent to the restarted server, gets its transaction back if it was stored.
  const cp2 = new RPCClient({
    endpoint: `ws://127.0.0.1:${port}/ocpp`, identity: 'KILL9', password: charger.body.ocpp_password,
    protocols: ['ocpp1.6'], strictMode: true, reconnect: false,
  });
  await cp2.connect();
  const again = await cp2.call('StartTransaction', last);
  const lastAck = acknowledged.at(-1);
  if (lastAck && !lastAck.stopped) {
    assert.equal(again.transactionId, lastAck.id);
  }
  await cp2.close();
}

test('acknowledged transactions survive kill -9 (SQLite)', async () => {
  databaseUrl = `sqlite:///${work}/kill9.db`;
  await killNine();
  server.kill('SIGKILL');
});

test('acknowledged transactions survive kill -9 (PostgreSQL)', {skip: !process.env.MOTORPOOL_TEST_PG_URL}, async () => {
  // A database of its own on the PostgreSQL the test command started.
  const base = process.env.MOTORPOOL_TEST_PG_URL;
  const name = `ocpp_kill9_${process.pid}_${Date.now()}`;
  const made = spawnSync('psql', [base, '-qc', `CREATE DATABASE ${name}`], {encoding: 'utf8'});
  assert.equal(made.status, 0, made.stderr);
  databaseUrl = base.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  try {
    await killNine();
  } finally {
    server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    spawnSync('psql', [base, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], {encoding: 'utf8'});
  }
});

