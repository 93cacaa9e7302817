-- Post-processing jobs: what the worker needs to finish or undo a move after a crash.
ALTER TABLE revaer_runtime.fs_jobs
    -- Resume the torrent after the move: false when it was paused before the job paused it.
    ADD COLUMN resume_after boolean NOT NULL DEFAULT true,
    -- The category the destination was planned for (a rules change re-plans pending jobs).
    ADD COLUMN category text NOT NULL DEFAULT '',
    ADD COLUMN finished_at timestamptz;

-- Jobs of one torrent (planning checks for an active one; the API lists them per torrent).
CREATE INDEX fs_jobs_info_hash ON revaer_runtime.fs_jobs (info_hash);
