-- The trace context of the approval that created the award: every later event about the award
-- (window, payment, settlement) continues that trace, so one trace spans approval → payment.
ALTER TABLE awards ADD COLUMN trace_context jsonb NOT NULL DEFAULT '{}';
