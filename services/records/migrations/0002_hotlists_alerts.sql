-- Hotlists, their entries, alerts and verifications.
-- Every write to entries takes a number from hotlist_change_seq under one advisory lock, so the
-- numbers commit in order and each replica's index follows the changes by reading past its last one.
CREATE SEQUENCE hotlist_change_seq;

CREATE TABLE hotlists (
    hotlist_id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    source text NOT NULL,
    description text,
    shareable boolean NOT NULL DEFAULT false,
    partner_ori text UNIQUE,
    agreement_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    refreshed_at timestamptz
);

CREATE TABLE hotlist_entries (
    entry_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hotlist_id uuid NOT NULL REFERENCES hotlists (hotlist_id),
    source text NOT NULL,
    plate text NOT NULL,
    state text,
    ncic_record_type text,
    reason text,
    case_number text,
    nic text,
    ori text,
    vehicle_year integer,
    make text,
    model text,
    style text,
    colour text,
    priority integer NOT NULL DEFAULT 50,
    entered_at timestamptz NOT NULL,
    refreshed_at timestamptz NOT NULL,
    -- B4/C5: no entry without an expiry
    expires_at timestamptz NOT NULL,
    entered_by text,
    removed_at timestamptz,
    change_seq bigint NOT NULL DEFAULT nextval('hotlist_change_seq')
);

CREATE INDEX hotlist_entries_change ON hotlist_entries (change_seq);
CREATE INDEX hotlist_entries_list ON hotlist_entries (hotlist_id, entry_id) WHERE removed_at IS NULL;
CREATE INDEX hotlist_entries_plate ON hotlist_entries (plate) WHERE removed_at IS NULL;

-- leading parts of an import file too large for one NATS message, until the import joins them
CREATE TABLE hotlist_import_parts (
    upload_id text NOT NULL,
    part integer NOT NULL,
    hotlist_id uuid NOT NULL REFERENCES hotlists (hotlist_id),
    content bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (upload_id, part)
);

CREATE TABLE alerts (
    alert_id uuid PRIMARY KEY,
    read_id uuid NOT NULL,
    captured_at timestamptz NOT NULL,
    raised_at timestamptz NOT NULL,
    agency text NOT NULL,
    camera_id text NOT NULL,
    entry_id bigint NOT NULL,
    hotlist_id uuid NOT NULL,
    match_type text NOT NULL,
    matched_text text NOT NULL,
    state_mismatch boolean NOT NULL,
    stale boolean NOT NULL,
    -- the whole alert as raised (E1): what the officer saw must not change with later list edits
    body jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    disposition text,
    disposed_at timestamptz,
    disposed_by text,
    published_at timestamptz,
    UNIQUE (read_id, entry_id)
);

CREATE INDEX alerts_raised ON alerts (raised_at DESC);
CREATE INDEX alerts_unpublished ON alerts (read_id) WHERE published_at IS NULL;

CREATE TABLE alert_verifications (
    verification_id uuid PRIMARY KEY,
    alert_id uuid NOT NULL REFERENCES alerts (alert_id),
    officer_sub text NOT NULL,
    verified_at timestamptz NOT NULL,
    plate_seen text NOT NULL,
    state_seen text,
    vehicle_matches boolean NOT NULL,
    other_source_checked boolean NOT NULL,
    character_mismatches integer[] NOT NULL,
    state_agrees boolean NOT NULL,
    outcome text NOT NULL,
    notes text
);

CREATE INDEX alert_verifications_alert ON alert_verifications (alert_id, verified_at);

ALTER TABLE hotlists OWNER TO alpr_records;
ALTER TABLE hotlist_entries OWNER TO alpr_records;
ALTER SEQUENCE hotlist_change_seq OWNER TO alpr_records;
ALTER TABLE hotlist_import_parts OWNER TO alpr_records;
ALTER TABLE alerts OWNER TO alpr_records;
ALTER TABLE alert_verifications OWNER TO alpr_records;
