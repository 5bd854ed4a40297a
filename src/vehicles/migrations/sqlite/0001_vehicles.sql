-- Vehicle registry. The internal integer id orders keyset pages (rows only ever append at the end,
-- so a page never shifts under concurrent inserts); public_id is the API's UUIDv7.
CREATE TABLE vehicles (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    vin TEXT NOT NULL UNIQUE,                -- upper case, validated by the application
    owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    make TEXT NOT NULL,
    model TEXT NOT NULL,
    vehicle_trim TEXT,
    model_year INTEGER,
    license_plate TEXT,
    odometer_km REAL,
    fuel_type TEXT CHECK (fuel_type IN ('gasoline', 'diesel', 'electric', 'hybrid', 'plugin_hybrid', 'hydrogen', 'other')),
    description TEXT,
    image_urls TEXT NOT NULL DEFAULT '[]',   -- JSON array of http(s) URLs
    dongle_id TEXT UNIQUE,
    connection_type TEXT CHECK (connection_type IN ('BLE', 'WIFI', 'CLOUD')),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    CHECK ((dongle_id IS NULL) = (connection_type IS NULL))
);
CREATE INDEX vehicles_owner ON vehicles (owner_id, id);
CREATE INDEX vehicles_make ON vehicles (lower(make), id);
