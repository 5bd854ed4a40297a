-- Accounts: users, refresh-token families and magic links.
CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,           -- normalised: trimmed, lower case
    phone TEXT,
    role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'fleet_manager', 'support', 'admin')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    password_hash TEXT,                   -- Argon2id (libsodium string); NULL: magic links only
    referral_code TEXT NOT NULL UNIQUE,
    referred_by BIGINT REFERENCES users (id),
    rewards_balance_cents BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX users_created ON users (created_at_ms, id);

CREATE TABLE refresh_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,      -- SHA-256 of the opaque token; the token itself is never stored
    device_id TEXT,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    rotated_at_ms BIGINT,                 -- set when exchanged for a new token
    revoked_at_ms BIGINT                  -- set for the whole family on logout or reuse
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE magic_links (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT
);
