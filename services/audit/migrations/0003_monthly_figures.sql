-- The transparency page's monthly figures that the audit log holds (issue #24): searches, denied searches
-- and prohibited-purpose refusals, one counter row per (month, figure). A statement trigger on the append
-- counts each batch in the writer's own transaction, so the figures cannot drift from the records; the page
-- reads a few dozen rows instead of scanning a year of the log. A month is a calendar month in UTC.
CREATE TABLE monthly_figures (
    month date NOT NULL CHECK (extract(day FROM month) = 1),
    figure text NOT NULL CHECK (figure IN ('searches', 'denied_searches', 'prohibited_purpose_refusals')),
    n bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (month, figure)
);

-- SECURITY DEFINER: the audit role only appends and reads; it cannot change a figure itself
CREATE FUNCTION count_access_figures() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO monthly_figures AS f (month, figure, n)
    SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, figure, count(*) FROM (
        SELECT occurred_at, 'searches' AS figure FROM new_records WHERE event_type = 'search'
        UNION ALL
        SELECT occurred_at, figure FROM (
            -- only a refusal's payload is parsed; a payload that is no JSON is never counted, never an error,
            -- because an error here would refuse the access record itself
            SELECT occurred_at, CASE WHEN pg_input_is_valid(payload, 'jsonb') THEN payload::jsonb -> 'details' END
                AS details
            FROM new_records WHERE event_type = 'access_denied'
        ) AS refusals
        CROSS JOIN LATERAL (
            SELECT 'denied_searches' AS figure WHERE details ->> 'route' = 'search'
            UNION ALL
            SELECT 'prohibited_purpose_refusals' WHERE details ->> 'refusal' = 'prohibited_purpose'
        ) AS kinds
    ) AS counted
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (month, figure) DO UPDATE SET n = f.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE TRIGGER access_records_count_figures AFTER INSERT ON access_records REFERENCING NEW TABLE AS new_records
    FOR EACH STATEMENT EXECUTE FUNCTION count_access_figures();

GRANT SELECT ON monthly_figures TO alpr_audit;

-- the log written before this migration, counted once
INSERT INTO monthly_figures (month, figure, n)
SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, figure, count(*) FROM (
    SELECT occurred_at, 'searches' AS figure FROM access_records WHERE event_type = 'search'
    UNION ALL
    SELECT occurred_at, 'denied_searches' FROM access_records
    WHERE event_type = 'access_denied' AND pg_input_is_valid(payload, 'jsonb')
      AND payload::jsonb -> 'details' ->> 'route' = 'search'
    UNION ALL
    SELECT occurred_at, 'prohibited_purpose_refusals' FROM access_records
    WHERE event_type = 'access_denied' AND pg_input_is_valid(payload, 'jsonb')
      AND payload::jsonb -> 'details' ->> 'refusal' = 'prohibited_purpose'
) AS counted
GROUP BY 1, 2;
