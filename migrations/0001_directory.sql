-- The directory: entries keyed by X numeric account id, their linked new accounts, proofs,
-- per-purpose consent history, and tombstones (withdrawn entries keep only id and dates).
-- DESIGN.md §3. Forward-only; never edit a migration that has shipped.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TYPE entry_status AS ENUM ('pending', 'published', 'withdrawn', 'disputed');
CREATE TYPE network AS ENUM ('fediverse', 'bluesky');
CREATE TYPE consent_purpose AS ENUM (
    'listed',      -- listed in this directory
    'federated',   -- shared with peer instances
    'findable',    -- findable from Mastodon (WebFinger, entry actor)
    'public',      -- visible to everyone (otherwise only to people whose X archive lists me)
    'announce',    -- announce my #eXit publicly
    'notify'       -- notify me of new matches
);

CREATE TABLE entries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    x_account_id     bigint NOT NULL CHECK (x_account_id > 0),
    -- X handles are mutable and recycled: an attribute, never a key. NULL once withdrawn.
    x_handle         text COLLATE "C" CHECK (x_handle ~ '^[A-Za-z0-9_]{1,15}$'),
    x_handle_key     text COLLATE "C" GENERATED ALWAYS AS (lower(x_handle)) STORED,
    display_name     text CHECK (char_length(display_name) <= 100),
    name_key         text COLLATE "C",   -- search_key(display_name), written by the store
    status           entry_status NOT NULL DEFAULT 'pending',
    x_proof_method   text CHECK (x_proof_method IN ('x_oauth', 'moderator', 'vouched', 'archive')),
    x_proof_level    smallint NOT NULL DEFAULT 0 CHECK (x_proof_level BETWEEN 0 AND 3),
    -- Current consents; the consents table below is their history (a trigger keeps them in step).
    consent_listed    boolean NOT NULL DEFAULT false,
    consent_federated boolean NOT NULL DEFAULT false,
    consent_findable  boolean NOT NULL DEFAULT false,
    consent_public    boolean NOT NULL DEFAULT false,
    consent_announce  boolean NOT NULL DEFAULT false,
    consent_notify    boolean NOT NULL DEFAULT false,
    origin_host      text,               -- NULL: created here; otherwise the peer it came from
    ap_id            text,               -- for remote entries: the actor id at their origin
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz,
    withdrawn_at     timestamptz,
    -- The public JSON document, kept current by entries_render(); served as-is.
    doc              json,
    CONSTRAINT published_needs_listed_consent
        CHECK (status <> 'published' OR consent_listed),
    CONSTRAINT published_needs_x_proof
        CHECK (status <> 'published' OR x_proof_level >= 1),
    CONSTRAINT published_has_date
        CHECK (status <> 'published' OR published_at IS NOT NULL),
    CONSTRAINT live_entry_has_handle
        CHECK ((status = 'withdrawn') = (x_handle IS NULL)),
    CONSTRAINT tombstone_keeps_no_personal_data
        CHECK (status <> 'withdrawn' OR (display_name IS NULL AND name_key IS NULL
               AND x_proof_method IS NULL AND withdrawn_at IS NOT NULL
               AND NOT (consent_listed OR consent_federated OR consent_findable
                        OR consent_public OR consent_announce OR consent_notify))),
    CONSTRAINT live_entry_has_name
        CHECK (status = 'withdrawn' OR (display_name IS NOT NULL AND name_key IS NOT NULL))
);

-- One live local entry per X id, and one per X handle (WebFinger must be unambiguous).
CREATE UNIQUE INDEX entries_local_x_account_id ON entries (x_account_id)
    WHERE origin_host IS NULL AND status <> 'withdrawn';
CREATE UNIQUE INDEX entries_local_x_handle ON entries (x_handle_key)
    WHERE origin_host IS NULL AND status <> 'withdrawn';
-- Lookups and bulk match read published entries only.
CREATE INDEX entries_published_x_account_id ON entries (x_account_id)
    WHERE status = 'published';
-- Search reads published entries visible to everyone: prefix on a COLLATE "C" btree
-- (performance-baseline F2), fuzzy on trigrams for queries of 3 characters or more.
CREATE INDEX entries_public_x_handle ON entries (x_handle_key)
    WHERE status = 'published' AND consent_public;
CREATE INDEX entries_public_name ON entries (name_key)
    WHERE status = 'published' AND consent_public;
CREATE INDEX entries_public_name_trgm ON entries USING gin (name_key gin_trgm_ops)
    WHERE status = 'published' AND consent_public;
CREATE INDEX entries_tombstones ON entries (withdrawn_at) WHERE status = 'withdrawn';
CREATE INDEX entries_updated_at ON entries (updated_at, id);

CREATE TABLE accounts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Deferrable so that a bulk import can link accounts before it inserts their entries, and
    -- render each entry once (store/imports.py).
    entry_id      bigint NOT NULL
                  CONSTRAINT accounts_entry REFERENCES entries (id) ON DELETE CASCADE
                  DEFERRABLE INITIALLY IMMEDIATE,
    network       network NOT NULL,
    handle        text NOT NULL CHECK (char_length(handle) BETWEEN 3 AND 320),
    handle_key    text COLLATE "C" NOT NULL,
    canonical_id  text,        -- actor URI or DID once resolved
    profile_url   text NOT NULL CHECK (profile_url LIKE 'https://%'),
    proof_method  text CHECK (proof_method IN (
                      'vouched', 'mastodon_oauth', 'alias',
                      'atproto_oauth', 'app_password', 'profile_code')),
    verified_at   timestamptz,
    is_primary    boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT account_once_per_entry UNIQUE (entry_id, network, handle_key),
    CONSTRAINT verified_means_proven CHECK ((proof_method IS NULL) = (verified_at IS NULL))
);
CREATE INDEX accounts_handle_key ON accounts (handle_key);
CREATE UNIQUE INDEX accounts_one_primary ON accounts (entry_id, network) WHERE is_primary;

