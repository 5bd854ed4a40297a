-- Rewards can pay part of an appointment: how much of its price they paid (spent from the
-- membership module's ledger in the booking transaction, refunded there when it is cancelled).
ALTER TABLE appointments ADD COLUMN rewards_cents INTEGER NOT NULL DEFAULT 0 CHECK (rewards_cents >= 0);
