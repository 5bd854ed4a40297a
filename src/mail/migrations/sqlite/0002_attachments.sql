-- Attachments of a queued message (an appointment's iCalendar file): a JSON array of
-- {filename, content_type, content}, NULL for a plain message.
ALTER TABLE mail_outbox ADD COLUMN attachments TEXT;
