-- Smartcar: connections (one per Connect approval, tokens sealed with XChaCha20-Poly1305 by
-- core::SecretBox, never in plain text), the Smartcar vehicles each one reaches, single-use OAuth
-- states, and the durable webhook delivery log.
CREATE TABLE smartcar_connections (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    smartcar_user_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'reauth_required', 'disconnected')),
    scopes TEXT NOT NULL DEFAULT '',          -- space separated, as granted
    access_token TEXT,                        -- sealed; NULL once disconnected
    refresh_token TEXT,                       -- sealed; NULL once disconnected
    access_expires_at_ms INTEGER,
    refresh_expires_at_ms INTEGER,
    token_generation INTEGER NOT NULL DEFAULT 0,  -- bumped by every refresh: compare-and-set across nodes
    refreshing_until_ms INTEGER,              -- a node holds the refresh until then (SQLite has no row locks)
    last_error TEXT,                          -- JSON {type, code, description, at}
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX smartcar_connections_user ON smartcar_connections (user_id, id);
CREATE INDEX smartcar_connections_refresh ON smartcar_connections (status, refresh_expires_at_ms);

CREATE TABLE smartcar_vehicles (
    smartcar_vehicle_id TEXT PRIMARY KEY,
    connection_id INTEGER NOT NULL REFERENCES smartcar_connections (id) ON DELETE CASCADE,
    vehicle_id INTEGER REFERENCES vehicles (id) ON DELETE SET NULL,  -- NULL: not linked (see conflict)
    vin TEXT,
    make TEXT,
    model TEXT,
    model_year INTEGER,
    conflict TEXT,                            -- why it is not linked: vin_owned_by_another_user, vin_not_permitted
    next_call_at_ms INTEGER NOT NULL DEFAULT 0,   -- Smartcar's Retry-After, remembered
    next_poll_at_ms INTEGER NOT NULL DEFAULT 0,
    last_polled_at_ms INTEGER,
    last_error TEXT,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX smartcar_vehicles_connection ON smartcar_vehicles (connection_id);
CREATE INDEX smartcar_vehicles_vehicle ON smartcar_vehicles (vehicle_id);
CREATE INDEX smartcar_vehicles_poll ON smartcar_vehicles (next_poll_at_ms);

-- Connect's `state`: stored as a SHA-256 only, bound to a user, ten minutes, used once.
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms INTEGER
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at_ms);

-- Every signed webhook delivery, committed before it is acknowledged; processed from here.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,            -- Smartcar's eventId (a hash of the body when it has none)
    event_type TEXT NOT NULL,
    delivery_id TEXT,
    received_at_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'failed', 'ignored')),
    outcome TEXT,
    redeliveries INTEGER NOT NULL DEFAULT 0,
    processed_at_ms INTEGER
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at_ms);
