#!/usr/bin/env python3
"""Smartcar failing, driven by bench/fault_smartcar.sh against a running motorpool (simulated mode).

The built-in simulator's fault injection (POST/DELETE /sim/smartcar/admin/faults) plays a failing
Smartcar during polling, token refresh and Connect's code exchange; its request log
(GET /sim/smartcar/admin/requests: every vehicle call and token grant it answered) is what the
server did to Smartcar. A probe client times an authenticated database read throughout.
Prints PASS/FAIL per check, then the figures; exits 1 when a check failed.

Usage: fault_smartcar.py BASE_URL SERVER_LOG   (environment: see fault_smartcar.sh)
"""

import base64
import datetime
import json
import math
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request

BASE = sys.argv[1].rstrip("/")
SERVER_LOG = sys.argv[2]
SIM = BASE + "/sim/smartcar"
CLIENT = os.environ["SMARTCAR_CLIENT_ID"] + ":" + os.environ["SMARTCAR_CLIENT_SECRET"]
P = float(os.environ.get("POLL_INTERVAL", "10"))  # MOTORPOOL_SMARTCAR_POLL_INTERVAL, seconds
VEHICLES = int(os.environ.get("VEHICLES", "30"))
ATTEMPTS = 3  # smartcar::ClientOptions::attempts: one call, at most this many tries (5xx, network)
CONCURRENCY = 4  # smartcar::PollerOptions::concurrency: vehicles polled at once
CALL_THREADS = 4  # smartcar::SmartcarService::kCallThreads: Smartcar calls requests wait for, at once
REFRESHERS = 12  # members asking for live data during the timeouts (more than the worker pool's threads)
CLIENT_TIMEOUT = 30.0  # SmartcarOptions::client_timeout
TICK = 1.0  # the poll scheduling job's period
JITTER = 0.1  # next poll: interval +-10 %
RETRY_AFTER = int(os.environ.get("RETRY_AFTER", "15"))
SLOW_MS = 35_000  # longer than the client's timeout: every call in the window times out
LAT_FLOOR = float(os.environ.get("LATENCY_FLOOR", "0.25"))  # probe p99 bound: max(10x baseline p50, this)

failures = []
figures = []


def check(ok, name, detail):
    print(("PASS" if ok else "FAIL") + " " + name + ": " + detail, flush=True)
    if not ok:
        failures.append(name)


def figure(line):
    figures.append(line)


# ---- HTTP ----------------------------------------------------------------------------------------


def request(method, url, body=None, token=None, basic=None, timeout=60):
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def faults(*items):
    status, body = request("POST", SIM + "/admin/faults", {"faults": list(items)}, basic=CLIENT)
    assert status == 204, (status, body)


def clear_faults():
    status, _ = request("DELETE", SIM + "/admin/faults", basic=CLIENT)
    assert status == 204


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def sim_log():
    """The simulator's request log: [(t, method, path, vehicle_id, status)] (at most its last 10,000)."""
    status, body = request("GET", SIM + "/admin/requests", basic=CLIENT)
    assert status == 200
    return [(parse_time(r["at"]), r["method"], r["path"], r["vehicle_id"], r["status"]) for r in body["items"]]


def polls_in(log, t0, t1, vehicles=None):
    """Vehicle batch calls in [t0, t1): {smartcar vehicle id: [(t, status)]}."""
    out = {}
    for t, method, path, vehicle, status in log:
        if t0 <= t < t1 and path.endswith("/batch") and (vehicles is None or vehicle in vehicles):
            out.setdefault(vehicle, []).append((t, status))
    return out


def tokens_in(log, t0, t1):
    return [(t, status) for t, method, path, vehicle, status in log if t0 <= t < t1 and path == "/oauth/token"]


def per_second(log, t0, seconds):
    """Requests the simulator answered in each second from t0."""
    counts = [0] * seconds
    for t, *_ in log:
        if t0 <= t < t0 + seconds:
            counts[int(t - t0)] += 1
    return counts


def clusters(times, gap=2.5):
    """Groups one vehicle's calls into polls: a poll's retries come within a few hundred ms."""
    out = []
    for t in sorted(times):
        if out and t - out[-1][-1] < gap:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


# ---- the probe: an authenticated database read, five times a second ------------------------------