-- Proofs are first-class records, shown to users; entries.x_proof_* is the strongest X proof.
CREATE TABLE proofs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id     bigint NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    account_id   bigint REFERENCES accounts (id) ON DELETE CASCADE,  -- NULL: proves the X side
    method       text NOT NULL,
    level        smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
    statement    text NOT NULL DEFAULT '',   -- what was checked, in words; never a secret
    recorded_by  text NOT NULL,              -- 'cli:entries import', a moderator, a flow
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX proofs_entry ON proofs (entry_id);

-- Consent history: append-only; the newest row per (entry, purpose) is in force.
CREATE TABLE consents (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id      bigint NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    purpose       consent_purpose NOT NULL,
    granted       boolean NOT NULL,
    text_version  text NOT NULL,     -- which wording of the consent text was agreed to
    source        text NOT NULL,     -- 'self', 'organisation' (vouched import), 'withdrawal'
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consents_entry ON consents (entry_id, purpose, id);

-- Keep entries.consent_* equal to the newest consent row of each purpose. Statement-level, so
-- that a bulk import updates each entry once; entries whose consents do not change are left alone.
CREATE FUNCTION consents_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entries e SET
        consent_listed    = coalesce(c.listed, e.consent_listed),
        consent_federated = coalesce(c.federated, e.consent_federated),
        consent_findable  = coalesce(c.findable, e.consent_findable),
        consent_public    = coalesce(c.public, e.consent_public),
        consent_announce  = coalesce(c.announce, e.consent_announce),
        consent_notify    = coalesce(c.notify, e.consent_notify)
    FROM (
        SELECT entry_id,
               (array_agg(granted ORDER BY id DESC) FILTER (WHERE purpose = 'listed'))[1] AS listed,
               (array_agg(granted ORDER BY id DESC) FILTER (WHERE purpose = 'federated'))[1] AS federated,
               (array_agg(granted ORDER BY id DESC) FILTER (WHERE purpose = 'findable'))[1] AS findable,
               (array_agg(granted ORDER BY id DESC) FILTER (WHERE purpose = 'public'))[1] AS public,
               (array_agg(granted ORDER BY id DESC) FILTER (WHERE purpose = 'announce'))[1] AS announce,
               (array_agg(granted ORDER BY id DESC) FILTER (WHERE purpose = 'notify'))[1] AS notify
        FROM added GROUP BY entry_id
    ) c
    WHERE e.id = c.entry_id
      AND (e.consent_listed, e.consent_federated, e.consent_findable, e.consent_public, e.consent_announce, e.consent_notify) IS DISTINCT FROM
          (coalesce(c.listed, e.consent_listed), coalesce(c.federated, e.consent_federated), coalesce(c.findable, e.consent_findable), coalesce(c.public, e.consent_public), coalesce(c.announce, e.consent_announce), coalesce(c.notify, e.consent_notify));
    RETURN NULL;
END $$;
CREATE TRIGGER consents_apply AFTER INSERT ON consents
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION consents_apply();

-- The public JSON document of an entry (the API's entry shape). X ids travel as strings:
-- snowflakes exceed 2^53 and would lose precision as JSON numbers.
CREATE FUNCTION entry_document(e entries) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN e.status = 'withdrawn' THEN NULL ELSE json_build_object(
        'x_account_id', e.x_account_id::text,
        'x_handle', e.x_handle,
        'display_name', e.display_name,
        'status', e.status,
        'x_proof', json_build_object('method', e.x_proof_method, 'level', e.x_proof_level),
        'origin', coalesce(e.origin_host, 'local'),
        'published_at', e.published_at,
        'updated_at', e.updated_at,
        'accounts', coalesce((
            SELECT json_agg(json_build_object(
                'network', a.network,
                'handle', a.handle,
                'url', a.profile_url,
                'primary', a.is_primary,
                'proof', CASE WHEN a.proof_method IS NULL THEN NULL
                         ELSE json_build_object('method', a.proof_method,
                                                'verified_at', a.verified_at) END
            ) ORDER BY a.network, NOT a.is_primary, a.id)
            FROM accounts a WHERE a.entry_id = e.id), '[]'::json)
    ) END
$$;

CREATE FUNCTION entries_render() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    NEW.doc := entry_document(NEW);
    RETURN NEW;
END $$;
CREATE TRIGGER entries_render BEFORE INSERT OR UPDATE ON entries
    FOR EACH ROW EXECUTE FUNCTION entries_render();

-- A change to an entry's accounts re-renders the entry.
CREATE FUNCTION accounts_touch_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entries SET updated_at = now()
    WHERE id IN (SELECT entry_id FROM changed);
    RETURN NULL;
END $$;
CREATE TRIGGER accounts_inserted AFTER INSERT ON accounts
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_touch_entry();
CREATE TRIGGER accounts_updated AFTER UPDATE ON accounts
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_touch_entry();
CREATE TRIGGER accounts_deleted AFTER DELETE ON accounts
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_touch_entry();
