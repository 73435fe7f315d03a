-- Our own reading searchable (issue #23 item 5): exact and look-alike search match our_plate too, on indexes
-- of their own; and a read whose position came from its camera's registration says so.

ALTER TABLE reads
    ADD COLUMN our_lookalike_key text,
    ADD COLUMN location_from_camera boolean NOT NULL DEFAULT false;
-- held copies take every column their read has (retention copies the columns both tables share)
ALTER TABLE held_reads
    ADD COLUMN our_lookalike_key text,
    ADD COLUMN location_from_camera boolean NOT NULL DEFAULT false;

-- only where we read the plate and our reading differs from the vendor's (few reads): where they agree, the
-- vendor's index finds the read. Search asks each index in an arm of its own: an OR of both columns planned a
-- bitmap of two indexes in every partition (bench/search.py, 2,000,000 reads, a year's look-alike search:
-- p50 900 ms with the OR, 16 ms with the arms, 12 ms before our reading was searched)
CREATE INDEX reads_our_plate_time ON reads (our_plate, captured_at DESC)
    WHERE our_plate IS NOT NULL AND our_plate IS DISTINCT FROM plate;
CREATE INDEX reads_our_lookalike_time ON reads (our_lookalike_key, captured_at DESC)
    WHERE our_lookalike_key IS NOT NULL AND our_lookalike_key IS DISTINCT FROM lookalike_key;
CREATE INDEX held_reads_our_plate_time ON held_reads (our_plate, captured_at DESC)
    WHERE our_plate IS NOT NULL AND our_plate IS DISTINCT FROM plate;
CREATE INDEX held_reads_our_lookalike_time ON held_reads (our_lookalike_key, captured_at DESC)
    WHERE our_lookalike_key IS NOT NULL AND our_lookalike_key IS DISTINCT FROM lookalike_key;

-- reads stored before: their key by the default classes (services/records/lookalike.py DEFAULT_LOOKALIKE_SPEC
-- "0ODQ,1IL,8B,5S,2Z,6G"), the same rule ingest applied to lookalike_key
UPDATE reads SET our_lookalike_key = translate(our_plate, 'ODQILBSZG', '000118526') WHERE our_plate IS NOT NULL;
UPDATE held_reads SET our_lookalike_key = translate(our_plate, 'ODQILBSZG', '000118526') WHERE our_plate IS NOT NULL;

-- the plate-day map names the days of either reading, so an exact search for our reading probes those days too
CREATE OR REPLACE FUNCTION note_plate_days() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    -- in key order, so two batches that share plates wait on each other in one order, never in a cycle
    INSERT INTO read_plate_days (plate, day)
    SELECT DISTINCT read_plate, (captured_at AT TIME ZONE 'UTC')::date FROM (
        SELECT plate AS read_plate, captured_at FROM new_reads WHERE plate IS NOT NULL
        UNION ALL
        SELECT our_plate, captured_at FROM new_reads WHERE our_plate IS NOT NULL AND our_plate IS DISTINCT FROM plate
    ) AS readings
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

INSERT INTO read_plate_days (plate, day)
SELECT DISTINCT our_plate, (captured_at AT TIME ZONE 'UTC')::date FROM reads
WHERE our_plate IS NOT NULL AND our_plate IS DISTINCT FROM plate
ON CONFLICT DO NOTHING;
