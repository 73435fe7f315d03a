-- The custodian approves a document, not a file name: each version keeps the signed document's SHA-256,
-- and a proposal keeps the partner (ORI, name, kind) as the custodian was shown it when deciding (C1, C3).
ALTER TABLE agreements ADD COLUMN document_sha256 text CHECK (document_sha256 ~ '^[0-9a-f]{64}$');
ALTER TABLE agreement_proposals ADD COLUMN partner jsonb;

-- A California ORI names one of the 58 counties (001-058); NOT VALID so rows entered earlier stay readable
-- (the service checks them again at each proposal and approval).
ALTER TABLE partners ADD CONSTRAINT partners_california_county_ori
    CHECK (ori ~ '^CA(0[0-4][0-9]|05[0-8])[0-9A-Z]{4}$' AND ori !~ '^CA000') NOT VALID;
