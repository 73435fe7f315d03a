-- The transparency page's shares with partners per month (issue #24): every entry of the share ledger is
-- a partner's request answered with our data. A statement trigger counts each insert in its own
-- transaction, so the figure cannot drift from the ledger. A month is a calendar month in UTC.
CREATE TABLE monthly_figures (
    month date NOT NULL CHECK (extract(day FROM month) = 1),
    figure text NOT NULL CHECK (figure IN ('partner_shares')),
    n bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (month, figure)
);

-- SECURITY DEFINER: the service role reads the figures; only the ledger's trigger writes them
CREATE FUNCTION count_shares() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO monthly_figures AS f (month, figure, n)
    SELECT date_trunc('month', at AT TIME ZONE 'UTC')::date, 'partner_shares', count(*) FROM new_entries
    GROUP BY 1 ORDER BY 1
    ON CONFLICT (month, figure) DO UPDATE SET n = f.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE TRIGGER share_ledger_count AFTER INSERT ON share_ledger REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION count_shares();

GRANT SELECT ON monthly_figures TO alpr_sharing;

INSERT INTO monthly_figures (month, figure, n)
SELECT date_trunc('month', at AT TIME ZONE 'UTC')::date, 'partner_shares', count(*) FROM share_ledger GROUP BY 1;
