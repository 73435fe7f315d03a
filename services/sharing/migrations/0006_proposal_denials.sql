-- The custodian may deny a proposal as well as approve it (one decision shape for every two-person step);
-- a denial keeps who denied it, when and why, and the proposer can no more deny than approve their own.
ALTER TABLE agreement_proposals DROP CONSTRAINT agreement_proposals_status_check;
ALTER TABLE agreement_proposals
    ADD CONSTRAINT agreement_proposals_status_check CHECK (status IN ('pending', 'approved', 'denied')),
    ADD COLUMN denied_by text,
    ADD COLUMN denied_at timestamptz,
    ADD COLUMN decision_reason text,
    ADD CONSTRAINT agreement_proposals_denier_not_proposer CHECK (denied_by IS NULL OR denied_by <> proposed_by),
    ADD CONSTRAINT agreement_proposals_one_decider CHECK (approved_by IS NULL OR denied_by IS NULL);
