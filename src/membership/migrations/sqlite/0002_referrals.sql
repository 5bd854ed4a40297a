-- Referrals and rewards. A referral is recorded when a member registers with another's code
-- (pending) and credited exactly once at the referred member's first paid action. Rewards are a
-- ledger (earned, spent, expired): the balance is derived, never a counter updated in place.
CREATE TABLE referrals (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    referrer_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    referred_id INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,  -- one referral per referred user
    status TEXT NOT NULL CHECK (status IN ('pending', 'credited')),
    credited_action TEXT,                   -- membership, appointment
    referrer_reward_cents INTEGER,           -- 0 when the referrer's monthly cap was reached
    referred_reward_cents INTEGER,
    created_at_ms INTEGER NOT NULL,
    credited_at_ms INTEGER,
    CHECK (referrer_id <> referred_id)
);
CREATE INDEX referrals_referrer ON referrals (referrer_id, credited_at_ms);

CREATE TABLE rewards_ledger (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('earned', 'spent', 'expired')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,                -- what it is for: a referral, an appointment
    created_at_ms INTEGER NOT NULL,
    UNIQUE (user_id, kind, reference)       -- the same fact is booked once
);
CREATE INDEX rewards_ledger_user ON rewards_ledger (user_id, id);

-- Referrals made before this module kept them (users.referred_by), as pending.
INSERT INTO referrals (public_id, referrer_id, referred_id, status, created_at_ms)
SELECT 'legacy-' || public_id, referred_by, id, 'pending', created_at_ms FROM users
WHERE referred_by IS NOT NULL AND referred_by <> id;
