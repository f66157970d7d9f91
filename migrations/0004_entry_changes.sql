-- Tell web processes which entries changed, so that the answers they keep in memory (entry
-- actors and WebFinger, directory/services/actor_cache.py) are dropped when they go stale
-- (performance-baseline F4). One NOTIFY on `hirondelle_entries` per statement, never per row
-- (an import changes a million rows in one statement): the X ids of the changed local entries,
-- comma-separated, or '*' ("anything may have changed") when they would not fit in a payload
-- (8,000 bytes at most) or after a TRUNCATE. NOTIFY is sent at commit, and not at all on
-- rollback. Every path that changes an answer writes the entries row: withdrawals, moves
-- (moved_to), handle and name changes, consents (consents_apply) and accounts
-- (accounts_touch_entry); entry keys have their own triggers below.

-- Notify the X ids in `ids` (repeats allowed); '*' when `complete` is false or too long.
CREATE FUNCTION notify_entry_changes(ids bigint[], complete boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    IF complete AND cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    IF complete THEN
        payload := (SELECT string_agg(DISTINCT id::text, ',') FROM unnest(ids) AS id);
    END IF;
    IF NOT complete OR octet_length(payload) > 7000 THEN
        payload := '*';
    END IF;
    PERFORM pg_notify('hirondelle_entries', payload);
END $$;

-- Transition tables differ per event, hence three triggers; each reads at most 3,501 rows of
-- its table, so that a million-row statement costs no more than a small one. Entries that came
-- from peer directories (origin_host set) are never served as our actors: left out.
CREATE FUNCTION entries_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[] := '{}';
    complete boolean := true;
    sample bigint[];
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        sample := ARRAY(SELECT x_account_id FROM old_rows WHERE origin_host IS NULL LIMIT 3501);
        ids := ids || sample;
        complete := cardinality(sample) <= 3500;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND complete THEN
        sample := ARRAY(SELECT x_account_id FROM new_rows WHERE origin_host IS NULL LIMIT 3501);
        ids := ids || sample;
        complete := cardinality(sample) <= 3500;
    END IF;
    PERFORM notify_entry_changes(ids, complete);
    RETURN NULL;
END $$;
CREATE TRIGGER entries_inserted_notify AFTER INSERT ON entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entries_notify_changes();
CREATE TRIGGER entries_updated_notify AFTER UPDATE ON entries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entries_notify_changes();
CREATE TRIGGER entries_deleted_notify AFTER DELETE ON entries
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entries_notify_changes();

-- A key that changes or goes (rotation) changes the actor document. A key inserted needs no
-- notification: keys are made on first use, and no answer is ever built without the entry's
-- key, so no kept answer can show another (and a notification per first fetch would stop
-- every read in flight from being kept).
CREATE FUNCTION entry_keys_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sample bigint[];
BEGIN
    sample := ARRAY(SELECT e.x_account_id FROM old_rows k JOIN entries e ON e.id = k.entry_id
                    WHERE e.origin_host IS NULL LIMIT 3501);
    PERFORM notify_entry_changes(sample, cardinality(sample) <= 3500);
    RETURN NULL;
END $$;
CREATE TRIGGER entry_keys_updated_notify AFTER UPDATE ON entry_keys
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entry_keys_notify_changes();
CREATE TRIGGER entry_keys_deleted_notify AFTER DELETE ON entry_keys
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entry_keys_notify_changes();

-- TRUNCATE has no rows to name (and accounts_touch_entry does not see it): drop everything.
CREATE FUNCTION notify_all_entries_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notify_entry_changes('{}', false);
    RETURN NULL;
END $$;
CREATE TRIGGER entries_truncated_notify AFTER TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_entries_changed();
CREATE TRIGGER accounts_truncated_notify AFTER TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_entries_changed();
CREATE TRIGGER entry_keys_truncated_notify AFTER TRUNCATE ON entry_keys
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_entries_changed();
