-- Events too large for NOTIFY (8000 bytes) travel between nodes as a reference to a row here
-- (src/db/event_relay.cpp); rows older than an hour are deleted by the sender.
CREATE TABLE event_payloads (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX event_payloads_created ON event_payloads (created_at_ms);
