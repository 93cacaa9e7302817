-- Runtime registry: what the engine holds, so a restart (or another node) can re-add it.
CREATE SCHEMA IF NOT EXISTS revaer_runtime;

CREATE TYPE revaer_runtime.torrent_state AS ENUM (
    'queued', 'checking', 'downloading', 'seeding', 'paused', 'stalled', 'error', 'completed', 'moving'
);

CREATE TYPE revaer_runtime.fs_job_status AS ENUM ('pending', 'moving', 'moved', 'failed', 'skipped');

CREATE TABLE revaer_runtime.categories (
    name       text PRIMARY KEY CHECK (name <> ''),
    save_path  text NOT NULL DEFAULT '',
    template   text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE revaer_runtime.tags (
    name       text PRIMARY KEY CHECK (name <> '' AND position(',' IN name) = 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE revaer_runtime.torrents (
    info_hash       text PRIMARY KEY CHECK (info_hash ~ '^[0-9a-f]{40}$'),
    info_hash_v2    text CHECK (info_hash_v2 IS NULL OR info_hash_v2 ~ '^[0-9a-f]{64}$'),
    name            text NOT NULL DEFAULT '',
    state           revaer_runtime.torrent_state NOT NULL DEFAULT 'queued',
    category        text REFERENCES revaer_runtime.categories (name) ON UPDATE CASCADE ON DELETE SET NULL,
    tags            text[] NOT NULL DEFAULT '{}',
    save_path       text NOT NULL DEFAULT '',
    added_at        timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    resume_data     bytea,
    resume_saved_at timestamptz,
    engine_snapshot jsonb NOT NULL DEFAULT '{}',
    -- The node that runs this torrent (several nodes may share one database).
    owner           text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX torrents_owner ON revaer_runtime.torrents (owner);
CREATE INDEX torrents_category ON revaer_runtime.torrents (category);

CREATE TABLE revaer_runtime.fs_jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    info_hash       text NOT NULL REFERENCES revaer_runtime.torrents (info_hash) ON DELETE CASCADE,
    source          text NOT NULL,
    destination     text NOT NULL,
    status          revaer_runtime.fs_job_status NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Planning the same move twice is a no-op.
    UNIQUE (info_hash, destination)
);
-- The worker's claim query: due jobs in order (FOR UPDATE SKIP LOCKED).
CREATE INDEX fs_jobs_due ON revaer_runtime.fs_jobs (next_attempt_at) WHERE status IN ('pending', 'moving');
