-- Kept in step with PostgreSQL's 0005: a single SQLite node delivers events in process and never
-- uses this table.
CREATE TABLE event_payloads (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
