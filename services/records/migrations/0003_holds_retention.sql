-- Legal holds (B2), copies of held reads kept apart from the daily partitions, corrections (G3)
-- and the outbox of deletion certificates (B3).

-- a correction adds a version row; the one it replaces points at it, so searches skip it cheaply
ALTER TABLE reads ADD COLUMN superseded_by uuid;

CREATE TABLE legal_holds (
    hold_id uuid PRIMARY KEY,
    case_number text NOT NULL,
    justification text NOT NULL,
    requester_sub text NOT NULL,
    requester_name text,
    approver_sub text,
    approver_name text,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'active', 'rejected', 'released', 'lapsed')),
    review_date date NOT NULL,
    read_ids uuid[] NOT NULL DEFAULT '{}',
    plate text,
    window_since timestamptz,
    window_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    ended_at timestamptz,
    end_reason text,
    -- B2: the approving supervisor is never the requester
    CHECK (approver_sub IS NULL OR approver_sub <> requester_sub),
    CHECK (cardinality(read_ids) > 0 OR (plate IS NOT NULL AND window_since < window_until))
);
CREATE INDEX legal_holds_active ON legal_holds (status, review_date);
CREATE INDEX legal_holds_case ON legal_holds (case_number);

-- copies of held reads whose partition has gone: not partitioned, so no purge drops them
CREATE TABLE held_reads (LIKE reads INCLUDING DEFAULTS);
ALTER TABLE held_reads
    ADD COLUMN hold_ids uuid[] NOT NULL,
    ADD COLUMN held_at timestamptz NOT NULL DEFAULT now(),
    ADD PRIMARY KEY (read_id, captured_at);
CREATE INDEX held_reads_plate_time ON held_reads (plate, captured_at DESC);
CREATE INDEX held_reads_lookalike_time ON held_reads (lookalike_key, captured_at DESC);
CREATE INDEX held_reads_holds ON held_reads USING gin (hold_ids);

CREATE TABLE held_read_images (LIKE read_images INCLUDING DEFAULTS);
ALTER TABLE held_read_images ADD PRIMARY KEY (read_id, captured_at, kind);

-- written in the purge's transaction, published to AUDIT after commit, republished until it is
CREATE TABLE purge_certificates (
    event_id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    payload jsonb NOT NULL,
    published_at timestamptz
);
CREATE INDEX purge_certificates_unpublished ON purge_certificates (created_at) WHERE published_at IS NULL;

ALTER TABLE legal_holds OWNER TO alpr_records;
ALTER TABLE held_reads OWNER TO alpr_records;
ALTER TABLE held_read_images OWNER TO alpr_records;
ALTER TABLE purge_certificates OWNER TO alpr_records;
