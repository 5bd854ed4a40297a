-- Support chat: threads between one member and the support team, their messages (with a client
-- message id that makes a re-send idempotent), the files attached, and each participant's read
-- position.
CREATE TABLE chat_threads (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    member_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'waiting_on_member', 'closed')),
    assignee_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    vehicle_id INTEGER REFERENCES vehicles (id) ON DELETE SET NULL,
    appointment_id INTEGER REFERENCES appointments (id) ON DELETE SET NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    last_message_at_ms INTEGER
);
CREATE INDEX chat_threads_member ON chat_threads (member_id, last_message_at_ms);
CREATE INDEX chat_threads_status ON chat_threads (status, last_message_at_ms);

CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    thread_id INTEGER NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    sender_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    sender_role TEXT NOT NULL,
    body TEXT NOT NULL,
    attachments TEXT NOT NULL,            -- JSON [{id, filename, content_type, size_bytes}]
    client_msg_id TEXT,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (thread_id, sender_id, client_msg_id)
);
CREATE INDEX chat_messages_thread ON chat_messages (thread_id, id);

-- Which files messages hold (a file still attached is referenced).
CREATE TABLE chat_message_files (
    message_id INTEGER NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
    file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, file_id)
);
CREATE INDEX chat_message_files_file ON chat_message_files (file_id);

CREATE TABLE chat_reads (
    thread_id INTEGER NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,          -- the last message read (internal id)
    read_at_ms INTEGER NOT NULL,
    PRIMARY KEY (thread_id, user_id)
);
