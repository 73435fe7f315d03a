-- Training records with expiry (D2) and lock releases (D4); auth_failures stay as evidence.
CREATE TABLE training_records (
    id bigserial PRIMARY KEY,
    sub text NOT NULL REFERENCES persons(sub),
    course text NOT NULL,
    completed_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT training_expires_after_completion CHECK (expires_at > completed_at)
);
CREATE INDEX training_records_sub ON training_records (sub, expires_at);

-- failures before a release no longer count toward the next lockout
ALTER TABLE persons ADD COLUMN failures_cleared_at timestamptz;

GRANT SELECT, INSERT ON training_records TO alpr_gateway;
GRANT USAGE ON SEQUENCE training_records_id_seq TO alpr_gateway;
