-- When the member was last told by e-mail of a reply they were not connected to see (at most
-- one such e-mail per thread every 15 minutes).
ALTER TABLE chat_threads ADD COLUMN member_mailed_at_ms BIGINT;
