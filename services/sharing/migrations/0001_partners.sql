-- Partner agencies and inter-agency agreements (only California public agencies; see service rules).
CREATE TABLE partners (
    ori text PRIMARY KEY CHECK (ori ~ '^CA[0-9A-Z]{7}$'),
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('ca_state_agency', 'ca_local_agency')),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE share_ledger (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    agreement_id text NOT NULL,
    partner_ori text NOT NULL,
    requester jsonb NOT NULL,
    on_behalf_of jsonb NOT NULL,
    purpose jsonb NOT NULL,
    query jsonb NOT NULL,
    result_ids text[] NOT NULL
);

GRANT SELECT, INSERT, UPDATE ON partners TO alpr_sharing;
GRANT SELECT, INSERT ON share_ledger TO alpr_sharing;
GRANT USAGE ON SEQUENCE share_ledger_id_seq TO alpr_sharing;
GRANT SELECT ON schema_migrations TO alpr_sharing;
