-- Which days hold reads of a plate, so an exact-plate search probes only those daily partitions
-- instead of all 365 (issue #8: a year-long exact search spent its time opening and probing each one).
-- Kept by a statement trigger, so every writer of reads (ingest, corrections, a restore) adds to it in
-- the same statement. It may name days that no longer hold the plate (a purge, the B5 cap, a dropped
-- preview): a search only probes those days, it never trusts the map for the rows themselves.
-- Monthly partitions, dropped by the purge once the whole month is past the retention cutoff.
CREATE TABLE read_plate_days (
    plate text NOT NULL,
    day date NOT NULL,
    PRIMARY KEY (plate, day)
) PARTITION BY RANGE (day);

CREATE FUNCTION note_plate_days() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    -- in key order, so two batches that share plates wait on each other in one order, never in a cycle
    INSERT INTO read_plate_days (plate, day)
    SELECT DISTINCT plate, (captured_at AT TIME ZONE 'UTC')::date FROM new_reads WHERE plate IS NOT NULL
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER reads_note_plate_days AFTER INSERT ON reads REFERENCING NEW TABLE AS new_reads
    FOR EACH STATEMENT EXECUTE FUNCTION note_plate_days();

ALTER TABLE read_plate_days OWNER TO alpr_records;
ALTER FUNCTION note_plate_days() OWNER TO alpr_records;

-- reads stored before this migration: a month partition for each month that has a day partition, then the map
DO $$
DECLARE
    month date;
BEGIN
    FOR month IN
        SELECT DISTINCT date_trunc('month', to_date(right(c.relname, 8), 'YYYYMMDD'))::date
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'reads'::regclass
    LOOP
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF read_plate_days FOR VALUES FROM (%L) TO (%L)',
            'read_plate_days_' || to_char(month, 'YYYYMM'), month, (month + interval '1 month')::date
        );
        EXECUTE format('ALTER TABLE %I OWNER TO alpr_records', 'read_plate_days_' || to_char(month, 'YYYYMM'));
    END LOOP;
END $$;

INSERT INTO read_plate_days (plate, day)
SELECT DISTINCT plate, (captured_at AT TIME ZONE 'UTC')::date FROM reads WHERE plate IS NOT NULL
ON CONFLICT DO NOTHING;
