-- Objections (异议) filed on the public page. Personal data (name, contact, address, client
-- address) stays in notify: events carry only ids. form_nonce is unique, so one signed form
-- files one objection and a re-sent form finds the objection it already filed.
CREATE TABLE objections (
    id                 uuid PRIMARY KEY,
    notice_id          uuid NOT NULL REFERENCES notices (id),
    award_id           text NOT NULL,
    claim_id           text NOT NULL,
    program_code       text NOT NULL,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    contact            text NOT NULL CHECK (length(contact) BETWEEN 1 AND 100),
    email              text CHECK (length(email) <= 254),
    reason             text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    client_ip          text NOT NULL,
    form_nonce         text NOT NULL UNIQUE,
    filed_at           timestamptz NOT NULL,
    status             text NOT NULL CHECK (status IN ('pending', 'upheld', 'dismissed')),
    resolution_reason  text CHECK (length(resolution_reason) <= 2000),
    resolved_by        text,
    resolved_at        timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') = (resolved_at IS NULL)),
    CHECK (status = 'pending' OR (resolution_reason IS NOT NULL AND resolved_by IS NOT NULL))
);
CREATE INDEX objections_by_notice ON objections (notice_id, id);
CREATE INDEX objections_pending ON objections (id) WHERE status = 'pending';

-- Fixed-window counters of public form posts per client (see domain/rate_limit.py). In the
-- database, not in memory, so every replica counts against the same limit.
CREATE TABLE rate_limit_hits (
    bucket        text NOT NULL,
    window_start  timestamptz NOT NULL,
    hits          int NOT NULL CHECK (hits > 0),
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limit_hits_by_window ON rate_limit_hits (window_start);

-- Mail to people who are not enterprises (an objector, a responsible unit, the bureau)
-- has no credit code; the new templates of issue 7.
ALTER TABLE emails ALTER COLUMN credit_code DROP NOT NULL;
ALTER TABLE emails DROP CONSTRAINT emails_template_check;
ALTER TABLE emails ADD CONSTRAINT emails_template_check CHECK (template IN (
    'claim_received', 'claim_returned', 'claim_approved', 'claim_rejected', 'payment_executed',
    'objection_received', 'milestone_overdue', 'sla_breach_summary'));
