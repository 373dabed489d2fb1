-- Loading an award's orders of any status (live, failed, cancelled) must not scan every payment.
CREATE INDEX payments_by_award ON payments (award_id);
