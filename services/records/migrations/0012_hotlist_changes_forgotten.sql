-- The highest change number among the removed entries the purge has deleted (hotlists/repository.py,
-- forget_removed). A replica learns of a removal only from the entry's row; once the row is deleted a
-- replica whose last applied change is below it can never follow that removal and would keep the entry
-- (a false hit) until it restarted. With this number it sees that its position was purged and reloads its
-- index in full (hotlists/follower.py). One row, raised only, in the purge's own statement.
CREATE TABLE hotlist_changes_forgotten (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    through bigint NOT NULL DEFAULT 0
);

INSERT INTO hotlist_changes_forgotten DEFAULT VALUES;

ALTER TABLE hotlist_changes_forgotten OWNER TO alpr_records;
