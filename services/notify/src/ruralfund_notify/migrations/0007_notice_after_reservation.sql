-- Issue 16: a notice is published once funds reserved the award, for as many working days as
-- its program says (11); new mails: the refusal with its figures (6), the objection's outcome
-- and the award's revocation to the objector (6), the bank account change to the contact on
-- record before it (9).
ALTER TABLE programs ADD COLUMN publicity_working_days int NOT NULL DEFAULT 5
    CHECK (publicity_working_days BETWEEN 1 AND 30);
ALTER TABLE notices ADD COLUMN working_days int NOT NULL DEFAULT 5
    CHECK (working_days BETWEEN 1 AND 30);
ALTER TABLE emails DROP CONSTRAINT emails_template_check;
ALTER TABLE emails ADD CONSTRAINT emails_template_check CHECK (template IN (
    'claim_received', 'claim_returned', 'claim_approved', 'claim_rejected', 'payment_executed',
    'objection_received', 'milestone_overdue', 'sla_breach_summary',
    'reservation_refused', 'objection_resolved', 'objection_award_revoked', 'bank_account_changed'));
