-- The access log: append-only and hash-chained. Owned by the migrating superuser, never by the
-- service role, which may only INSERT and SELECT (so it cannot disable the triggers either).
CREATE TABLE access_records (
    seq bigint PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    event_type text NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    payload text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    actor_sub text GENERATED ALWAYS AS ((actor::jsonb) ->> 'sub') STORED,
    plate text GENERATED ALWAYS AS (upper((payload::jsonb) -> 'query' ->> 'plate')) STORED,
    case_number text GENERATED ALWAYS AS ((payload::jsonb) -> 'purpose' ->> 'case_number') STORED
);
CREATE INDEX access_records_actor_time ON access_records (actor_sub, occurred_at);
CREATE INDEX access_records_plate ON access_records (plate, occurred_at);
CREATE INDEX access_records_case ON access_records (case_number);
CREATE INDEX access_records_type_time ON access_records (event_type, occurred_at);

CREATE TABLE checkpoints (
    tree_size bigint PRIMARY KEY,
    root_hash text NOT NULL,
    signed_at timestamptz NOT NULL,
    key_id text NOT NULL,
    signature text NOT NULL
);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER access_records_append_only BEFORE UPDATE OR DELETE ON access_records
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER access_records_no_truncate BEFORE TRUNCATE ON access_records
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

REVOKE ALL ON access_records, checkpoints FROM PUBLIC;
GRANT SELECT, INSERT ON access_records, checkpoints TO alpr_audit;
GRANT SELECT ON schema_migrations TO alpr_audit;
