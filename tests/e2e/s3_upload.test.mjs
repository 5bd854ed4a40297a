// An upload through motorpool's S3 presigned URL to an S3-compatible server (npm s3rver 3.7.1,
// pinned in package-lock.json), as a mobile client makes it: presign, PUT straight to the bucket,
// POST /complete (motorpool's SigV4 HEAD and ranged GET), the download through the presigned GET,
// deletion. s3rver checks the access key and the expiry of a V4 presigned URL but not its
// signature; the signature itself is proven byte for byte against botocore in the unit tests.
//   MOTORPOOL_BIN=build/motorpool node --test tests/e2e/
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import S3rver from 's3rver';

import {serverEnv, startServer} from './motorpool.mjs';

const bin = process.env.MOTORPOOL_BIN;  // (motorpool.mjs runs it)
assert.ok(bin, 'set MOTORPOOL_BIN to the motorpool binary');
const BUCKET = 'motorpool-e2e';
const work = mkdtempSync(join(tmpdir(), 'motorpool-s3-'));
let s3;
let s3Base;
let server;
let base;
let token;

/// A PNG signature and IHDR chunk (what libmagic reads), padded to `size` bytes.
function png(size) {
  const head = Buffer.from('89504e470d0a1a0a0000000d4948445200000010000000100806000000' + '1ff3ff61', 'hex');
  const bytes = Buffer.alloc(size);
  head.copy(bytes);
  for (let i = head.length; i < size; ++i) bytes[i] = (i * 7) % 251;
  return bytes;
}

async function api(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {'Authorization': `Bearer ${token}`, ...(body ? {'Content-Type': 'application/json'} : {})},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return {status: res.status, body: text ? JSON.parse(text) : null};
}

before(async () => {
  s3 = new S3rver({
    address: '127.0.0.1', port: 0, silent: true, directory: join(work, 's3'),
    configureBuckets: [{name: BUCKET}],
  });
  const {port: s3Port} = await s3.run();
  s3Base = `http://127.0.0.1:${s3Port}`;

  // The original service's names (django-storages).
  server = await startServer(serverEnv(work, {
    USE_S3: 'True',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_STORAGE_BUCKET_NAME: BUCKET,
    AWS_S3_REGION_NAME: 'eu-central-1',
    AWS_S3_ENDPOINT_URL: s3Base,
    AWS_S3_PRESIGNED_URL_EXPIRATION: '600',
  }));
  base = server.base;
  const registered = await fetch(`${base}/api/v1/auth/register`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({name: 'S3 Member', email: 's3@example.com', password: 'correct horse battery'}),
  });
  assert.equal(registered.status, 201);
  token = (await registered.json()).access_token;
});

after(async () => {
  await server?.stop();
  await s3?.close();
  rmSync(work, {recursive: true, force: true});
});

async function presign(filename, size, type = 'image/png') {
  const r = await api('POST', '/api/v1/files/presign',
    {filename, content_type: type, size_bytes: size, purpose: 'vehicle_photo'});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('a file goes to the bucket through the presigned URL and is checked, read and deleted', async () => {
  const bytes = png(300_000);
  const p = await presign('front left é+$.png', bytes.length);
  assert.equal(p.storage, 's3');
  assert.equal(p.method, 'PUT');
  assert.ok(p.url.startsWith(`${s3Base}/${BUCKET}/uploads/${p.file_id}/front%20left%20%C3%A9%2B%24.png?`), p.url);
  assert.match(p.url, /X-Amz-Credential=S3RVER%2F\d{8}%2Feu-central-1%2Fs3%2Faws4_request/);
  assert.match(p.url, /X-Amz-Expires=600&/);
  assert.deepEqual(p.headers, {'Content-Type': 'image/png', 'Content-Length': String(bytes.length)});

  // Not uploaded yet.
  assert.equal((await api('POST', p.complete_url)).status, 409);

  const put = await fetch(p.url, {method: 'PUT', headers: p.headers, body: bytes});
  assert.equal(put.status, 200, await put.text());

  const done = await api('POST', p.complete_url);
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(done.body.status, 'ready');
  assert.equal(done.body.size_bytes, bytes.length);
  assert.equal(done.body.storage, 's3');
  // Completing twice is harmless.
  assert.equal((await api('POST', p.complete_url)).body.status, 'ready');

  const meta = await api('GET', `/api/v1/files/${p.file_id}`);
  assert.equal(meta.status, 200);
  assert.ok(meta.body.download_url.startsWith(`${s3Base}/${BUCKET}/uploads/${p.file_id}/`), meta.body.download_url);
  const download = await fetch(meta.body.download_url);
  assert.equal(download.status, 200);
  assert.deepEqual(Buffer.from(await download.arrayBuffer()), bytes);
  assert.equal(download.headers.get('content-disposition'),
    "attachment; filename=\"front_left____.png\"; filename*=UTF-8''front%20left%20%C3%A9%2B%24.png");

  assert.equal((await api('DELETE', `/api/v1/files/${p.file_id}`)).status, 204);
  const gone = await fetch(meta.body.download_url);
  assert.equal(gone.status, 404);
});

test('an object of another size or type than declared is refused and removed', async () => {
  const declared = 50_000;
  const shorter = await presign('short.png', declared);
  // s3rver does not hold the signed Content-Length to the body as S3 does: /complete catches it.
  const put = await fetch(shorter.url, {method: 'PUT', headers: {'Content-Type': 'image/png'}, body: png(40_000)});
  assert.equal(put.status, 200);
  const refused = await api('POST', shorter.complete_url);
  assert.equal(refused.status, 422, JSON.stringify(refused.body));
  assert.match(refused.body.errors[0].message, /40000 bytes, not the declared 50000/);
  assert.equal((await api('GET', `/api/v1/files/${shorter.file_id}`)).body.status, 'pending');

  const jpeg = await presign('not really.jpg', 20_000, 'image/jpeg');
  assert.equal((await fetch(jpeg.url, {method: 'PUT', headers: jpeg.headers, body: png(20_000)})).status, 200);
  const mismatch = await api('POST', jpeg.complete_url);
  assert.equal(mismatch.status, 422);
  assert.match(mismatch.body.errors[0].message, /is image\/png, not the declared image\/jpeg/);
  // The object is gone from the bucket: completing again finds nothing.
  assert.equal((await api('POST', jpeg.complete_url)).status, 409);
});
