-- Facts about this installation (installation id, first start), one row per key.
CREATE TABLE instance_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
