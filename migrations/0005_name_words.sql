-- The words of the names that search shows, to correct misspelt queries: trigram similarity
-- against a table of distinct words instead of millions of names (the pattern of the pg_trgm
-- documentation; bench/README.md "Search"). `entries` counts the published, public entries
-- whose name_key has the word; a word goes when its count reaches zero, so a withdrawn or
-- hidden name leaves nothing here. Words shorter than 3 characters are left out (no trigrams).

CREATE TABLE name_words (
    word    text COLLATE "C" PRIMARY KEY,
    entries integer NOT NULL
);
CREATE INDEX name_words_trgm ON name_words USING gin (word gin_trgm_ops);

INSERT INTO name_words (word, entries)
SELECT word, count(*) FROM entries, unnest(string_to_array(name_key, ' ')) AS word
WHERE status = 'published' AND consent_public AND length(word) >= 3
GROUP BY word;

-- Apply a statement's changes: +1 per word of each new visible name, -1 per word of each old
-- one. One INSERT in word order (rows are locked in a fixed order, so two writers cannot
-- deadlock here), then the words that no visible name has any more are deleted.
CREATE FUNCTION name_words_apply(added text[], removed text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    emptied text[];
BEGIN
    WITH delta AS (
        SELECT word, sum(d)::integer AS d FROM (
            SELECT unnest(added) AS word, 1 AS d
            UNION ALL
            SELECT unnest(removed), -1
        ) AS changes
        WHERE length(word) >= 3
        GROUP BY word HAVING sum(d) <> 0
    ), applied AS (
        INSERT INTO name_words AS n (word, entries)
        SELECT word, d FROM delta ORDER BY word
        ON CONFLICT (word) DO UPDATE SET entries = n.entries + excluded.entries
        RETURNING word, entries
    )
    SELECT array_agg(word) INTO emptied FROM applied WHERE entries <= 0;
    IF emptied IS NOT NULL THEN
        DELETE FROM name_words WHERE word = ANY(emptied);
    END IF;
END $$;

CREATE FUNCTION name_words_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added text[] := '{}';
    removed text[] := '{}';
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        added := ARRAY(SELECT unnest(string_to_array(name_key, ' ')) FROM new_rows
                       WHERE status = 'published' AND consent_public);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        removed := ARRAY(SELECT unnest(string_to_array(name_key, ' ')) FROM old_rows
                         WHERE status = 'published' AND consent_public);
    END IF;
    IF added <> removed THEN
        PERFORM name_words_apply(added, removed);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER entries_inserted_name_words AFTER INSERT ON entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION name_words_track();
CREATE TRIGGER entries_updated_name_words AFTER UPDATE ON entries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION name_words_track();
CREATE TRIGGER entries_deleted_name_words AFTER DELETE ON entries
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION name_words_track();
CREATE FUNCTION name_words_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM name_words;
    RETURN NULL;
END $$;
CREATE TRIGGER entries_truncated_name_words AFTER TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION name_words_clear();
