// The rebalancer seen from strict ocpp-rpc 2.2.1 charge points (every payload checked against the
// OCPP 1.6 schemas by the client): two chargers on a 22 kW cluster receive SetChargingProfile
// limits whose sum never exceeds 22 kW, re-planned when a third car arrives and when one leaves.
// Then two server processes on one PostgreSQL, each holding one of the chargers: exactly one of
// them re-plans (the job's lease), and both chargers get their limits (each node sends to its own).
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
const work = mkdtempSync(join(tmpdir(), 'motorpool-ocpp-allocation-'));
const servers = [];

const env = (databaseUrl) => serverEnv(work, {DATABASE_URL: databaseUrl, SMARTCAR_SIM_WEBHOOK_URL: 'off'});

async function start(databaseUrl) {
  const server = await startServer(env(databaseUrl));
  servers.push(server);
  return Number(new URL(server.base).port);
}

after(async () => {
  for (const s of servers) await s.stop();
  rmSync(work, {recursive: true, force: true});
});

function admin(databaseUrl) {
  const created = runCli(env(databaseUrl), ['users', 'create', '--email', 'ops@alloc.test', '--role', 'admin',
    '--password-stdin'], 'alloc-admin-password\n');
  assert.equal(created.status, 0, String(created.stderr));
}

async function login(port) {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({email: 'ops@alloc.test', password: 'alloc-admin-password'}),
  });
  assert.equal(res.status, 200);
  return (await res.json()).access_token;
}

