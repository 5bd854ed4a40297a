-- The referral code and the rewards balance move out of users into this module: each code into
-- referral_codes, a balance into the ledger as one earned entry (referred_by went to referrals in
-- 0002); then the three columns are dropped from users.
CREATE TABLE referral_codes (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL
);
INSERT INTO referral_codes (user_id, code, created_at_ms) SELECT id, referral_code, created_at_ms FROM users;

INSERT INTO rewards_ledger (public_id, user_id, kind, amount_cents, reason, reference, created_at_ms)
SELECT 'legacy-balance-' || public_id, id, 'earned', rewards_balance_cents, 'balance carried over', 'legacy-balance',
       updated_at_ms
FROM users WHERE rewards_balance_cents > 0;

ALTER TABLE users DROP COLUMN referral_code, DROP COLUMN referred_by, DROP COLUMN rewards_balance_cents;