class Probe(threading.Thread):
    def __init__(self, token):
        super().__init__(daemon=True)
        self.token = token
        self.samples = []  # (start time, seconds, status)
        self.in_flight = None  # the start time of the request waiting for its answer
        self.stopping = False

    def run(self):
        while not self.stopping:
            start = time.time()
            t = time.monotonic()
            self.in_flight = start
            try:
                status, _ = request("GET", BASE + "/api/v1/vehicles?page_size=10", token=self.token, timeout=120)
            except Exception:  # noqa: BLE001 - a refused or dropped connection is a failed sample
                status = 0
            self.samples.append((start, time.monotonic() - t, status))
            self.in_flight = None
            time.sleep(max(0.0, 0.2 - (time.monotonic() - t)))

    def window(self, t0, t1):
        """Latencies (s) of the samples that started in [t0, t1), and how many failed."""
        inside = [(d, s) for start, d, s in self.samples if t0 <= start < t1]
        waiting = self.in_flight
        if waiting is not None and t0 <= waiting < t1:
            inside.append((time.time() - waiting, 200))  # still unanswered: at least this slow
        return [d for d, _ in inside], sum(1 for _, s in inside if s != 200)


# ---- setup --------------------------------------------------------------------------------------

T_BEGIN = time.time()
status, session = request(
    "POST",
    BASE + "/api/v1/auth/register",
    {"name": "Fault Bench", "email": "fault-sc@motorpool.local", "password": "fault-password-1"},
)
assert status == 201, (status, session)
TOKEN = session["access_token"]


def connect():
    """One pass through Connect (a new simulated owner with one to three cars): (status, answer)."""
    s, body = request("GET", BASE + "/api/v1/connect/smartcar", token=TOKEN)
    assert s == 200, (s, body)
    return request("GET", body["url"] + "&approve=true")


def connections():
    s, body = request("GET", BASE + "/api/v1/connections", token=TOKEN)
    assert s == 200, (s, body)
    return {c["id"]: c for c in body["items"]}


probe = Probe(TOKEN)
while True:
    conns = connections()
    cars = sum(len(c["vehicles"]) for c in conns.values())
    if cars >= VEHICLES:
        break
    s, body = connect()
    assert s == 200, (s, body)
initial = connections()
car_of = {}  # smartcar vehicle id -> connection id
for cid, c in initial.items():
    for v in c["vehicles"]:
        car_of[v["smartcar_vehicle_id"]] = cid
N = len(car_of)
print(f"setup: {N} simulated cars on {len(initial)} Smartcar connections, polled every {P:g} s "
      f"(±{JITTER:.0%}), {CONCURRENCY} at a time, {ATTEMPTS} attempts per call", flush=True)
# Every car's first poll (a new connection is polled at once), then the probe starts.
deadline = time.time() + 30
while time.time() < deadline:
    polled = polls_in(sim_log(), T_BEGIN, time.time() + 1)
    if all(any(s == 200 for _, s in polled.get(v, [])) for v in car_of):
        break
    time.sleep(1)
check(all(any(s == 200 for _, s in polled.get(v, [])) for v in car_of), "setup: every car polled after Connect",
      f"{sum(1 for v in car_of if v in polled)}/{N}")
probe.start()


def wait_until(t):
    while time.time() < t:
        time.sleep(min(0.5, max(0.0, t - time.time())))


def status_of_all(expected_error=None, ids=None):
    """(every connection in ids active?, how many carry last_error of the expected type)."""
    conns = connections()
    ids = ids or list(initial)
    active = all(conns[i]["status"] == "active" for i in ids)
    typed = sum(1 for i in ids if (conns[i]["last_error"] or {}).get("type") == expected_error)
    return active, typed, conns


