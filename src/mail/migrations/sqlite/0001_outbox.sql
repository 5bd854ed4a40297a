-- The outbox the mailer delivers from (claimed with UPDATE ... RETURNING across nodes).
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at_ms INTEGER,
    locked_until_ms INTEGER,                   -- claimed by a mailer until then (several nodes never send twice)
    last_error TEXT
);
CREATE INDEX mail_outbox_pending ON mail_outbox (sent_at_ms, id);
