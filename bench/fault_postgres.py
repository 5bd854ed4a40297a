#!/usr/bin/env python3
"""Helper of bench/fault_postgres.sh (PostgreSQL stopped and restarted under load). Standard library only.

  setup --base URL --out STATE.json
      registers an account through the API, adds vehicles, connects Smartcar (the simulator) and
      writes the token, the VINs and the Smartcar vehicle ids.
  load --base URL --state STATE.json --amt AMT --scenario N --t-base MS --stop-file F --out LOG.jsonl
      telemetry batches (POST /api/v1/vehicles/{vin}/telemetry, 10 samples x 3 signals, sample times
      no other batch uses) and signed Smartcar webhook deliveries (POST /webhooks/smartcar, a fresh
      eventId each) from four keep-alive clients each, until F exists; one JSON line per request:
      kind, key, start and end (epoch ms), status, Retry-After, what the 2xx body said.
  check --log LOG.jsonl --events EVENTS --db URL --label L --scenario N --summary FILE
      the checks (PASS/FAIL lines) against the timeline the script recorded (stop_issued, down,
      ready) and the database (psql, directly to PostgreSQL); appends the figures to FILE.
  summary --summary FILE
      the figures of every scenario as a table.
"""

import argparse
import csv
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

ANSWER_BOUND_MS = 10_000  # every request must be answered within this
CLIENT_TIMEOUT_S = 20  # the client gives up later than the bound, so a slow answer is measured, not cut
RECONNECT_BOUND_MS = 5_000  # first 2xx after PostgreSQL accepts connections again
SAMPLES_PER_BATCH = 10  # x 3 signals: 30 history rows per telemetry batch
SIGNALS_PER_SAMPLE = 3


def now_ms():
    return int(time.time() * 1000)


def api(base, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read() or b"null")


# ---- setup ----


def setup(args):
    email = "fault-%d@example.com" % now_ms()
    session = api(args.base, "POST", "/api/v1/auth/register",
                  {"name": "Fault Test", "email": email, "password": "fault-password-1"})
    token = session["access_token"]
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "data", "vehicles.csv"), newline="") as f:
        rows = list(csv.DictReader(f))[args.first : args.first + args.vehicles]
    vins = []
    for row in rows:
        api(args.base, "POST", "/api/v1/vehicles", {"vin": row["vin"], "make": row["make"], "model": row["model"]},
            token)
        vins.append(row["vin"])
    # Smartcar Connect against the simulator, as bench/webhooks.sh does: each approval brings one
    # to three cars of a new simulated owner, linked to vehicles of ours.
    smartcar = []
    while len(smartcar) < 2:
        url = api(args.base, "GET", "/api/v1/connect/smartcar", token=token)["url"]
        with urllib.request.urlopen(url + "&approve=true", timeout=30) as res:
            smartcar += [v["smartcar_vehicle_id"] for v in json.loads(res.read())["vehicles"]]
    with open(args.out, "w") as f:
        json.dump({"token": token, "vins": vins, "smartcar": smartcar}, f)


# ---- load ----