def recovery(name, t_clear, deadline_s, cars=None):
    """After a fault is cleared: every car polled with a 200 again, no burst, the same connections."""
    cars = cars or set(car_of)
    wait_until(t_clear + deadline_s)
    log = sim_log()
    after = polls_in(log, t_clear, t_clear + deadline_s)
    ok_cars = {v for v, calls in after.items() if any(s == 200 for _, s in calls)}
    firsts = [min(t for t, s in after[v] if s == 200) - t_clear for v in ok_cars]
    check(cars <= ok_cars, f"{name}: polling resumed for every car after the fault cleared",
          f"{len(cars & ok_cars)}/{len(cars)} cars answered 200 within {deadline_s:.0f} s"
          + (f", last after {max(firsts):.1f} s" if firsts else ""))
    seconds = per_second(log, t_clear, int(deadline_s))
    check(seconds[0] <= N and max(seconds) <= N, f"{name}: no request storm on recovery",
          f"requests to Smartcar per second after the clear: first {seconds[0]}, max {max(seconds)} "
          f"(bound: {N}, the cars connected)")
    figure(f"{name}: recovery: first second {seconds[0]} req, busiest second {max(seconds)} req, "
           f"every car polled again within {max(firsts) if firsts else float('nan'):.1f} s")
    return after


def latency(name, t0, t1, bound):
    lat, bad = probe.window(t0, t1)
    p50, p99, worst = percentile(lat, 50), percentile(lat, 99), max(lat) if lat else float("nan")
    check(bool(lat) and p99 <= bound and bad == 0, f"{name}: the API stays responsive",
          f"probe GET /api/v1/vehicles p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.0f} ms, "
          f"{len(lat)} requests, {bad} failed (bound p99 {bound * 1000:.0f} ms)")
    figure(f"{name}: probe p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.0f} ms ({len(lat)} req)")


# ---- baseline -----------------------------------------------------------------------------------

# The poller claims at most CONCURRENCY cars per tick: cars due together (all connected at once here)
# wait up to N / CONCURRENCY ticks for their turn.
late = (1 + JITTER) * P + TICK + N / CONCURRENCY * TICK
t0 = time.time()
wait_until(t0 + max(1.5 * P, late + 1))
t1 = time.time()
log = sim_log()
base = polls_in(log, T_BEGIN, t1)
gaps = [b - a for c in base.values() for a, b in zip(sorted(t for t, _ in c), sorted(t for t, _ in c)[1:])]
lat, _ = probe.window(t0, t1)
base_p99 = percentile(lat, 99)
LAT_BOUND = max(10 * percentile(lat, 50), LAT_FLOOR)
figure(f"baseline: median {percentile(gaps, 50):.1f} s between two polls of one car (shortest {min(gaps):.1f} s); "
       f"probe p50 {percentile(lat, 50) * 1000:.1f} ms, p99 {base_p99 * 1000:.1f} ms")
twice = sum(1 for c in base.values() if len(c) >= 2)
check(twice == N and min(gaps) >= (1 - JITTER) * P - TICK - 0.5 and max(gaps) <= late,
      "baseline: one poll per car per interval",
      f"median {percentile(gaps, 50):.1f} s, shortest {min(gaps):.1f} s, longest {max(gaps):.1f} s between two polls "
      f"of one car, {twice}/{N} cars polled again (schedule: {P:g} s ±{JITTER:.0%}; at most {late:.1f} s with "
      f"{CONCURRENCY} claimed per {TICK:g} s tick)")

# ---- 1. Smartcar answers 500 to every vehicle call -------------------------------------------------

W = 2.5 * P
t0 = time.time()
faults({"kind": "server", "count": 1_000_000})
wait_until(t0 + W)
active, typed, _ = status_of_all("SERVER")
clear_faults()
t1 = time.time()
log = sim_log()
calls = polls_in(log, t0, t1)
polls = {v: clusters([t for t, _ in c]) for v, c in calls.items()}
most_attempts = max((len(p) for ps in polls.values() for p in ps), default=0)
gaps = [b[0] - a[0] for ps in polls.values() for a, b in zip(ps, ps[1:])]
allowed = ATTEMPTS * (math.floor(W / ((1 - JITTER) * P)) + 1)
per_car = max((len(c) for c in calls.values()), default=0)
per_interval = sum(len(c) for c in calls.values()) / N / (W / P)
check(most_attempts <= ATTEMPTS and per_car <= allowed, "5xx: at most one poll's attempts per car per interval",
      f"{per_interval:.2f} calls per car per interval, at most {most_attempts} per poll, at most {per_car} per car in "
      f"{W:.0f} s (bound {allowed})")
