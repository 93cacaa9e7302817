-- RSS: the tree of feeds and folders, the articles of each feed with their read marks, and the
-- auto-download rules. Paths are qBittorrent's item paths ('\' between the parts).
CREATE SCHEMA IF NOT EXISTS revaer_rss;

CREATE TABLE revaer_rss.items (
    path            text PRIMARY KEY CHECK (path <> ''),
    -- Insertion order: items are read back in the order they were added.
    seq             bigserial NOT NULL,
    is_feed         boolean NOT NULL,
    uid             uuid UNIQUE,
    url             text UNIQUE,
    title           text NOT NULL DEFAULT '',
    last_build_date text NOT NULL DEFAULT '',
    has_error       boolean NOT NULL DEFAULT false,
    refreshed_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (is_feed = (uid IS NOT NULL AND url IS NOT NULL))
);

CREATE TABLE revaer_rss.articles (
    feed_uid  uuid NOT NULL REFERENCES revaer_rss.items (uid) ON DELETE CASCADE,
    guid      text NOT NULL,
    published timestamptz NOT NULL,
    -- title, link, torrentURL, description, author: what the feed gave.
    data      jsonb NOT NULL,
    is_read   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (feed_uid, guid)
);
CREATE INDEX articles_by_date ON revaer_rss.articles (feed_uid, published DESC);

CREATE TABLE revaer_rss.rules (
    name       text PRIMARY KEY CHECK (name <> ''),
    seq        bigserial NOT NULL,
    -- qBittorrent's rule object (enabled, mustContain, affectedFeeds, savePath, ...).
    definition jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
