-- qBittorrent's per-torrent settings that libtorrent's resume data does not carry (force start, super
-- seeding, first/last piece priority, share limits, automatic management, a display name, the
-- download path), so they survive a restart; and moves a client asked for (setSavePath), which the
-- post-processing worker runs as they are instead of planning them again from the category rules.
CREATE TABLE revaer_runtime.qb_torrent_settings (
    info_hash                   text PRIMARY KEY
                                REFERENCES revaer_runtime.torrents (info_hash) ON DELETE CASCADE,
    force_start                 boolean NOT NULL DEFAULT false,
    super_seeding               boolean NOT NULL DEFAULT false,
    first_last_piece_prio       boolean NOT NULL DEFAULT false,
    ratio_limit                 double precision NOT NULL DEFAULT -2,
    seeding_time_limit          integer NOT NULL DEFAULT -2,
    inactive_seeding_time_limit integer NOT NULL DEFAULT -2,
    auto_tmm                    boolean NOT NULL DEFAULT false,
    display_name                text NOT NULL DEFAULT '',
    download_path               text NOT NULL DEFAULT '',
    updated_at                  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE revaer_runtime.fs_jobs ADD COLUMN requested boolean NOT NULL DEFAULT false;

-- A category's download path (qBittorrent's "downloadPath"): NULL none given, '' explicitly off.
ALTER TABLE revaer_runtime.categories ADD COLUMN download_path text;
