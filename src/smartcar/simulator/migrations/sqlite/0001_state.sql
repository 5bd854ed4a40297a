-- The Smartcar simulator's state in simulated mode (accounts that approved Connect, their cars,
-- grants and tokens, webhook subscriptions), one row, sealed with core::SecretBox like every token:
-- a restart of `make run` is invisible, as it is with the real Smartcar.
CREATE TABLE smartcar_sim_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    state TEXT NOT NULL,
    saved_at_ms INTEGER NOT NULL
);
