-- Personnel registry, user classes, camera credentials and supervisor approvals.
CREATE TABLE user_classes (
    name text PRIMARY KEY,
    max_lookback_days integer NOT NULL CHECK (max_lookback_days BETWEEN 1 AND 365),
    allow_partial boolean NOT NULL DEFAULT false,
    allow_area boolean NOT NULL DEFAULT false,
    allow_images boolean NOT NULL DEFAULT false
);

CREATE TABLE persons (
    sub text PRIMARY KEY,
    name text NOT NULL,
    badge text NOT NULL,
    agency text NOT NULL,
    unit text NOT NULL DEFAULT '',
    roles text[] NOT NULL,
    user_class text REFERENCES user_classes(name),
    status text NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'deactivated', 'locked')),
    status_reason text,
    training_expires_at timestamptz,
    last_active_at timestamptz,
    approved_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- D1: the auditor role is held by a unit other than BFO Admin
    CONSTRAINT auditor_never_admin CHECK (NOT ('auditor' = ANY(roles) AND 'admin' = ANY(roles)))
);

CREATE TABLE auth_failures (
    id bigserial PRIMARY KEY,
    sub text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now(),
    reason text NOT NULL
);
CREATE INDEX auth_failures_sub_time ON auth_failures (sub, failed_at);

CREATE TABLE cameras (
    camera_id text PRIMARY KEY,
    agency text NOT NULL,
    vendor text NOT NULL,
    name text NOT NULL DEFAULT '',
    model text NOT NULL DEFAULT '',
    latitude double precision,
    longitude double precision,
    heading real,
    enabled boolean NOT NULL DEFAULT true,
    credential_id text UNIQUE,
    credential_hash text,
    last_seen_at timestamptz,
    refused_count bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE approvals (
    approval_id uuid PRIMARY KEY,
    requester_sub text NOT NULL,
    query jsonb NOT NULL,
    purpose jsonb NOT NULL,
    justification text NOT NULL,
    status text NOT NULL CHECK (status IN ('requested', 'granted', 'refused', 'used')),
    decided_by text,
    decided_at timestamptz,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT approver_is_not_requester CHECK (decided_by IS NULL OR decided_by <> requester_sub)
);

CREATE TABLE access_tally (
    day date NOT NULL,
    event_type text NOT NULL,
    count bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, event_type)
);

INSERT INTO user_classes VALUES
    ('sworn', 365, true, true, true),
    ('analyst', 365, true, true, true),
    ('patrol', 30, false, false, true),
    ('none', 1, false, false, false);

GRANT SELECT, INSERT, UPDATE ON persons, cameras, approvals, access_tally, user_classes TO alpr_gateway;
GRANT SELECT, INSERT ON auth_failures TO alpr_gateway;
GRANT USAGE ON SEQUENCE auth_failures_id_seq TO alpr_gateway;
GRANT SELECT ON schema_migrations TO alpr_gateway;
