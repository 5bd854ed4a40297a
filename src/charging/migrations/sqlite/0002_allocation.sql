-- EV charging, part 2: drivers' charging requests (slot requests, and the default request of a car
-- that plugged in without one), emergency requests and their review, alerts (abuse and grid), a
-- cluster's tariff, the allocator's last plan per cluster and connector, the profiles dispatched to
-- each connector, and a cluster's load history (peaks, analytics).
ALTER TABLE grid_clusters ADD COLUMN tariff TEXT;  -- JSON {currency, prices[7][24], congestion_*}; NULL: none
ALTER TABLE grid_clusters ADD COLUMN planned_at_ms INTEGER;
ALTER TABLE grid_clusters ADD COLUMN plan TEXT;      -- JSON: the last allocation (load, capacity, cars)

-- What the allocator wants on a connector and what the charger confirmed. A limit counts as in
-- force only once Accepted; until then the planner assumes the worse of the old and the new.
ALTER TABLE charger_connectors ADD COLUMN target_kw REAL;
ALTER TABLE charger_connectors ADD COLUMN target_transaction_id INTEGER;
ALTER TABLE charger_connectors ADD COLUMN profile_kw REAL;            -- the last limit the charger accepted
ALTER TABLE charger_connectors ADD COLUMN profile_transaction_id INTEGER; -- for that transaction (NULL: a default)
ALTER TABLE charger_connectors ADD COLUMN profile_status TEXT;          -- Accepted, Rejected, NotSupported, Failed
ALTER TABLE charger_connectors ADD COLUMN profile_at_ms INTEGER;
ALTER TABLE charger_connectors ADD COLUMN profile_error_at_ms INTEGER;      -- the last send that got no answer (retried later)
ALTER TABLE chargers ADD COLUMN default_profile_a REAL;               -- the TxDefaultProfile it accepted (A per phase)

CREATE TABLE charging_requests (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,  -- NULL: a default request of an unknown id tag
    vehicle_id INTEGER REFERENCES vehicles (id) ON DELETE SET NULL,
    cluster_id INTEGER NOT NULL REFERENCES grid_clusters (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('slot', 'default')),
    energy_kwh REAL NOT NULL CHECK (energy_kwh > 0),
    target_soc_pct REAL,
    departure_at_ms INTEGER NOT NULL,
    priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('normal', 'emergency')),
    boost_kwh REAL,                       -- an emergency's boosted energy cap
    id_tag TEXT,                            -- matching: the tag the driver will present
    charger_id INTEGER REFERENCES chargers (id) ON DELETE SET NULL,
    connector_id INTEGER,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'charging', 'paused', 'completed', 'cancelled', 'expired')),
    reason TEXT,                            -- why waiting or paused
    session_id INTEGER REFERENCES charging_sessions (id) ON DELETE SET NULL,
    planned_kw REAL NOT NULL DEFAULT 0,
    expected_kwh REAL NOT NULL DEFAULT 0,
    delivered_kwh REAL NOT NULL DEFAULT 0,
    price_estimate REAL,
    plan TEXT NOT NULL DEFAULT '[]',        -- JSON [{from_ms,to_ms,power_kw}]
    first_energy_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX charging_requests_user ON charging_requests (user_id, id);
CREATE INDEX charging_requests_cluster ON charging_requests (cluster_id, status);
CREATE UNIQUE INDEX charging_requests_session ON charging_requests (session_id);

CREATE TABLE charging_emergencies (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    vehicle_id INTEGER REFERENCES vehicles (id) ON DELETE SET NULL,
    request_id INTEGER REFERENCES charging_requests (id) ON DELETE SET NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('approved', 'pending', 'rejected')),
    automatic INTEGER NOT NULL,
    boost_kwh REAL NOT NULL,
    reviewer_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    review_note TEXT,
    reviewed_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX charging_emergencies_user ON charging_emergencies (user_id, created_at_ms);
CREATE INDEX charging_emergencies_status ON charging_emergencies (status, id);

CREATE TABLE charging_alerts (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,                     -- emergency_limit, idle_occupancy, over_request, over_limit, profile_rejected, overload
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    cluster_id INTEGER REFERENCES grid_clusters (id) ON DELETE CASCADE,
    charger_id INTEGER REFERENCES chargers (id) ON DELETE CASCADE,
    session_id INTEGER REFERENCES charging_sessions (id) ON DELETE SET NULL,
    message TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,        -- one alert per fact (kind and subject)
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX charging_alerts_time ON charging_alerts (created_at_ms, id);

-- The cluster's load at each re-plan: peaks and the analytics read it.
CREATE TABLE grid_cluster_load (
    cluster_id INTEGER NOT NULL REFERENCES grid_clusters (id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL,
    capacity_kw REAL NOT NULL,
    allocated_kw REAL NOT NULL,
    measured_kw REAL NOT NULL,
    cars INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, at_ms)
);
