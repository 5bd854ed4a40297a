-- Support chat: threads between one member and the support team, their messages (with a client
-- message id that makes a re-send idempotent), the files attached, and each participant's read
-- position.
CREATE TABLE chat_threads (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    member_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'waiting_on_member', 'closed')),
    assignee_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    vehicle_id BIGINT REFERENCES vehicles (id) ON DELETE SET NULL,
    appointment_id BIGINT REFERENCES appointments (id) ON DELETE SET NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    last_message_at_ms BIGINT
);
CREATE INDEX chat_threads_member ON chat_threads (member_id, last_message_at_ms);
CREATE INDEX chat_threads_status ON chat_threads (status, last_message_at_ms);

CREATE TABLE chat_messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    thread_id BIGINT NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    sender_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    sender_role TEXT NOT NULL,
    body TEXT NOT NULL,
    attachments TEXT NOT NULL,            -- JSON [{id, filename, content_type, size_bytes}]
    client_msg_id TEXT,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (thread_id, sender_id, client_msg_id)
);
CREATE INDEX chat_messages_thread ON chat_messages (thread_id, id);

-- Which files messages hold (a file still attached is referenced).
CREATE TABLE chat_message_files (
    message_id BIGINT NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
    file_id BIGINT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, file_id)
);
CREATE INDEX chat_message_files_file ON chat_message_files (file_id);

CREATE TABLE chat_reads (
    thread_id BIGINT NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id BIGINT NOT NULL,          -- the last message read (internal id)
    read_at_ms BIGINT NOT NULL,
    PRIMARY KEY (thread_id, user_id)
);
