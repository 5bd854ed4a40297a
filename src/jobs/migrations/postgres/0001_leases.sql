-- Leases of the jobs that run on one node at a time: the node holding a job's lease runs it until
-- `until_ms`; another node may take it over only after that.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
