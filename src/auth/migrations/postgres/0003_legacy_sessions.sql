-- Sessions of the original services' clients (MOTORPOOL_COMPAT): their refresh token is not
-- rotated, and may be used again until it expires (docs/compatibility.md).
ALTER TABLE refresh_tokens ADD COLUMN reusable INTEGER NOT NULL DEFAULT 0;
