-- Find a withdrawn entry by X id without scanning every tombstone: the actor route's 404/410
-- answer for any id did that (60 ms per request at 1M tombstones, bench/README.md).
CREATE INDEX entries_tombstones_x_account_id ON entries (x_account_id) WHERE status = 'withdrawn';
