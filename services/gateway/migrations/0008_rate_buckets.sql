-- Rate-limit budgets shared by the gateway replicas (ratelimit.py): one row per (kind, key), from which each
-- replica leases a few tokens at a time. Rows idle past a full refill are pruned, so the table stays small.
CREATE TABLE rate_buckets (
    kind text NOT NULL,
    key text NOT NULL,
    tokens double precision NOT NULL,
    granted double precision NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (kind, key)
);
CREATE INDEX rate_buckets_updated_at ON rate_buckets (updated_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_buckets TO alpr_gateway;
