-- A delivery's row holds what arrived and is never rewritten: pending deliveries are listed in a
-- narrow table of their own, and processing appends a narrow outcome row (before, processing
-- rewrote the 1.5 KB row and a partial index). docs/decisions.md.
CREATE TABLE webhook_pending (
    delivery_id BIGINT PRIMARY KEY REFERENCES webhook_deliveries (id) ON DELETE CASCADE
);
CREATE TABLE webhook_outcomes (
    delivery_id BIGINT PRIMARY KEY REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('processed', 'failed', 'ignored')),
    outcome TEXT,
    processed_at_ms BIGINT NOT NULL
);
INSERT INTO webhook_pending (delivery_id) SELECT id FROM webhook_deliveries WHERE status = 'pending';
INSERT INTO webhook_outcomes (delivery_id, status, outcome, processed_at_ms)
    SELECT id, status, outcome, COALESCE(processed_at_ms, received_at_ms) FROM webhook_deliveries
    WHERE status <> 'pending';
DROP INDEX webhook_deliveries_pending;
ALTER TABLE webhook_deliveries DROP COLUMN status, DROP COLUMN outcome, DROP COLUMN processed_at_ms;
