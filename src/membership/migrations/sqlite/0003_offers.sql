-- Offers: a title and terms, a validity window, the plans eligible (empty: every member), the
-- locations it applies at (empty: everywhere), optional vehicle constraints, a redemption limit per
-- member; each redemption on a booked appointment is a row.
CREATE TABLE offers (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT,
    terms TEXT,
    starts_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    eligible_plans TEXT NOT NULL DEFAULT '[]',   -- JSON [plan codes]
    location_ids TEXT NOT NULL DEFAULT '[]',     -- JSON [location public ids]
    makes TEXT NOT NULL DEFAULT '[]',            -- JSON [makes], case-insensitive
    fuel_types TEXT NOT NULL DEFAULT '[]',       -- JSON [fuel types]
    year_min INTEGER,
    year_max INTEGER,
    limit_per_member INTEGER NOT NULL DEFAULT 1 CHECK (limit_per_member > 0),
    active INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    CHECK (expires_at_ms > starts_at_ms)
);

CREATE TABLE offer_redemptions (
    offer_id INTEGER NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sequence INTEGER NOT NULL,                   -- 1..limit: the unique key makes the limit hold under concurrency
    appointment_public_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (offer_id, user_id, sequence),
    UNIQUE (offer_id, appointment_public_id)
);
