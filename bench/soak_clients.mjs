// bench/soak.sh's live clients, for DURATION seconds: WS_SOCKETS WebSocket subscribers (the `ws`
// package pinned in tests/e2e), each subscribed to every vehicle in VEHICLE_IDS and re-authenticated
// with a fresh login every REAUTH seconds (an AUTH frame, as a browser does before its token
// expires); and signed Smartcar webhook deliveries (v4 VEHICLE_STATE, five signals, a fresh eventId
// each, SC-Signature = hex HMAC-SHA256 of the body under AMT) at WEBHOOK_RATE per second, round
// robin over SMARTCAR_IDS. Its counters go to STATUS_FILE (JSON) every two seconds and at the end.
// Environment: BASE, EMAIL, PASSWORD, VEHICLE_IDS, SMARTCAR_IDS (comma separated), AMT, WS_SOCKETS,
// WEBHOOK_RATE, REAUTH, DURATION, STATUS_FILE.
import {createHmac} from 'node:crypto';
import {renameSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';

const require = createRequire(new URL('../tests/e2e/package.json', import.meta.url));
const WebSocket = require('ws');

const env = (name, fallback) => process.env[name] ?? fallback;
const base = env('BASE');
const vehicles = env('VEHICLE_IDS').split(',');
const smartcarIds = env('SMARTCAR_IDS').split(',');
const amt = env('AMT');
const sockets = Number(env('WS_SOCKETS', '10'));
const webhookRate = Number(env('WEBHOOK_RATE', '5'));
const reauthMs = Number(env('REAUTH', '300')) * 1000;
const durationMs = Number(env('DURATION', '60')) * 1000;
const statusFile = env('STATUS_FILE');

const status = {
  ws_open: 0, ws_opened: 0, ws_closed: 0, ws_errors: 0, frames: 0, signals: 0, errors_received: 0,
  subscribed: 0, reauth_sent: 0, authenticated: 0, webhooks_ok: 0, webhooks_failed: 0, logins: 0,
  login_failures: 0, done: false,
};

async function login() {
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({email: env('EMAIL'), password: env('PASSWORD')}),
  });
  if (r.status !== 200) {
    status.login_failures++;
    throw new Error(`login: HTTP ${r.status}`);
  }
  status.logins++;
  return (await r.json()).access_token;
}

let token = await login();
let stopping = false;
const open = new Set();

function connect() {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/ws`, {headers: {Authorization: `Bearer ${token}`}});
  ws.on('open', () => {
    status.ws_open++;
    status.ws_opened++;
    open.add(ws);
    for (const id of vehicles) ws.send(JSON.stringify({type: 'SUBSCRIBE', topic: `vehicle.${id}`}));
  });
  ws.on('message', (data) => {
    status.frames++;
    const frame = JSON.parse(data.toString());
    if (frame.type === 'SIGNALS') status.signals++;
    else if (frame.type === 'SUBSCRIBED') status.subscribed++;
    else if (frame.type === 'AUTHENTICATED') status.authenticated++;
    else if (frame.type === 'ERROR') status.errors_received++;
  });
  ws.on('error', () => status.ws_errors++);
  ws.on('close', () => {
    if (open.delete(ws)) status.ws_open--;
    if (!stopping) {
      status.ws_closed++;  // the server dropped a subscriber that was keeping up: reconnect, counted
      setTimeout(connect, 1000);
    }
  });
}
for (let i = 0; i < sockets; i++) connect();

const reauth = setInterval(async () => {
  try {
    token = await login();
    for (const ws of open) {
      ws.send(JSON.stringify({type: 'AUTH', token}));
      status.reauth_sent++;
    }
  } catch {
    // counted in login_failures
  }
}, reauthMs);

function signal(group, name, body, t) {
  return `{"code":"${`${group}-${name}`.toLowerCase()}","name":"${name}","group":"${group}","body":${body},` +
         `"meta":{"oemUpdatedAt":${t},"retrievedAt":${t + 200}},"status":{"value":"SUCCESS"}}`;
}

let n = 0;
async function deliver() {
  const i = n++;
  const vehicle = smartcarIds[i % smartcarIds.length];
  const t = Date.now() - 1000;
  const eventId = `soak-${process.pid}-${i}`;
  const signals = [
    signal('TractionBattery', 'StateOfCharge', `{"unit":"percent","value":${20 + (i % 80)}}`, t),
    signal('TractionBattery', 'Range', `{"unit":"km","value":${100 + (i % 300)}}`, t),
    signal('Odometer', 'TraveledDistance', `{"unit":"km","value":${20000 + i}}`, t),
    signal('Location', 'PreciseLocation', `{"latitude":${(37.7 + (i % 100) * 0.001).toFixed(3)},"longitude":-122.4,` +
           `"heading":${i % 360}}`, t),
    signal('Charge', 'IsCharging', `{"value":${i % 2 === 0}}`, t),
  ];
  const body = `{"eventId":"${eventId}","eventType":"VEHICLE_STATE","data":{"user":{"id":"soak-user"},` +
               `"vehicle":{"id":"${vehicle}","make":"TESLA","model":"Model 3","year":2023},"signals":[${signals}]},` +
               `"triggers":[],"meta":{"version":"4.0","webhookId":"soak","deliveryId":"${eventId}-1",` +
               `"deliveredAt":${t + 500},"signalCount":5,"mode":"TEST"}}`;
  try {
    const r = await fetch(`${base}/webhooks/smartcar`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'SC-Signature': createHmac('sha256', amt).update(body).digest('hex')},
      body,
    });
    await r.arrayBuffer();
    if (r.status === 200) status.webhooks_ok++;
    else status.webhooks_failed++;
  } catch {
    status.webhooks_failed++;
  }
}
const webhooks = webhookRate > 0 ? setInterval(deliver, 1000 / webhookRate) : null;

function save() {
  writeFileSync(`${statusFile}.tmp`, JSON.stringify(status));
  renameSync(`${statusFile}.tmp`, statusFile);
}
const saver = setInterval(save, 2000);

setTimeout(() => {
  stopping = true;
  clearInterval(reauth);
  if (webhooks) clearInterval(webhooks);
  clearInterval(saver);
  for (const ws of open) ws.close(1000);
  status.done = true;
  setTimeout(() => {
    save();
    process.exit(0);
  }, 500);
}, durationMs);
