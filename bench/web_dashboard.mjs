#!/usr/bin/env node
// The dashboard in headless Chromium (Debian's, through Playwright from web/node_modules): what
// the first load transfers (compressed JavaScript and CSS), the time until the sign-in page and the
// signed-in home are usable (median of RUNS cold loads), and the history chart with 100,000 points:
// its first draw and its frame time while the cursor sweeps across it.
//   make build && node bench/web_dashboard.mjs            (RUNS=5, POINTS=100000)
import {spawn, spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const {chromium} = createRequire(join(root, 'web', 'package.json'))('@playwright/test');
const bin = process.env.MOTORPOOL_BIN ?? join(root, 'build', 'motorpool');
const runs = Number(process.env.RUNS ?? 5);
const points = Number(process.env.POINTS ?? 100_000);
const password = 'bench password 123';
const work = mkdtempSync(join(tmpdir(), 'motorpool-web-bench-'));
const env = {
  ...process.env, DATABASE_URL: `sqlite:///${work}/bench.db`, MOTORPOOL_WEB_DIR: join(root, 'web', 'dist'),
  MOTORPOOL_ENV: 'test', MOTORPOOL_HOST: '127.0.0.1', PORT: '0', MOTORPOOL_LOG_LEVEL: 'warn',
  SECRET_KEY: 'web-bench-secret-key-0123456789abcdef', MOTORPOOL_FILES_DIR: join(work, 'files'),
};
const made = spawnSync(bin, ['users', 'create', '--email', 'bench@web.bench', '--role', 'member', '--password-stdin'],
  {env, input: `${password}\n`});
if (made.status !== 0) throw new Error(String(made.stderr));
const server = spawn(bin, ['serve'], {env, stdio: ['ignore', 'pipe', 'inherit']});
const base = await new Promise((done) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /running at http:\/\/[^:]+:(\d+)/.exec(out);
    if (m) done(`http://127.0.0.1:${m[1]}`);
  });
});

async function call(method, path, token, body) {
  const res = await fetch(base + path, {method, headers: {'Content-Type': 'application/json',
    ...(token ? {Authorization: `Bearer ${token}`} : {})}, body: body && JSON.stringify(body)});
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

const browser = await chromium.launch({executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox']});
try {
  // First load: a fresh context each time (no cache), bytes as they crossed the wire.
  const firstLoad = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const kinds = new Map();
    const bytes = {script: 0, stylesheet: 0, other: 0};
    cdp.on('Network.responseReceived', (e) => kinds.set(e.requestId, e.type));
    cdp.on('Network.loadingFinished', (e) => {
      const type = (kinds.get(e.requestId) ?? '').toLowerCase();
      bytes[type === 'script' ? 'script' : type === 'stylesheet' ? 'stylesheet' : 'other'] += e.encodedDataLength;
    });
    await page.goto(base + '/');
    await page.getByRole('heading', {name: 'Sign in to motorpool'}).waitFor();
    const ready = await page.evaluate(() => performance.getEntriesByName('motorpool:page-ready')[0]?.startTime ?? NaN);
    await page.getByLabel('E-mail', {exact: true}).fill('bench@web.bench');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', {name: 'Sign in'}).click();
    await page.getByRole('heading', {name: /^Welcome/}).waitFor();
    await page.waitForTimeout(300);
    await page.reload();
    await page.getByRole('heading', {name: /^Welcome/}).waitFor();
    const home = await page.evaluate(() => performance.getEntriesByName('motorpool:page-ready')[0]?.startTime ?? NaN);
    firstLoad.push({ready, home, ...bytes});
    await context.close();
  }
  const js = firstLoad[0].script;
  const css = firstLoad[0].stylesheet;
  console.log(`first load (sign-in page, cold): ${js} B JavaScript + ${css} B CSS = ${((js + css) / 1024).toFixed(1)} KiB transferred, ` +
    `${firstLoad[0].other} B other (HTML, favicon, fonts)`);
  console.log(`sign-in page usable after ${median(firstLoad.map((r) => r.ready)).toFixed(0)} ms (median of ${runs}); ` +
    `signed-in home (reload, warm cache) after ${median(firstLoad.map((r) => r.home)).toFixed(0)} ms`);

  // The chart: POINTS speed samples over the last 24 hours on one vehicle.
  const token = (await call('POST', '/api/v1/auth/login', null, {email: 'bench@web.bench', password})).access_token;
  const vehicle = await call('POST', '/api/v1/vehicles', token, {vin: '1HGCM82633A004352', make: 'Honda', model: 'Accord'});
  const now = Date.now();
  const step = Math.floor(86_000_000 / points);
  for (let start = 0; start < points; start += 10_000) {
    const samples = [];
    for (let i = start; i < Math.min(start + 10_000, points); i++) {
      samples.push({t_ms: now - 86_000_000 + i * step, speed_kmh: Math.round(60 + 40 * Math.sin(i / 500) + (i % 7))});
    }
    await call('POST', `/api/v1/vehicles/${vehicle.id}/telemetry`, token,
      {start_timestamp_ms: samples[0].t_ms, end_timestamp_ms: samples[samples.length - 1].t_ms, samples});
  }
  const context = await browser.newContext({viewport: {width: 1280, height: 800}});
  const page = await context.newPage();
  await page.goto(base + '/sign-in');
  await page.getByLabel('E-mail', {exact: true}).fill('bench@web.bench');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: /^Welcome/}).waitFor();
  await page.goto(`${base}/vehicles/${vehicle.id}`);
  await page.getByLabel('Signal', {exact: true}).selectOption('Motion.Speed');
  const fetchStarted = Date.now();
  await page.getByRole('button', {name: 'Show'}).click();
  await page.locator(`#history-chart[data-points="${points}"]`).waitFor({timeout: 120_000});
  const loaded = Date.now() - fetchStarted;
  const drawMs = Number(await page.locator('#history-chart').getAttribute('data-draw-ms'));
  // Frame times while the cursor sweeps the chart (uPlot redraws its cursor and legend each move).
  const box = await page.locator('#history-chart canvas').first().boundingBox();
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (window.__frames.length < 400) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  for (let x = 0; x <= 200; x++) await page.mouse.move(box.x + (box.width * x) / 200, box.y + box.height / 2);
  const frames = (await page.evaluate(() => window.__frames)).slice(5);
  // A zoom (drag across a tenth of the chart) redraws the series.
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, {steps: 5});
  const zoomStart = Date.now();
  await page.mouse.up();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  console.log(`chart with ${points} points: fetched and drawn in ${loaded} ms (first draw ${drawMs.toFixed(1)} ms); ` +
    `frame time while the cursor moves: median ${median(frames).toFixed(1)} ms, p95 ${pct(frames, 0.95).toFixed(1)} ms ` +
    `over ${frames.length} frames; a drag-zoom redraw within ${Date.now() - zoomStart} ms`);
  await context.close();
} finally {
  await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  rmSync(work, {recursive: true, force: true});
}
