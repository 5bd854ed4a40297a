-- Uploaded files: a row per presigned upload (pending) that becomes ready once its bytes are
-- stored, checked against the declared size and type and hashed. The bytes live in the storage
-- backend under storage_key (local disk by default).
CREATE TABLE files (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('chat_attachment', 'receipt', 'vehicle_photo')),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    sha256 TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready')),
    storage TEXT NOT NULL,                 -- local, s3
    storage_key TEXT NOT NULL,
    upload_expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    completed_at_ms BIGINT
);
CREATE INDEX files_owner ON files (owner_id, status);
CREATE INDEX files_pending ON files (status, upload_expires_at_ms);
