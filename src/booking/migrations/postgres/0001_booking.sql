-- Service booking: the service catalogue, locations (IANA zone, weekly local opening hours, bays,
-- slot rules), the services each offers, dated closures or special hours, appointments (UTC
-- instants; `block_end_ms` adds the location's buffer) and the vehicles' service history.
CREATE TABLE booking_services (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    duration_min INTEGER NOT NULL CHECK (duration_min > 0),
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE booking_locations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    address TEXT,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    time_zone TEXT NOT NULL,
    bays INTEGER NOT NULL CHECK (bays > 0),
    opening_hours TEXT NOT NULL,              -- JSON {"mon":[["08:00","12:00"],...],...,"sun":[]}, local
    slot_interval_min INTEGER NOT NULL DEFAULT 15,
    min_notice_min INTEGER NOT NULL DEFAULT 120,
    buffer_min INTEGER NOT NULL DEFAULT 0,
    horizon_days INTEGER NOT NULL DEFAULT 180,
    cancel_cutoff_min INTEGER NOT NULL DEFAULT 120,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE booking_location_services (
    location_id BIGINT NOT NULL REFERENCES booking_locations (id) ON DELETE CASCADE,
    service_id BIGINT NOT NULL REFERENCES booking_services (id) ON DELETE CASCADE,
    PRIMARY KEY (location_id, service_id)
);

CREATE TABLE booking_closures (
    location_id BIGINT NOT NULL REFERENCES booking_locations (id) ON DELETE CASCADE,
    day TEXT NOT NULL,                        -- YYYY-MM-DD, the location's local date
    hours TEXT,                               -- JSON [["10:00","14:00"]]: special hours; NULL: closed
    note TEXT,
    PRIMARY KEY (location_id, day)
);

CREATE TABLE appointments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    vehicle_id BIGINT REFERENCES vehicles (id) ON DELETE SET NULL,
    location_id BIGINT NOT NULL REFERENCES booking_locations (id),
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    block_end_ms BIGINT NOT NULL,             -- end plus the location's buffer: what a bay is held for
    status TEXT NOT NULL CHECK (status IN ('booked', 'checked_in', 'in_progress', 'completed', 'cancelled', 'no_show')),
    services TEXT NOT NULL,                   -- JSON [{"code","name","duration_min","price_cents","included"}]
    price_cents BIGINT NOT NULL,
    notes TEXT,
    odometer_km DOUBLE PRECISION,
    work_done TEXT,
    reminder_sent_at_ms BIGINT,
    cancelled_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX appointments_location_time ON appointments (location_id, start_ms);
CREATE INDEX appointments_user ON appointments (user_id, start_ms);
CREATE INDEX appointments_vehicle ON appointments (vehicle_id, start_ms);

-- An appointment's services, one row each: what the member paid for each, and whether it counted
-- against their plan's yearly allowance (the membership module counts these).
CREATE TABLE appointment_services (
    appointment_id BIGINT NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    price_cents BIGINT NOT NULL,
    included BOOLEAN NOT NULL,
    PRIMARY KEY (appointment_id, code)
);
CREATE INDEX appointment_services_code ON appointment_services (code, appointment_id);
