-- Stored bytes to remove: queued in the transaction that forgets their file, removed after the
-- commit, and retried by the files.cleanup job while the backend (S3) cannot be reached, so no
-- object outlives its row unnoticed.
CREATE TABLE file_removals (
    id INTEGER PRIMARY KEY,
    storage TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    queued_at_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
-- The cleanup's sweep of files no longer referenced (chat attachments never sent).
CREATE INDEX files_purpose ON files (purpose, status, completed_at_ms);
