-- The custodian and the auditors read the ledger newest first, by agreement, by partner, by period.
CREATE INDEX share_ledger_agreement ON share_ledger (agreement_id, id DESC);
CREATE INDEX share_ledger_partner ON share_ledger (partner_ori, id DESC);
CREATE INDEX share_ledger_at ON share_ledger (at);