class Client(threading.Thread):
    def __init__(self, kind, index, args, state, out, lock):
        super().__init__(daemon=True)
        self.kind, self.index, self.args, self.state, self.out, self.lock = kind, index, args, state, out, lock
        url = urllib.parse.urlsplit(args.base)
        self.host, self.port = url.hostname, url.port
        self.conn = None
        self.current = None  # the request in flight
        # Sample times no other batch of any run uses: scenario, client and batch each get a range.
        self.t_base = args.t_base + args.scenario * 100_000_000 + index * 10_000_000

    def request(self, n):
        if self.kind == "telemetry":
            vin = self.state["vins"][(self.index + n) % len(self.state["vins"])]
            t0 = self.t_base + n * 20
            samples = [{"t_ms": t0 + i, "speed_kmh": i, "rpm": 1000 + i, "odometer_km": 1000 + n + i / 10}
                       for i in range(SAMPLES_PER_BATCH)]
            body = json.dumps({"samples": samples}).encode()
            key = "s%d-t%d-%d" % (self.args.scenario, self.index, n)
            headers = {"Authorization": "Bearer " + self.state["token"], "Content-Type": "application/json"}
            return ("/api/v1/vehicles/%s/telemetry" % vin, body, headers,
                    {"key": key, "vin": vin, "t0": t0, "t1": t0 + SAMPLES_PER_BATCH - 1})
        vehicle = self.state["smartcar"][(self.index + n) % len(self.state["smartcar"])]
        event_id = "fault-%d-s%d-w%d-%d" % (self.args.t_base, self.args.scenario, self.index, n)
        t = now_ms()
        signals = [
            {"code": "tractionbattery-stateofcharge", "name": "StateOfCharge", "group": "TractionBattery",
             "body": {"unit": "percent", "value": 20 + n % 80}, "meta": {"oemUpdatedAt": t - 1000 - self.index,
                                                                      "retrievedAt": t - 900}},
            {"code": "odometer-traveleddistance", "name": "TraveledDistance", "group": "Odometer",
             "body": {"unit": "km", "value": 10000 + n}, "meta": {"oemUpdatedAt": t - 1000 - self.index,
                                                                  "retrievedAt": t - 900}},
        ]
        envelope = {"eventId": event_id, "eventType": "VEHICLE_STATE",
                    "data": {"user": {"id": "fault-user"}, "vehicle": {"id": vehicle, "make": "TESLA"},
                             "signals": signals},
                    "triggers": [],
                    "meta": {"version": "4.0", "webhookId": "fault", "deliveryId": event_id + "-1",
                             "deliveredAt": t - 500, "signalCount": len(signals), "mode": "TEST"}}
        body = json.dumps(envelope, separators=(",", ":")).encode()
        signature = hmac.new(self.args.amt.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "SC-Signature": signature}
        return "/webhooks/smartcar", body, headers, {"key": event_id}

    def run(self):
        n = 0
        while not os.path.exists(self.args.stop_file):
            path, body, headers, record = self.request(n)
            n += 1
            record["kind"] = self.kind
            record["start"] = now_ms()
            self.current = record
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=CLIENT_TIMEOUT_S)
                self.conn.request("POST", path, body, headers)
                res = self.conn.getresponse()
                payload = res.read()
                record["status"] = res.status
                record["retry_after"] = res.getheader("Retry-After")
                if 200 <= res.status < 300:
                    try:
                        answer = json.loads(payload)
                        record["accepted"] = answer.get("accepted")
                        record["duplicates"] = answer.get("duplicates")
                        record["answer"] = answer.get("status")
                    except ValueError:
                        record["answer"] = "not json"
                if res.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
            except (OSError, http.client.HTTPException) as e:  # timeout, reset: no answer
                record["status"] = 0
                record["error"] = type(e).__name__ + ": " + str(e)[:120]
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
            record["end"] = now_ms()
            with self.lock:
                self.current = None
                self.out.write(json.dumps(record) + "\n")
            # A short pause after a refusal (a real client would honour Retry-After; this one keeps
            # asking, to see every answer the outage gets) and a shorter one after a success.
            time.sleep(0.1 if record["status"] == 0 or record["status"] >= 300 else 0.01)


def load(args):
    with open(args.state) as f:
        state = json.load(f)
    lock = threading.Lock()
    with open(args.out, "w", buffering=1) as out:
        clients = [Client("telemetry", i, args, state, out, lock) for i in range(args.telemetry_clients)]
        clients += [Client("webhook", i, args, state, out, lock) for i in range(args.webhook_clients)]
        for c in clients:
            c.start()
        while not os.path.exists(args.stop_file):
            time.sleep(0.1)
        # Bounded: each client ends its request within its socket timeout. One still waiting after
        # that is a request never answered, recorded as such (status 0), and abandoned.
        deadline = time.time() + CLIENT_TIMEOUT_S + 5
        for c in clients:
            c.join(max(0.0, deadline - time.time()))
        with lock:
            for c in clients:
                if c.is_alive() and c.current is not None:
                    record = dict(c.current, status=0, end=now_ms(), error="no answer by the end of the run")
                    out.write(json.dumps(record) + "\n")


