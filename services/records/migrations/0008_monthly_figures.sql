-- The transparency page's monthly figures that records owns (issue #24): reads, hotlist hits, alert
-- dispositions and misreads corrected, one counter row per (month, figure, slot). Kept by statement triggers,
-- so every writer of a read or a disposition adds to it in the same statement and the figures cannot drift
-- from the facts; the page reads a dozen rows instead of scanning a year of reads.
-- A month is a calendar month in UTC. The purge removes reads, never their count: a figure says what happened.
CREATE TABLE monthly_figures (
    month date NOT NULL CHECK (extract(day FROM month) = 1),
    figure text NOT NULL CHECK (figure IN ('reads', 'hotlist_hits', 'alert_dispositions', 'misreads_corrected')),
    -- ingest pipelines commit concurrently: each connection adds to a slot of its own, so one batch's
    -- counter row never holds back another's commit; the reader sums the slots
    slot smallint NOT NULL CHECK (slot BETWEEN 0 AND 7),
    n bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (month, figure, slot)
);

-- SECURITY DEFINER: the service role may read the figures but not write them; only these triggers do
CREATE FUNCTION count_read_figures() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO monthly_figures AS f (month, figure, slot, n)
    SELECT month, figure, pg_backend_pid() % 8, n FROM (
        -- a vendor's preview is replaced by its final read, and a corrected version is the same pass
        SELECT date_trunc('month', captured_at AT TIME ZONE 'UTC')::date AS month, 'reads' AS figure, count(*) AS n
        FROM new_reads WHERE supersedes IS NULL AND NOT ('vendor_preview' = ANY (flags)) GROUP BY 1
        UNION ALL
        SELECT date_trunc('month', captured_at AT TIME ZONE 'UTC')::date, 'hotlist_hits', count(*)
        FROM new_reads WHERE supersedes IS NULL AND hotlist_hit AND NOT ('vendor_preview' = ANY (flags)) GROUP BY 1
        UNION ALL
        -- counted in the month of the correction, not of the capture
        SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date, 'misreads_corrected', count(*)
        FROM new_reads WHERE supersedes IS NOT NULL HAVING count(*) > 0
    ) AS counted
    ORDER BY month, figure  -- in key order, so two batches wait on each other in one order, never in a cycle
    ON CONFLICT (month, figure, slot) DO UPDATE SET n = f.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE TRIGGER reads_count_figures AFTER INSERT ON reads REFERENCING NEW TABLE AS new_reads
    FOR EACH STATEMENT EXECUTE FUNCTION count_read_figures();

CREATE FUNCTION count_dispositions() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO monthly_figures AS f (month, figure, slot, n)
    SELECT date_trunc('month', a.disposed_at AT TIME ZONE 'UTC')::date, 'alert_dispositions', pg_backend_pid() % 8,
           count(*)
    FROM new_alerts a JOIN old_alerts o USING (alert_id)
    WHERE o.disposition IS NULL AND a.disposition IS NOT NULL
    GROUP BY 1 ORDER BY 1
    ON CONFLICT (month, figure, slot) DO UPDATE SET n = f.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE TRIGGER alerts_count_dispositions AFTER UPDATE ON alerts
    REFERENCING OLD TABLE AS old_alerts NEW TABLE AS new_alerts
    FOR EACH STATEMENT EXECUTE FUNCTION count_dispositions();

GRANT SELECT ON monthly_figures TO alpr_records;

-- what was stored before this migration, counted once (a correction's time was not kept: its read's arrival)
INSERT INTO monthly_figures (month, figure, slot, n)
SELECT month, figure, 0, n FROM (
    SELECT date_trunc('month', captured_at AT TIME ZONE 'UTC')::date AS month, 'reads' AS figure, count(*) AS n
    FROM reads WHERE supersedes IS NULL AND NOT ('vendor_preview' = ANY (flags)) GROUP BY 1
    UNION ALL
    SELECT date_trunc('month', captured_at AT TIME ZONE 'UTC')::date, 'hotlist_hits', count(*)
    FROM reads WHERE supersedes IS NULL AND hotlist_hit AND NOT ('vendor_preview' = ANY (flags)) GROUP BY 1
    UNION ALL
    SELECT date_trunc('month', received_at AT TIME ZONE 'UTC')::date, 'misreads_corrected', count(*)
    FROM reads WHERE supersedes IS NOT NULL GROUP BY 1
    UNION ALL
    SELECT date_trunc('month', disposed_at AT TIME ZONE 'UTC')::date, 'alert_dispositions', count(*)
    FROM alerts WHERE disposition IS NOT NULL GROUP BY 1
) AS counted;
