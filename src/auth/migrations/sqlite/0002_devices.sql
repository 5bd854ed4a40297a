-- A user's devices: registered with POST /api/v1/me/devices or by the device_id given at login,
-- refreshed at every login and token refresh from them. A device's push token is where push
-- notifications would go (the notifier's push channels come later).
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    platform TEXT NOT NULL CHECK (platform IN ('ios', 'android', 'web', 'unknown')),
    push_token TEXT,
    app_version TEXT,
    created_at_ms INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL,
    UNIQUE (user_id, device_id)
);
CREATE INDEX refresh_tokens_device ON refresh_tokens (user_id, device_id);
