-- Vehicle data. History rows are narrow and keyed (vehicle, signal, time): the key is the index
-- every history query walks, and a re-delivered sample collides with it (idempotent ingest).
-- signal_id is the catalog's stable numeric id (src/telemetry/catalog.cpp), not the code text.
CREATE TABLE signal_history (
    vehicle_id INTEGER NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
    signal_id INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    value_num REAL,            -- numbers, booleans as 0/1
    value_text TEXT,           -- text, structured values as JSON
    source INTEGER NOT NULL,   -- 1 dongle, 2 webhook, 3 poll, 4 simulator
    PRIMARY KEY (vehicle_id, signal_id, t_ms)
) WITHOUT ROWID;

-- The newest value of each signal of each vehicle; moved only by a newer sample.
CREATE TABLE signal_latest (
    vehicle_id INTEGER NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
    signal_id INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    value_num REAL,
    value_text TEXT,
    source INTEGER NOT NULL,
    PRIMARY KEY (vehicle_id, signal_id)
) WITHOUT ROWID;
