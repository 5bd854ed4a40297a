// The vehicle catalog's clients against motorpool (MOTORPOOL_COMPAT=vehicle-catalog): plain fetch
// code written from the original FastAPI catalog's documentation only — add vehicles as staff,
// then list and page the catalog without a token, read one by VIN, and get FastAPI's errors.
//   MOTORPOOL_BIN=build/motorpool node --test tests/e2e/
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {runCli, serverEnv, startServer} from './motorpool.mjs';

const bin = process.env.MOTORPOOL_BIN;  // (motorpool.mjs runs it)
assert.ok(bin, 'set MOTORPOOL_BIN to the motorpool binary');
const work = mkdtempSync(join(tmpdir(), 'motorpool-catalog-'));
const env = serverEnv(work, {MOTORPOOL_COMPAT: 'vehicle-catalog'});
let server;
let base;
let staffToken;

/// A VIN with a valid check digit (ISO 3779: transliteration, weights, mod 11).
function vin(serial) {
  const body = `5YJ3E1EA${'0'}M${'A'}${String(serial).padStart(6, '0')}`.split('');
  const values = {A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9,
    S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9};
  const weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
  const sum = body.reduce((s, c, i) => s + (/\d/.test(c) ? Number(c) : values[c]) * weights[i], 0);
  body[8] = sum % 11 === 10 ? 'X' : String(sum % 11);
  return body.join('');
}

before(async () => {
  const created = runCli(env, ['users', 'create', '--email', 'staff@example.com', '--role', 'admin',
    '--password-stdin'], 'correct horse battery\n');
  assert.equal(created.status, 0, String(created.stderr));
  server = await startServer(env);
  base = server.base;
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({email: 'staff@example.com', password: 'correct horse battery'}),
  });
  staffToken = (await login.json()).access_token;
});

after(async () => {
  await server?.stop();
  rmSync(work, {recursive: true, force: true});
});

test('the catalog is filled by staff, then listed, paged and read without a token', async () => {
  for (let i = 1; i <= 25; ++i) {
    const res = await fetch(`${base}/api/vehicles`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'Authorization': `Bearer ${staffToken}`},
      body: JSON.stringify({vin: vin(i), make: 'Tesla', model: 'Model 3', year: 2021}),
    });
    assert.equal(res.status, 201, await res.text());
  }
  const first = await (await fetch(`${base}/api/vehicles?page=1&page_size=10`)).json();
  assert.deepEqual(Object.keys(first).sort(), ['items', 'page', 'page_size', 'total', 'total_pages']);
  assert.equal(first.total, 25);
  assert.equal(first.total_pages, 3);
  assert.equal(first.items.length, 10);
  const seen = new Set();
  for (let page = 1; page <= first.total_pages; ++page) {
    const body = await (await fetch(`${base}/api/vehicles?page=${page}&page_size=10`)).json();
    assert.equal(body.page, page);
    for (const v of body.items) seen.add(v.vin);
  }
  assert.equal(seen.size, 25);  // every vehicle once across the pages

  const one = await fetch(`${base}/api/vehicles/${vin(7)}`);
  assert.equal(one.status, 200);
  assert.equal((await one.json()).vin, vin(7));
  const missing = await fetch(`${base}/api/vehicles/${vin(99)}`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), {detail: 'Vehicle not found'});
  const duplicate = await fetch(`${base}/api/vehicles`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'Authorization': `Bearer ${staffToken}`},
    body: JSON.stringify({vin: vin(1), make: 'Tesla', model: 'Model 3'}),
  });
  assert.equal(duplicate.status, 409);
  assert.equal(typeof (await duplicate.json()).detail, 'string');
  const anonymous = await fetch(`${base}/api/vehicles`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({vin: vin(30), make: 'Tesla', model: 'Model Y'}),
  });
  assert.equal(anonymous.status, 401);
});
