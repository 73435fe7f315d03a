-- The custodian lists deletion certificates newest first, by the period they were issued in.
CREATE INDEX purge_certificates_issued ON purge_certificates (created_at DESC, event_id DESC);
