-- Configuration: one row per setting key, versioned, announced on change.
CREATE SCHEMA IF NOT EXISTS revaer_config;

CREATE TABLE revaer_config.settings (
    key        text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    value      jsonb NOT NULL,
    version    bigint NOT NULL DEFAULT 1 CHECK (version > 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Versions are assigned by the database, never by a client, so two writers
-- cannot both claim the same version.
CREATE FUNCTION revaer_config.settings_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.version := 1;
    ELSE
        NEW.version := OLD.version + 1;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER settings_bump
    BEFORE INSERT OR UPDATE ON revaer_config.settings
    FOR EACH ROW EXECUTE FUNCTION revaer_config.settings_bump();

-- The payload carries the new value when it fits in a NOTIFY (8000 bytes), so a
-- listener usually needs no round trip; otherwise it fetches the row. A deleted
-- key is announced with version 0 (back to its default).
CREATE FUNCTION revaer_config.settings_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    payload jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        payload := jsonb_build_object('key', OLD.key, 'version', 0);
    ELSE
        payload := jsonb_build_object('key', NEW.key, 'version', NEW.version);
        IF octet_length(NEW.value::text) <= 7000 THEN
            payload := payload || jsonb_build_object('value', NEW.value);
        END IF;
    END IF;
    PERFORM pg_notify('revaer_config_changed', payload::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER settings_notify
    AFTER INSERT OR UPDATE OR DELETE ON revaer_config.settings
    FOR EACH ROW EXECUTE FUNCTION revaer_config.settings_notify();

-- Installation state: exactly one row.
CREATE TABLE revaer_config.installation (
    id                     boolean PRIMARY KEY DEFAULT true CHECK (id),
    is_bootstrapped        boolean NOT NULL DEFAULT false,
    setup_token_hash       text,
    setup_token_created_at timestamptz,
    admin_username         text,
    admin_password_hash    text,
    bootstrapped_at        timestamptz,
    CHECK (NOT is_bootstrapped OR (admin_username IS NOT NULL AND admin_password_hash IS NOT NULL
                                   AND setup_token_hash IS NULL))
);
INSERT INTO revaer_config.installation (id) VALUES (true);

-- API keys: the public id finds the row; only a hash of the secret is stored.
CREATE TABLE revaer_config.api_keys (
    key_id       text PRIMARY KEY,
    secret_hash  text NOT NULL,
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