check(bool(gaps) and min(gaps) >= (1 - JITTER) * P - TICK - 0.5, "5xx: a failing car keeps its poll schedule",
      f"shortest time between two polls of one car {min(gaps) if gaps else float('nan'):.1f} s "
      f"(schedule: {P:g} s ±{JITTER:.0%})")
check(active and typed == len(initial), "5xx: connections say what is wrong",
      f"status active on every connection: {active}; last_error.type SERVER on {typed}/{len(initial)}")
latency("5xx", t0, t1, LAT_BOUND)
figure(f"5xx: {per_interval:.2f} calls per car per interval ({most_attempts} attempts per poll at most)")
recovery("5xx", t1, 1.1 * P + TICK + 2)
active, typed, conns = status_of_all(None)
check(active and typed == len(initial), "5xx: after recovery every connection is active with no last_error",
      f"{typed}/{len(initial)} clear, same connections: {set(conns) == set(initial)}")

# ---- 2. 429 RATE_LIMIT with Retry-After ------------------------------------------------------------

W = 2 * P
t0 = time.time()
faults({"kind": "rate_limit", "retry_after": RETRY_AFTER, "count": 1_000_000})
wait_until(t0 + W)
active, typed, _ = status_of_all("RATE_LIMIT")
clear_faults()
t1 = time.time()
latency("429", t0, t1, LAT_BOUND)
recovery("429", t1, RETRY_AFTER + 1.1 * P + TICK + 2)
log = sim_log()
calls = polls_in(log, t0, time.time())  # with the calls after the clear: a Retry-After still binds them
early = []
limited = 0
for v, c in calls.items():
    c.sort()
    for (ta, sa), (tb, _) in zip(c, c[1:]):
        if sa == 429:
            limited += 1
            if tb - ta < RETRY_AFTER - 0.05:
                early.append(tb - ta)
in_window = polls_in(log, t0, t1)
attempts_429 = max((len(c) for c in in_window.values()), default=0)
check(limited > 0 and not early, "429: Retry-After honoured per car",
      f"{limited} answers of 429 followed by another call; {len(early)} came sooner than Retry-After "
      f"({RETRY_AFTER} s)" + (f", soonest {min(early):.1f} s" if early else ""))
check(attempts_429 <= math.floor(W / RETRY_AFTER) + 1, "429: no retry of a rate-limited call",
      f"at most {attempts_429} calls per car in {W:.0f} s")
check(active and typed == len(initial), "429: connections say what is wrong",
      f"status active on every connection: {active}; last_error.type RATE_LIMIT on {typed}/{len(initial)}")
figure(f"429: {sum(len(c) for c in in_window.values()) / N / (W / P):.2f} calls per car per interval "
       f"(Retry-After {RETRY_AFTER} s)")

# ---- 3. timeouts: every vehicle call hangs past the client's timeout --------------------------------

W = 35.0
t0 = time.time()
faults({"kind": "slow", "delay_ms": SLOW_MS, "count": 1_000_000})
# Meanwhile members ask for live data (?refresh=true), more at once than the shared worker pool has
# threads: they wait on Smartcar's own threads, and the probe's database reads must not wait.
refreshed = []


def refresh_one(vehicle_id):
    t = time.monotonic()
    try:
        s, _ = request("GET", f"{BASE}/api/v1/vehicles/{vehicle_id}/battery?refresh=true", token=TOKEN, timeout=300)
    except Exception:  # noqa: BLE001 - a dropped connection is a failure
        s = 0
    refreshed.append((s, time.monotonic() - t))


refreshers = [threading.Thread(target=refresh_one, args=(v["vehicle_id"],), daemon=True)
              for c in initial.values() for v in c["vehicles"] if v.get("vehicle_id")][:REFRESHERS]
for r in refreshers:
    r.start()
wait_until(t0 + W)
clear_faults()
t1 = time.time()
latency("timeouts", t0, t1, LAT_BOUND)
# A call that times out is logged by the server when it gives up (attempt N failed); those started in
# the window gave up by t1 + CLIENT_TIMEOUT.
wait_until(t1 + CLIENT_TIMEOUT + 1)
pattern = re.compile(r"^(\S+) .*smartcar call failed, retrying .*url=\S+/vehicles/([0-9a-f-]+)/batch error=Smartcar 0 "
                     r"|^(\S+) .*smartcar poll failed vehicle_id=\S+ error=Smartcar 0 ")
