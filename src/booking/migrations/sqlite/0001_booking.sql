-- Service booking: the service catalogue, locations (IANA zone, weekly local opening hours, bays,
-- slot rules), the services each offers, dated closures or special hours, appointments (UTC
-- instants; `block_end_ms` adds the location's buffer) and the vehicles' service history.
CREATE TABLE booking_services (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    duration_min INTEGER NOT NULL CHECK (duration_min > 0),
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    active INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE booking_locations (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    address TEXT,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    time_zone TEXT NOT NULL,
    bays INTEGER NOT NULL CHECK (bays > 0),
    opening_hours TEXT NOT NULL,              -- JSON {"mon":[["08:00","12:00"],...],...,"sun":[]}, local
    slot_interval_min INTEGER NOT NULL DEFAULT 15,
    min_notice_min INTEGER NOT NULL DEFAULT 120,
    buffer_min INTEGER NOT NULL DEFAULT 0,
    horizon_days INTEGER NOT NULL DEFAULT 180,
    cancel_cutoff_min INTEGER NOT NULL DEFAULT 120,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE booking_location_services (
    location_id INTEGER NOT NULL REFERENCES booking_locations (id) ON DELETE CASCADE,
    service_id INTEGER NOT NULL REFERENCES booking_services (id) ON DELETE CASCADE,
    PRIMARY KEY (location_id, service_id)
);

CREATE TABLE booking_closures (
    location_id INTEGER NOT NULL REFERENCES booking_locations (id) ON DELETE CASCADE,
    day TEXT NOT NULL,                        -- YYYY-MM-DD, the location's local date
    hours TEXT,                               -- JSON [["10:00","14:00"]]: special hours; NULL: closed
    note TEXT,
    PRIMARY KEY (location_id, day)
);

CREATE TABLE appointments (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    vehicle_id INTEGER REFERENCES vehicles (id) ON DELETE SET NULL,
    location_id INTEGER NOT NULL REFERENCES booking_locations (id),
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    block_end_ms INTEGER NOT NULL,             -- end plus the location's buffer: what a bay is held for
    status TEXT NOT NULL CHECK (status IN ('booked', 'checked_in', 'in_progress', 'completed', 'cancelled', 'no_show')),
    services TEXT NOT NULL,                   -- JSON [{"code","name","duration_min","price_cents","included"}]
    price_cents INTEGER NOT NULL,
    notes TEXT,
    odometer_km REAL,
    work_done TEXT,
    reminder_sent_at_ms INTEGER,
    cancelled_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX appointments_location_time ON appointments (location_id, start_ms);
CREATE INDEX appointments_user ON appointments (user_id, start_ms);
CREATE INDEX appointments_vehicle ON appointments (vehicle_id, start_ms);

-- An appointment's services, one row each: what the member paid for each, and whether it counted
-- against their plan's yearly allowance (the membership module counts these).
CREATE TABLE appointment_services (
    appointment_id INTEGER NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    included INTEGER NOT NULL,
    PRIMARY KEY (appointment_id, code)
);
CREATE INDEX appointment_services_code ON appointment_services (code, appointment_id);
