-- Memberships: plans (price, the services included and how many a year, benefits), each member's
-- membership (one current at a time; expired ones stay as history) and the ledger of charges.
CREATE TABLE membership_plans (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    currency TEXT NOT NULL DEFAULT 'EUR',
    included_services TEXT NOT NULL DEFAULT '{}',  -- JSON {"oil_change": 2, ...}: per membership year
    benefits TEXT NOT NULL DEFAULT '[]',           -- JSON ["Free car wash", ...]
    active INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE memberships (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan_id INTEGER NOT NULL REFERENCES membership_plans (id),
    status TEXT NOT NULL CHECK (status IN ('active', 'cancelled', 'expired')),
    started_at_ms INTEGER NOT NULL,                 -- membership years count from here
    period_start_ms INTEGER NOT NULL,
    period_end_ms INTEGER NOT NULL,
    pending_plan_id INTEGER REFERENCES membership_plans (id),  -- a downgrade, from the next period
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
-- One current membership per member, whatever the concurrency.
CREATE UNIQUE INDEX memberships_current ON memberships (user_id) WHERE status <> 'expired';
CREATE INDEX memberships_period_end ON memberships (status, period_end_ms);

CREATE TABLE membership_charges (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    membership_id INTEGER NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    plan_code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('subscription', 'upgrade', 'renewal')),
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_reference TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('settled', 'failed')),
    period_start_ms INTEGER NOT NULL,
    period_end_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX membership_charges_user ON membership_charges (user_id, id);