timed_out = []
with open(SERVER_LOG, errors="replace") as f:
    for line in f:
        m = pattern.search(line)
        if m:
            t = parse_time(m.group(1) or m.group(3))
            if t0 + CLIENT_TIMEOUT - 1 <= t <= t1 + CLIENT_TIMEOUT + 1:
                timed_out.append(t)
bound = (CONCURRENCY + CALL_THREADS) * (math.floor(W / CLIENT_TIMEOUT) + 1)
check(0 < len(timed_out) <= bound, "timeouts: calls in flight bounded by the poller's and the calls' threads",
      f"{len(timed_out)} calls started in the {W:.0f} s window timed out (bound {bound}: {CONCURRENCY} polls and "
      f"{CALL_THREADS} refreshes at a time, {CLIENT_TIMEOUT:.0f} s each)")
figure(f"timeouts: {len(timed_out)} calls timed out; every other due poll waited for a free poller thread")
# The stuck threads' next attempt (after the clear) answers; the backlog of due cars follows.
after = recovery("timeouts", t1, CLIENT_TIMEOUT + 3 + N / CONCURRENCY + 2 * TICK + 4)
active, typed, conns = status_of_all(None)
check(active and set(conns) == set(initial), "timeouts: no connection lost or marked for re-auth",
      f"every connection active: {active}")
for r in refreshers:
    r.join(timeout=max(1.0, t0 + 240 - time.time()))
codes = sorted(s for s, _ in refreshed)
check(len(refreshed) == len(refreshers) and all(s in (200, 502, 503) for s in codes),
      "timeouts: every ?refresh=true answered (502 while Smartcar timed out, 200 after, 503 if too many waited)",
      f"{len(refreshed)}/{len(refreshers)} answered, statuses {codes}, "
      f"slowest {max((d for _, d in refreshed), default=float('nan')):.0f} s")
figure(f"timeouts: {len(refreshers)} concurrent ?refresh=true: statuses {codes}; "
       f"the probe above ran meanwhile")

# ---- 4. token refresh fails: access tokens expired at Smartcar, its token endpoint answers 500 -----

W = 2 * P
t0 = time.time()
faults({"kind": "token_error", "count": 1_000_000}, {"kind": "expire_access_tokens"})
wait_until(t0 + W)
active, typed, _ = status_of_all("server_error")
clear_faults()
t1 = time.time()
log = sim_log()
calls = polls_in(log, t0, t1)
grants = tokens_in(log, t0, t1)
n_calls = sum(len(c) for c in calls.values())
check(active, "refresh 5xx: tokens kept (no connection marked for re-auth)", "every connection still active")
check(typed == len(initial), "refresh 5xx: connections say what is wrong",
      f"last_error.type server_error on {typed}/{len(initial)}")
check(0 < len(grants) <= ATTEMPTS * n_calls, "refresh 5xx: refresh attempts bounded by the poll schedule",
      f"{len(grants)} token requests for {n_calls} vehicle calls (bound {ATTEMPTS} per call) in {W:.0f} s")
polls = {v: clusters([t for t, _ in c]) for v, c in calls.items()}
gaps = [b[0] - a[0] for ps in polls.values() for a, b in zip(ps, ps[1:])]
check(not gaps or min(gaps) >= (1 - JITTER) * P - TICK - 0.5, "refresh 5xx: a failing car keeps its poll schedule",
      f"shortest time between two polls of one car {min(gaps) if gaps else float('nan'):.1f} s")
latency("refresh 5xx", t0, t1, LAT_BOUND)
figure(f"refresh 5xx: {len(grants)} token requests for {len(initial)} connections in {W:.0f} s")
recovery("refresh 5xx", t1, 1.1 * P + TICK + 2)
log = sim_log()
ok_grants = [t for t, s in tokens_in(log, t1, time.time()) if s == 200]
active, typed, conns = status_of_all(None)
check(len(ok_grants) == len(initial), "refresh 5xx: one refresh per connection after recovery, same tokens chain",
      f"{len(ok_grants)} successful refreshes for {len(initial)} connections")