# ---- check ----


def psql(db, sql):
    return subprocess.run(["psql", db, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                          capture_output=True, text=True, timeout=60).stdout.strip()


def psql_script(db, script):
    return subprocess.run(["psql", db, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"], input=script, check=True,
                          capture_output=True, text=True, timeout=60).stdout.strip()


def check(args):
    try:
        return check_run(args)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        detail = (getattr(e, "stderr", "") or "").strip().splitlines()
        print("FAIL  %s: counting in the database failed (%s)" % (args.label, detail[-1] if detail else e))
        return 1


def check_run(args):
    events = {}
    with open(args.events) as f:
        for line in f:
            name, value = line.split()
            events[name] = int(value)
    with open(args.log) as f:
        records = [json.loads(line) for line in f if line.strip()]
    stop_issued, down, ready = events["stop_issued"], events["down"], events["ready"]
    results = []  # (ok, text)

    def result(ok, text):
        results.append(ok)
        print("%s  %s: %s" % ("PASS" if ok else "FAIL", args.label, text))

    ok2 = lambda r: 200 <= r["status"] < 300
    good_503 = lambda r: r["status"] == 503 and (r.get("retry_after") or "").strip().isdigit()
    figures = {"label": args.label, "outage_ms": ready - stop_issued, "stop_ms": down - stop_issued}

    for kind in ("telemetry", "webhook"):
        mine = [r for r in records if r["kind"] == kind]
        before = [r for r in mine if r["end"] < stop_issued]
        # Lived wholly inside the outage: sent after PostgreSQL was down, answered before it returned.
        inside = [r for r in mine if r["start"] >= down and r["end"] < ready]
        # Overlapping the outage at all (from the stop command to PostgreSQL's return).
        overlapping = [r for r in mine if r["end"] >= stop_issued and r["start"] < ready]
        by_status = {}
        for r in overlapping:
            by_status[r["status"]] = by_status.get(r["status"], 0) + 1
        max_ms = max((r["end"] - r["start"] for r in overlapping), default=0)
        slowest = max((r["end"] - r["start"] for r in mine), default=0)
        after = sorted((r for r in mine if ok2(r) and r["end"] >= ready), key=lambda r: r["end"])
        first_2xx_ms = after[0]["end"] - ready if after else None
        settled = [r for r in mine if r["start"] >= ready + RECONNECT_BOUND_MS]
        acked = [r for r in mine if ok2(r)]
        f = figures[kind] = {
            "requests": len(mine), "before_2xx": sum(1 for r in before if ok2(r)), "inside": len(inside),
            "overlap_by_status": by_status, "max_answer_ms_outage": max_ms, "max_answer_ms": slowest,
            "first_2xx_after_ready_ms": first_2xx_ms, "acked": len(acked),
        }

        result(sum(1 for r in before if ok2(r)) >= 5,
               "%s acknowledged before the stop (%d 2xx)" % (kind, f["before_2xx"]))
        bad = [r for r in inside if not good_503(r)]
        result(len(inside) >= 5 and not bad,
               "%s while PostgreSQL was down: %d requests, all 503 with Retry-After%s" %
               (kind, len(inside), "" if not bad else " -- NOT: " + ", ".join(
                   "%s%s" % (r["status"], "" if r.get("retry_after") else " (no Retry-After)") for r in bad[:8])))
        odd = [r for r in mine if not ok2(r) and not good_503(r)]
        result(not odd, "%s: every answer of the run is 2xx or 503 + Retry-After (%d others%s)" %
               (kind, len(odd), "" if not odd else ": " + ", ".join(
                   str(r["status"]) + (" " + r["error"] if r.get("error") else "") for r in odd[:5])))
        result(slowest < ANSWER_BOUND_MS and all(r["status"] != 0 for r in mine),
               "%s: every request answered within %d ms (slowest %d ms; during the outage %d ms)" %
               (kind, ANSWER_BOUND_MS, slowest, max_ms))
        result(first_2xx_ms is not None and first_2xx_ms <= RECONNECT_BOUND_MS,
               "%s: first 2xx %s ms after PostgreSQL accepted connections again (bound %d ms)" %
               (kind, "never" if first_2xx_ms is None else first_2xx_ms, RECONNECT_BOUND_MS))
        bad_after = [r for r in settled if not ok2(r)]
        result(len(settled) >= 5 and not bad_after,
               "%s: %d requests sent from %d ms after the return, all 2xx%s" %
               (kind, len(settled), RECONNECT_BOUND_MS, "" if not bad_after else " -- NOT: %d were %s" % (
                   len(bad_after), sorted({r["status"] for r in bad_after}))))
        if kind == "telemetry":
            wrong = [r for r in acked if r.get("accepted") != SAMPLES_PER_BATCH * SIGNALS_PER_SAMPLE]
            result(not wrong, "telemetry: every 2xx says all %d rows accepted (%d do not)" %
                   (SAMPLES_PER_BATCH * SIGNALS_PER_SAMPLE, len(wrong)))
        else:
            wrong = [r for r in acked if r.get("answer") != "accepted"]
            result(not wrong, "webhook: every 2xx says accepted, not duplicate (%d do not)" % len(wrong))

    # Every acknowledged batch and delivery is in the database, counted there directly.
    work = os.path.dirname(os.path.abspath(args.log))
    tel_csv = os.path.join(work, args.label + "-telemetry.csv")
    hook_csv = os.path.join(work, args.label + "-webhooks.csv")
    with open(tel_csv, "w", newline="") as f:
        w = csv.writer(f)
        for r in records:
            if r["kind"] == "telemetry":
                w.writerow([r["key"], r["vin"], r["t0"], r["t1"], 1 if ok2(r) else 0])
    with open(hook_csv, "w", newline="") as f:
        w = csv.writer(f)
        for r in records:
            if r["kind"] == "webhook":
                w.writerow([r["key"], 1 if ok2(r) else 0])
    rows = SAMPLES_PER_BATCH * SIGNALS_PER_SAMPLE
    out = psql_script(args.db, f"""
CREATE TEMP TABLE sent_batches (key TEXT, vin TEXT, t0 BIGINT, t1 BIGINT, acked INT);
CREATE TEMP TABLE sent_hooks (key TEXT, acked INT);
\\copy sent_batches FROM '{tel_csv}' CSV
\\copy sent_hooks FROM '{hook_csv}' CSV
CREATE TEMP TABLE stored AS
  SELECT s.key, s.acked, (SELECT COUNT(*) FROM signal_history h JOIN vehicles v ON v.id = h.vehicle_id
                          WHERE v.vin = s.vin AND h.source = 1 AND h.t_ms BETWEEN s.t0 AND s.t1) AS n
  FROM sent_batches s;
SELECT (SELECT COUNT(*) FROM stored WHERE acked = 1), (SELECT COUNT(*) FROM stored WHERE acked = 1 AND n = {rows}),
       (SELECT COUNT(*) FROM stored WHERE acked = 0), (SELECT COUNT(*) FROM stored WHERE acked = 0 AND n > 0),
       (SELECT COUNT(*) FROM sent_hooks WHERE acked = 1),
       (SELECT COUNT(*) FROM sent_hooks s JOIN webhook_deliveries d ON d.event_id = s.key WHERE s.acked = 1),
       (SELECT COUNT(*) FROM sent_hooks WHERE acked = 0),
       (SELECT COUNT(*) FROM sent_hooks s JOIN webhook_deliveries d ON d.event_id = s.key WHERE s.acked = 0);
SELECT string_agg(key, ' ') FROM (SELECT key FROM stored WHERE acked = 1 AND n <> {rows} LIMIT 5) m;
""").splitlines()
    t_acked, t_present, t_refused, t_refused_present, h_acked, h_present, h_refused, h_refused_present = map(
        int, out[0].split("|"))
    missing = out[1] if len(out) > 1 else ""
    figures["telemetry"].update(present=t_present, refused=t_refused, refused_but_stored=t_refused_present)
    figures["webhook"].update(present=h_present, refused=h_refused, refused_but_stored=h_refused_present)
    result(t_acked > 0 and t_present == t_acked,
           "telemetry: acknowledged batches stored whole: %d of %d (%d rows each)%s" %
           (t_present, t_acked, rows, "" if not missing else " -- missing: " + missing))
    result(h_acked > 0 and h_present == h_acked,
           "webhook: acknowledged deliveries in webhook_deliveries: %d of %d" % (h_present, h_acked))

    # The webhook processor (a thread of its own) reconnects too: every acknowledged delivery of
    # the run is processed (out of webhook_pending, with an outcome) without a restart.
    waited = time.time()
    pending = -1
    while time.time() - waited < 30:
        pending = int(psql(args.db, "SELECT COUNT(*) FROM webhook_pending"))
        if pending == 0:
            break
        time.sleep(0.5)
    processed = int(psql_script(args.db, f"""
CREATE TEMP TABLE sent_hooks (key TEXT, acked INT);
\\copy sent_hooks FROM '{hook_csv}' CSV
SELECT COUNT(*) FROM sent_hooks s JOIN webhook_deliveries d ON d.event_id = s.key
  JOIN webhook_outcomes o ON o.delivery_id = d.id WHERE s.acked = 1 AND o.status = 'processed';
"""))
    figures["webhook"]["processed"] = processed
    result(pending == 0 and processed == h_acked,
           "webhook: processing caught up without a restart: %d of %d acknowledged deliveries processed, "
           "%d pending (after %.1f s)" % (processed, h_acked, pending, time.time() - waited))

    figures["ok"] = all(results)
    with open(args.summary, "a") as f:
        f.write(json.dumps(figures) + "\n")
    return 0 if all(results) else 1


def summary(args):
    if not os.path.exists(args.summary):
        print("(no figures: no scenario got as far as counting)")
        return 1
    with open(args.summary) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    print("%-13s %8s %7s  %-9s %5s  %-22s %6s %8s %7s  %-13s %6s %9s" % (
        "scenario", "outage", "stop", "kind", "reqs", "overlapping: status:n", "inside", "max ms", "1st 2xx",
        "acked/present", "503+in", "processed"))
    for r in runs:
        for kind in ("telemetry", "webhook"):
            k = r[kind]
            statuses = " ".join("%s:%d" % (s, n) for s, n in sorted(k["overlap_by_status"].items(), key=lambda x: int(x[0])))
            first = "-" if k["first_2xx_after_ready_ms"] is None else "%d ms" % k["first_2xx_after_ready_ms"]
            print("%-13s %5d ms %4d ms  %-9s %5d  %-22s %6d %8d %7s  %-13s %6d %9s" % (
                r["label"], r["outage_ms"], r["stop_ms"], kind, k["requests"], statuses, k["inside"],
                k["max_answer_ms_outage"], first, "%d/%d" % (k["acked"], k["present"]), k["refused_but_stored"],
                k.get("processed", "")))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--base", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--vehicles", type=int, default=4)
    s.add_argument("--first", type=int, default=0, help="the first row of data/vehicles.csv to use")
    s.set_defaults(func=setup)
    s = sub.add_parser("load")
    s.add_argument("--base", required=True)
    s.add_argument("--state", required=True)
    s.add_argument("--amt", required=True)
    s.add_argument("--scenario", type=int, required=True)
    s.add_argument("--t-base", type=int, required=True)
    s.add_argument("--stop-file", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--telemetry-clients", type=int, default=4)
    s.add_argument("--webhook-clients", type=int, default=4)
    s.set_defaults(func=load)
    s = sub.add_parser("check")
    s.add_argument("--log", required=True)
    s.add_argument("--events", required=True)
    s.add_argument("--db", required=True)
    s.add_argument("--label", required=True)
    s.add_argument("--scenario", type=int, required=True)
    s.add_argument("--summary", required=True)
    s.set_defaults(func=check)
    s = sub.add_parser("summary")
    s.add_argument("--summary", required=True)
    s.set_defaults(func=summary)
    args = p.parse_args()
    sys.exit(args.func(args) or 0)


if __name__ == "__main__":
    main()
