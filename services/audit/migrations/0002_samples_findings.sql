-- F1 and A5: the audit unit's random samples, its findings, and the daily completeness checks.
-- Append-only like the log: a sample is redrawn from its seed, a finding is corrected by a later one.
CREATE TABLE audit_samples (
    sample_id text PRIMARY KEY,
    seed bigint NOT NULL,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    size integer NOT NULL,
    stratum_size integer NOT NULL,
    population integer NOT NULL,
    drawn_by text NOT NULL,
    drawn_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end > period_start)
);

CREATE TABLE audit_sample_items (
    sample_id text NOT NULL REFERENCES audit_samples (sample_id),
    position integer NOT NULL,
    event_id text NOT NULL REFERENCES access_records (event_id),
    stratum text NOT NULL CHECK (stratum IN ('random', 'partial_plate', 'repeated_plate', 'off_hours')),
    PRIMARY KEY (sample_id, position),
    UNIQUE (sample_id, event_id)
);

CREATE TABLE audit_findings (
    finding_id text PRIMARY KEY,
    sample_id text NOT NULL,
    event_id text NOT NULL,
    verdict text NOT NULL CHECK (verdict IN ('compliant', 'violation', 'needs_follow_up')),
    notes text NOT NULL DEFAULT '',
    auditor_sub text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (sample_id, event_id) REFERENCES audit_sample_items (sample_id, event_id)
);
CREATE INDEX audit_findings_sample ON audit_findings (sample_id, recorded_at);

CREATE TABLE completeness_checks (
    check_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day date NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT now(),
    ok boolean NOT NULL,
    gateway text NOT NULL,
    audit_log text NOT NULL,
    differences text NOT NULL
);
CREATE INDEX completeness_checks_day ON completeness_checks (day, checked_at);

CREATE TRIGGER audit_samples_append_only BEFORE UPDATE OR DELETE ON audit_samples
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_samples_no_truncate BEFORE TRUNCATE ON audit_samples
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_sample_items_append_only BEFORE UPDATE OR DELETE ON audit_sample_items
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_sample_items_no_truncate BEFORE TRUNCATE ON audit_sample_items
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_findings_append_only BEFORE UPDATE OR DELETE ON audit_findings
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_findings_no_truncate BEFORE TRUNCATE ON audit_findings
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER completeness_checks_append_only BEFORE UPDATE OR DELETE ON completeness_checks
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER completeness_checks_no_truncate BEFORE TRUNCATE ON completeness_checks
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

REVOKE ALL ON audit_samples, audit_sample_items, audit_findings, completeness_checks FROM PUBLIC;
GRANT SELECT, INSERT ON audit_samples, audit_sample_items, audit_findings, completeness_checks TO alpr_audit;
