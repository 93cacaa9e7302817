-- What a torrent was added from (its .torrent file, or a magnet URI as UTF-8), kept until its first
-- resume data is stored: an add is acknowledged once this row is committed, before the engine has
-- produced resume data, and a restart must still be able to re-add it.
ALTER TABLE revaer_runtime.torrents ADD COLUMN source bytea;
