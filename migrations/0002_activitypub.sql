-- ActivityPub state: keys, the remote actor cache, followers, received activities (inbox),
-- sent activities (outbox) and their per-inbox deliveries, and per-host delivery health.
-- DESIGN.md §3 "Federation state", §4. Background work is rows claimed with SKIP LOCKED.

-- The instance actor's key pair (one row). Entry actors get theirs on first use.
CREATE TABLE instance_keys (
    id           smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    private_pem  text NOT NULL,
    public_pem   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Each entry actor signs with its own key: Mastodon only processes an activity whose actor is
-- the signature's owner (mastodon-interop.md §4). Erased with the entry's personal data.
CREATE TABLE entry_keys (
    entry_id     bigint PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
    private_pem  text NOT NULL,
    public_pem   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A fediverse account that moved here is confirmed by its actor listing ours in alsoKnownAs.
ALTER TABLE accounts ADD COLUMN alias_verified_at timestamptz;
-- The actor id our entry actor announces in movedTo (kept once published, DESIGN §4).
ALTER TABLE entries ADD COLUMN moved_to text;
ALTER TABLE entries ADD CONSTRAINT moved_to_is_https_or_http
    CHECK (moved_to IS NULL OR moved_to ~ '^https?://');

-- Remote actors we have fetched: for keys (signature checks) and inboxes (deliveries).
CREATE TABLE remote_actors (
    uri            text PRIMARY KEY,
    host           text NOT NULL,
    inbox          text NOT NULL,
    shared_inbox   text,
    key_id         text,
    public_key_pem text,
    username       text,
    also_known_as  text[] NOT NULL DEFAULT '{}',
    fetched_at     timestamptz NOT NULL DEFAULT now(),
    gone_at        timestamptz
);
CREATE INDEX remote_actors_key_id ON remote_actors (key_id);

-- Who follows our actors. entry_id NULL: the instance actor.
CREATE TABLE followers (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id       bigint REFERENCES entries (id) ON DELETE CASCADE,
    actor_uri      text NOT NULL,
    inbox          text NOT NULL,    -- where to deliver: the follower's shared inbox, or inbox
    follow_id      text NOT NULL,    -- the id of the Follow activity (for Undo by id)
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX followers_once ON followers (coalesce(entry_id, 0), actor_uri);
CREATE INDEX followers_follow_id ON followers (follow_id);

-- Received activities, stored before we answer 202 and processed by the worker.
CREATE TYPE work_state AS ENUM ('pending', 'done', 'failed');
CREATE TABLE inbox_items (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_id      text NOT NULL UNIQUE,   -- duplicates and replays have one effect
    actor_uri        text NOT NULL,          -- the verified signer, equal to the activity's actor
    addressed_x_id   bigint,                 -- the entry actor whose own inbox got it, if any
    payload          jsonb NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now(),
    state            work_state NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT '-infinity',  -- new work is due at once
    locked_until     timestamptz,
    error            text
);
CREATE INDEX inbox_items_due ON inbox_items (next_attempt_at) WHERE state = 'pending';

-- Activities we send, written in the same transaction as the change they announce.
CREATE TABLE outbox_activities (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_id  text NOT NULL UNIQUE,
    entry_id     bigint REFERENCES entries (id) ON DELETE SET NULL,  -- NULL: the instance actor
    actor_uri    text NOT NULL,
    type         text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_activities_entry ON outbox_activities (entry_id, id);

-- One row per (activity, inbox): the unit of delivery, retried for days.
CREATE TABLE deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_id      bigint NOT NULL REFERENCES outbox_activities (id) ON DELETE CASCADE,
    inbox            text NOT NULL,
    host             text NOT NULL,
    state            work_state NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT '-infinity',  -- new work is due at once
    locked_until     timestamptz,
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    CONSTRAINT delivery_once UNIQUE (activity_id, inbox)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';

-- Delivery health per host: consecutive failures park a dead host instead of hammering it.
CREATE TABLE hosts (
    host                  text PRIMARY KEY,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    last_success_at       timestamptz,
    last_failure_at       timestamptz,
    last_error            text
);

-- Wake the worker when work arrives (LISTEN hirondelle_work).
CREATE FUNCTION notify_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hirondelle_work', TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER inbox_items_notify AFTER INSERT ON inbox_items
    FOR EACH STATEMENT EXECUTE FUNCTION notify_work();
CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION notify_work();
