-- Issue 16 (9): the address on record is told when the contact is replaced (so replacing the
-- contact first and the bank account next cannot keep the enterprise from hearing of it).
ALTER TABLE emails DROP CONSTRAINT emails_template_check;
ALTER TABLE emails ADD CONSTRAINT emails_template_check CHECK (template IN (
    'claim_received', 'claim_returned', 'claim_approved', 'claim_rejected', 'payment_executed',
    'objection_received', 'milestone_overdue', 'sla_breach_summary',
    'reservation_refused', 'objection_resolved', 'objection_award_revoked', 'bank_account_changed',
    'contact_changed'));
