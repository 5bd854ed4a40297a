-- motorpool: rebuilds tables
-- The referral code and the rewards balance move out of users into this module: each code into
-- referral_codes, a balance into the ledger as one earned entry (referred_by went to referrals in
-- 0002). users is rebuilt without the three columns: SQLite cannot drop a UNIQUE or a
-- foreign-key column in place. The runner turns foreign keys off around this migration, so that
-- dropping the old table cascades to nothing, and checks every key before it commits.
CREATE TABLE referral_codes (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL
);
INSERT INTO referral_codes (user_id, code, created_at_ms) SELECT id, referral_code, created_at_ms FROM users;

INSERT INTO rewards_ledger (public_id, user_id, kind, amount_cents, reason, reference, created_at_ms)
SELECT 'legacy-balance-' || public_id, id, 'earned', rewards_balance_cents, 'balance carried over', 'legacy-balance',
       updated_at_ms
FROM users WHERE rewards_balance_cents > 0;

CREATE TABLE users_rebuilt (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,           -- normalised: trimmed, lower case
    phone TEXT,
    role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'fleet_manager', 'support', 'admin')),
    active INTEGER NOT NULL DEFAULT 1,
    password_hash TEXT,                   -- Argon2id (libsodium string); NULL: magic links only
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
INSERT INTO users_rebuilt (id, public_id, name, email, phone, role, active, password_hash, created_at_ms, updated_at_ms)
SELECT id, public_id, name, email, phone, role, active, password_hash, created_at_ms, updated_at_ms FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_created ON users (created_at_ms, id);
