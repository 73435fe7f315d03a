-- Agreements (every version kept), their proposals (two-person rule), OAuth clients, used assertions.
ALTER TABLE partners ADD COLUMN state text NOT NULL DEFAULT 'CA' CHECK (state = 'CA');

CREATE TABLE agreements (
    id text NOT NULL,
    version integer NOT NULL CHECK (version >= 1),
    partner_ori text NOT NULL REFERENCES partners (ori),
    document_ref text NOT NULL,
    effective_from timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    scopes text[] NOT NULL,
    allowed_uses text[] NOT NULL,
    max_lookback_days integer NOT NULL CHECK (max_lookback_days BETWEEN 1 AND 365),
    status text NOT NULL CHECK (status IN ('active', 'revoked', 'superseded')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, version),
    CHECK (expires_at > effective_from)
);
-- At most one version of an agreement is the live one (active or revoked); the rest are superseded.
CREATE UNIQUE INDEX agreements_one_current ON agreements (id) WHERE status <> 'superseded';

CREATE TABLE agreement_proposals (
    id text PRIMARY KEY,
    action text NOT NULL CHECK (action IN ('create', 'change', 'revoke')),
    agreement_id text NOT NULL,
    before jsonb,
    after jsonb NOT NULL,
    reason text NOT NULL,
    proposed_by text NOT NULL,
    proposed_by_actor jsonb NOT NULL,
    proposed_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved')),
    approved_by text,
    approved_at timestamptz,
    -- The two-person rule, once more where no code path can skip it.
    CHECK (approved_by IS NULL OR approved_by <> proposed_by)
);
CREATE INDEX agreement_proposals_agreement ON agreement_proposals (agreement_id);

CREATE TABLE oauth_clients (
    client_id text PRIMARY KEY,
    agreement_id text NOT NULL,
    auth_method text NOT NULL CHECK (auth_method IN ('client_secret_basic', 'private_key_jwt')),
    secret_hash text,
    public_jwk jsonb,
    active boolean NOT NULL DEFAULT true,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((auth_method = 'client_secret_basic') = (secret_hash IS NOT NULL)),
    CHECK ((auth_method = 'private_key_jwt') = (public_jwk IS NOT NULL))
);

-- private_key_jwt assertions are single use: a jti is kept until the assertion expires (RFC 7523 §3).
CREATE TABLE used_assertions (
    client_id text NOT NULL,
    jti text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);

ALTER TABLE share_ledger ADD COLUMN agreement_version integer;
ALTER TABLE share_ledger ADD COLUMN client_id text;
ALTER TABLE share_ledger ADD COLUMN action text NOT NULL DEFAULT 'search';

GRANT SELECT, INSERT, UPDATE ON agreements TO alpr_sharing;
GRANT SELECT, INSERT, UPDATE ON agreement_proposals TO alpr_sharing;
GRANT SELECT, INSERT, UPDATE ON oauth_clients TO alpr_sharing;
GRANT SELECT, INSERT, DELETE ON used_assertions TO alpr_sharing;