const api = (port, token) => async (method, path, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method, headers: {'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text};
};

/// What the chargers accepted: the limit in force per running connector (its TxProfile, else the
/// charger's TxDefaultProfile), and the largest sum ever in force.
class Grid {
  constructor() { this.running = new Map(); this.tx = new Map(); this.defaults = new Map(); this.maxSum = 0; this.failures = []; }
  key(id, connector) { return `${id}/${connector}`; }
  limit(id, connector) {
    const k = this.key(id, connector);
    if (!this.running.has(k)) return undefined;
    return this.tx.get(k) ?? this.defaults.get(id) ?? 22;
  }
  check() {
    let sum = 0;
    for (const k of this.running.keys()) sum += this.limit(...k.split('/'));
    this.maxSum = Math.max(this.maxSum, sum);
  }
  async charger(port, id, password) {
    const cp = new RPCClient({
      endpoint: `ws://127.0.0.1:${port}/ocpp`, identity: id, password,
      protocols: ['ocpp1.6'], strictMode: true, reconnect: false,
    });
    cp.on('strictValidationFailure', (e) => this.failures.push(e));
    cp.handle('SetChargingProfile', ({params}) => {
      const p = params.csChargingProfiles;
      const period = p.chargingSchedule.chargingSchedulePeriod[0];
      assert.equal(p.chargingSchedule.chargingRateUnit, 'A');
      const kw = period.limit * 230 * (period.numberPhases ?? 3) / 1000;
      if (p.chargingProfilePurpose === 'TxDefaultProfile') {
        this.defaults.set(id, kw);
      } else {
        const k = this.key(id, params.connectorId);
        if (this.running.get(k) !== p.transactionId) return {status: 'Rejected'};
        this.tx.set(k, kw);
      }
      this.check();
      return {status: 'Accepted'};
    });
    await cp.connect();
    const boot = await cp.call('BootNotification', {chargePointVendor: 'E2E', chargePointModel: 'Strict'});
    assert.equal(boot.status, 'Accepted');
    return cp;
  }
  async start(cp, id, connector, tag) {
    const started = await cp.call('StartTransaction', {connectorId: connector, idTag: tag, meterStart: 0, timestamp: new Date().toISOString()});
    this.running.set(this.key(id, connector), started.transactionId);
    this.check();
    await cp.call('StatusNotification', {connectorId: connector, errorCode: 'NoError', status: 'Charging'});
    return started.transactionId;
  }
  async stop(cp, id, connector, transactionId) {
    this.running.delete(this.key(id, connector));
    this.tx.delete(this.key(id, connector));
    await cp.call('StopTransaction', {transactionId, meterStop: 1000, timestamp: new Date().toISOString()});
    await cp.call('StatusNotification', {connectorId: connector, errorCode: 'NoError', status: 'Available'});
  }
}

async function until(what, predicate, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function site(call) {
  const cluster = await call('POST', '/api/v1/grid/clusters', {name: 'Depot', capacity_kw: 22});
  assert.equal(cluster.status, 201, JSON.stringify(cluster.body));
  const passwords = {};
  for (const id of ['ALLOC-A', 'ALLOC-B']) {
    const c = await call('POST', '/api/v1/chargers', {id, cluster_id: cluster.body.id, max_power_kw: 22, connectors: 2});
    assert.equal(c.status, 201, JSON.stringify(c.body));
    passwords[id] = c.body.ocpp_password;
  }
  for (const tag of ['T1', 'T2', 'T3']) assert.equal((await call('POST', '/api/v1/charging/id-tags', {id_tag: tag})).status, 201);
  return {cluster: cluster.body.id, passwords};
}

test('strict chargers on 22 kW: the limits never sum above it as cars arrive and leave', async () => {
  const url = `sqlite:///${work}/alloc.db`;
  admin(url);
  const port = await start(url);
  const call = api(port, await login(port));
  const {cluster, passwords} = await site(call);
  const grid = new Grid();
  const a = await grid.charger(port, 'ALLOC-A', passwords['ALLOC-A']);
  const b = await grid.charger(port, 'ALLOC-B', passwords['ALLOC-B']);
  await until('the default profiles', () => grid.defaults.size === 2);

  const t1 = await grid.start(a, 'ALLOC-A', 1, 'T1');
  await until('car 1 alone gets (almost) everything', () => grid.limit('ALLOC-A', 1) > 21);
  await grid.start(b, 'ALLOC-B', 1, 'T2');
  await until('car 2 gets a share', () => grid.limit('ALLOC-B', 1) > 4 && grid.limit('ALLOC-A', 1) + grid.limit('ALLOC-B', 1) > 21);
  await grid.start(a, 'ALLOC-A', 2, 'T3');
  await until('three share', () => [['ALLOC-A', 1], ['ALLOC-A', 2], ['ALLOC-B', 1]].every(([c, k]) => grid.limit(c, k) > 4));
  const before = grid.limit('ALLOC-A', 2) + grid.limit('ALLOC-B', 1);
  await grid.stop(a, 'ALLOC-A', 1, t1);
  await until('the others rise into the leaver\'s share', () => grid.limit('ALLOC-A', 2) + grid.limit('ALLOC-B', 1) > before + 3);
  assert.ok(grid.maxSum <= 22 + 1e-9, `limits in force summed to ${grid.maxSum} kW`);
  assert.deepEqual(grid.failures, []);

  const detail = await call('GET', `/api/v1/grid/clusters/${cluster}`);
  assert.equal(detail.status, 200);
  assert.equal(detail.body.allocation.cars.length, 2);
  assert.ok(detail.body.allocation.allocated_kw <= 22 + 1e-9);
  await a.close();
  await b.close();
});

test('two nodes on one PostgreSQL: one re-plans, each sends to its own chargers', {skip: !process.env.MOTORPOOL_TEST_PG_URL}, async () => {
  const base = process.env.MOTORPOOL_TEST_PG_URL;
  const name = `ocpp_alloc_${process.pid}_${Date.now()}`;
  const made = spawnSync('psql', [base, '-qc', `CREATE DATABASE ${name}`], {encoding: 'utf8'});
  assert.equal(made.status, 0, made.stderr);
  const url = base.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  try {
    admin(url);
    const [one, two] = await Promise.all([start(url), start(url)]);
    const call = api(one, await login(one));
    const {passwords} = await site(call);
    const grid = new Grid();
    const a = await grid.charger(one, 'ALLOC-A', passwords['ALLOC-A']);
    const b = await grid.charger(two, 'ALLOC-B', passwords['ALLOC-B']);
    await until('the default profiles', () => grid.defaults.size === 2);
    await grid.start(a, 'ALLOC-A', 1, 'T1');
    await grid.start(b, 'ALLOC-B', 1, 'T2');
    await until('both cars get their limits', () =>
      grid.limit('ALLOC-A', 1) > 4 && grid.limit('ALLOC-B', 1) > 4 && grid.limit('ALLOC-A', 1) + grid.limit('ALLOC-B', 1) > 21);
    assert.ok(grid.maxSum <= 22 + 1e-9, `limits in force summed to ${grid.maxSum} kW`);
    assert.deepEqual(grid.failures, []);

    const runs = async (port) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const m = /motorpool_job_runs_total\{job="charging\.rebalance"\} (\d+)/.exec(text);
      return m ? Number(m[1]) : 0;
    };
    const [r1, r2] = [await runs(one), await runs(two)];
    assert.ok((r1 > 0) !== (r2 > 0), `re-plans per node: ${r1} and ${r2}`);
    await a.close();
    await b.close();
  } finally {
    for (const s of servers) await s.stop();
    spawnSync('psql', [base, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], {encoding: 'utf8'});
  }
});
