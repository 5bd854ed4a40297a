-- EV charging, part 1: sites, grid clusters, chargers and their connectors, id tags, charging
-- sessions (OCPP transactions) and their meter values. Internal ids are keys; public ids are the
-- API's (a charger's is its OCPP identity; a session's integer id is its OCPP transactionId).
CREATE TABLE charging_sites (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    address TEXT,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    time_zone TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE grid_clusters (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    site_id BIGINT REFERENCES charging_sites (id),
    name TEXT NOT NULL,
    capacity_kw DOUBLE PRECISION NOT NULL CHECK (capacity_kw > 0),
    peak_shaving_target_kw DOUBLE PRECISION,
    base_load_kw DOUBLE PRECISION NOT NULL DEFAULT 0,
    capacity_schedule TEXT NOT NULL DEFAULT '[]',  -- JSON [{"from":"HH:MM","to":"HH:MM","capacity_kw":x}], site-local
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE chargers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,              -- the OCPP chargePointId (decoded)
    cluster_id BIGINT REFERENCES grid_clusters (id),
    max_power_kw DOUBLE PRECISION NOT NULL CHECK (max_power_kw > 0),
    security_profile INTEGER NOT NULL DEFAULT 1 CHECK (security_profile IN (0, 1)),
    password_salt TEXT,                          -- SHA-256(salt || password), hex
    password_hash TEXT,
    pending_password_salt TEXT,                  -- a rotation sent to the charger, not yet Accepted
    pending_password_hash TEXT,
    registration_status TEXT NOT NULL DEFAULT 'Accepted' CHECK (registration_status IN ('Accepted', 'Pending', 'Rejected')),
    heartbeat_interval_s INTEGER NOT NULL DEFAULT 300,
    vendor TEXT,
    model TEXT,
    serial_number TEXT,
    charge_box_serial_number TEXT,
    firmware_version TEXT,
    iccid TEXT,
    imsi TEXT,
    meter_type TEXT,
    meter_serial_number TEXT,
    online BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen_at_ms BIGINT,
    last_boot_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX chargers_cluster ON chargers (cluster_id, id);

CREATE TABLE charger_connectors (
    charger_id BIGINT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    connector_id INTEGER NOT NULL CHECK (connector_id >= 0),  -- 0: the charge point itself
    max_power_kw DOUBLE PRECISION NOT NULL,
    phases INTEGER NOT NULL DEFAULT 3 CHECK (phases IN (1, 2, 3)),
    voltage_v DOUBLE PRECISION NOT NULL DEFAULT 230,
    status TEXT NOT NULL DEFAULT 'Unavailable',
    error_code TEXT NOT NULL DEFAULT 'NoError',
    info TEXT,
    vendor_error_code TEXT,
    status_at_ms BIGINT,
    PRIMARY KEY (charger_id, connector_id)
);

CREATE TABLE charging_id_tags (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    id_tag TEXT NOT NULL UNIQUE,                -- OCPP CiString20
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    vehicle_id BIGINT REFERENCES vehicles (id) ON DELETE SET NULL,
    parent_id_tag TEXT,
    expires_at_ms BIGINT,
    blocked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX charging_id_tags_user ON charging_id_tags (user_id, id);

CREATE TABLE charging_sessions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the OCPP transactionId
    public_id TEXT NOT NULL UNIQUE,
    charger_id BIGINT NOT NULL REFERENCES chargers (id),
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    vehicle_id BIGINT REFERENCES vehicles (id) ON DELETE SET NULL,
    reservation_id BIGINT,
    meter_start_wh BIGINT NOT NULL,
    meter_stop_wh BIGINT,
    started_at_ms BIGINT NOT NULL,
    stopped_at_ms BIGINT,
    stop_reason TEXT,
    energy_wh BIGINT,
    -- A StartTransaction re-sent after a lost answer carries the same connector, time and meter:
    -- it gets the same transaction back.
    start_key TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX charging_sessions_charger ON charging_sessions (charger_id, connector_id, stopped_at_ms);
CREATE INDEX charging_sessions_user ON charging_sessions (user_id, id);

CREATE TABLE charging_meter_values (
    session_id BIGINT REFERENCES charging_sessions (id) ON DELETE CASCADE,
    charger_id BIGINT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    connector_id INTEGER NOT NULL,
    at_ms BIGINT NOT NULL,
    measurand TEXT NOT NULL,
    phase TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT 'Outlet',
    context TEXT NOT NULL DEFAULT 'Sample.Periodic',
    unit TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    -- A MeterValues re-sent after a reconnect is stored once.
    PRIMARY KEY (charger_id, connector_id, at_ms, measurand, phase, location)
);
CREATE INDEX charging_meter_values_session ON charging_meter_values (session_id, at_ms);
