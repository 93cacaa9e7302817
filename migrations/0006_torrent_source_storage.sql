-- A .torrent file is mostly its piece hashes, which do not compress: PostgreSQL's default for a value
-- over ~2 KB (try pglz, keep the result only if it saves a quarter) ran pglz over every source and
-- threw the result away, ~0.2 ms per add on the acknowledged path (10,000 synthetic .torrent files of
-- ~8 KB: 3.1-3.7 s of inserts with compression tried, 1.1-2.0 s without; none came out compressed).
-- Out of line, uncompressed. Applies to values written from now on.
ALTER TABLE revaer_runtime.torrents ALTER COLUMN source SET STORAGE EXTERNAL;