check(active and typed == len(initial) and set(conns) == set(initial),
      "refresh 5xx: after recovery every connection is active with no last_error",
      f"{typed}/{len(initial)} clear, no new connection: {set(conns) == set(initial)}")

# ---- 5. Connect: the code exchange fails -----------------------------------------------------------

before = connections()
t0 = time.time()
faults({"kind": "token_error", "count": ATTEMPTS})
started = time.monotonic()
s, body = connect()
took = time.monotonic() - started
t1 = time.time()
grants = tokens_in(sim_log(), t0, t1 + 0.5)
after = connections()
problem = body.get("type") if isinstance(body, dict) else None
check(s == 502 and problem == "urn:motorpool:problem:smartcar:upstream" and took < 5,
      "connect 5xx: the callback says Smartcar failed",
      f"HTTP {s} {problem} (smartcar_type {body.get('smartcar_type') if isinstance(body, dict) else None}) "
      f"in {took:.1f} s")
check(len(after) == len(before) and len(grants) == ATTEMPTS, "connect 5xx: no half-made connection, no retry storm",
      f"connections {len(before)} -> {len(after)}; {len(grants)} code exchanges tried (bound {ATTEMPTS})")
faults({"kind": "token_error", "count": 1})
s, body = connect()
clear_faults()
after = connections()
new = set(after) - set(before)
check(s == 200 and len(new) == 1 and all(after[i]["status"] == "active" for i in new),
      "connect blip: one 5xx from the token endpoint is retried, the connection is made",
      f"HTTP {s}, {len(new)} new connection(s)")
for i in new:
    for v in after[i]["vehicles"]:
        car_of[v["smartcar_vehicle_id"]] = i
N = len(car_of)

# ---- 6. revoked: the user withdrew access at Smartcar ------------------------------------------------

revoked = sorted(initial)[:3]
revoked_cars = {v for v, c in car_of.items() if c in revoked}
t0 = time.time()
faults(*[{"kind": "revoke", "vehicle_id": initial[c]["vehicles"][0]["smartcar_vehicle_id"]} for c in revoked])
wait_until(t0 + 1.1 * P + TICK + 2)
conns = connections()
t_mid = time.time()
wait_until(t_mid + P)
log = sim_log()
flagged = [c for c in revoked if conns[c]["status"] == "reauth_required"
           and (conns[c]["last_error"] or {}).get("type") == "invalid_grant"]
check(len(flagged) == len(revoked), "revoked: the connection says the user must connect again",
      f"{len(flagged)}/{len(revoked)} reauth_required with last_error invalid_grant")
grants = tokens_in(log, t0, time.time())
check(len(grants) == len(revoked), "revoked: one refused refresh per connection, then nothing",
      f"{len(grants)} token requests for {len(revoked)} revoked connections")
later = polls_in(log, t_mid, time.time(), revoked_cars)
check(not later, "revoked: its cars are no longer polled", f"{sum(len(c) for c in later.values())} calls after")
others = set(car_of) - revoked_cars
fine = polls_in(log, t0, time.time(), others)
check(all(any(s == 200 for _, s in fine.get(v, [])) for v in others), "revoked: the other connections poll on",
      f"{sum(1 for v in others if any(s == 200 for _, s in fine.get(v, [])))}/{len(others)} cars answered 200")

# ---- the end: no token lost -----------------------------------------------------------------------

conns = connections()
kept = [c for c in conns if c not in revoked]
check(all(conns[c]["status"] == "active" for c in kept) and set(initial) <= set(conns),
      "end: every connection not revoked is active, none re-made",
      f"{sum(1 for c in kept if conns[c]['status'] == 'active')}/{len(kept)} active; "
      f"{len(conns)} connections ({len(initial)} made at setup, 1 by the Connect check)")
probe.stopping = True
lat, bad = probe.window(T_BEGIN, time.time())
figure(f"whole run: {len(lat)} probe requests, {bad} failed, p99 {percentile(lat, 99) * 1000:.1f} ms, "
       f"max {max(lat) * 1000:.0f} ms; {time.time() - T_BEGIN:.0f} s")

print("\nfigures:")
for line in figures:
    print("  " + line)
print(f"\n{'FAILED: ' + ', '.join(failures) if failures else 'all checks passed'}")
sys.exit(1 if failures else 0)
