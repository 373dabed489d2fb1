-- An upheld objection revokes the award (funds.evt.award_revoked.v1): the claim is 'revoked',
-- keeps its award id, and records funds' code, reason and time.
ALTER TABLE claims DROP CONSTRAINT claims_status_check;
ALTER TABLE claims ADD CONSTRAINT claims_status_check CHECK (status IN (
    'submitted', 'returned', 'awaiting_decision', 'approved', 'rejected', 'withdrawn',
    'reserved', 'reservation_refused', 'in_publicity', 'paid', 'revoked'));
ALTER TABLE claims DROP CONSTRAINT claims_check;
ALTER TABLE claims ADD CONSTRAINT claims_award_id_check CHECK (
    (status IN ('approved', 'reserved', 'reservation_refused', 'in_publicity', 'paid', 'revoked'))
    = (award_id IS NOT NULL));
ALTER TABLE claims ADD COLUMN revoked_at timestamptz;
ALTER TABLE claims ADD COLUMN revocation_code text;
ALTER TABLE claims ADD COLUMN revocation_reason text;
