-- The complete ledger (issue 5): per-award reservations, payment settlement and reversal,
-- objections, adjustments, pre-allocations, clawback, bank statements, client command ids.

-- Awards are also service pre-allocations; a failed payment leaves them payable again.
ALTER TABLE awards ALTER COLUMN claim_id DROP NOT NULL;
ALTER TABLE awards ADD COLUMN kind text NOT NULL DEFAULT 'award' CHECK (kind IN ('award', 'preallocation'));
ALTER TABLE awards ADD COLUMN contract_reference text;
ALTER TABLE awards DROP CONSTRAINT awards_status_check;
ALTER TABLE awards ADD CONSTRAINT awards_status_check
    CHECK (status IN ('reserved', 'refused', 'in_publicity', 'paid', 'payable', 'revoked'));
CREATE INDEX awards_by_program ON awards (program_code, status);
CREATE INDEX awards_by_payee ON awards (program_code, payee_credit_code);

ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('awaiting_approval', 'executed', 'settled', 'failed', 'cancelled'));
ALTER TABLE payments ADD COLUMN bank_reference text;
ALTER TABLE payments ADD COLUMN from_payable boolean NOT NULL DEFAULT false;
ALTER TABLE payments ADD COLUMN executed_on date;
ALTER TABLE payments ADD COLUMN settled_at timestamptz;
ALTER TABLE payments ADD COLUMN failed_at timestamptz;
ALTER TABLE payments ADD COLUMN outcome_code text;
ALTER TABLE payments ADD COLUMN bank_txn_id text;
CREATE UNIQUE INDEX payments_bank_reference ON payments (bank_reference);
-- never paid twice: at most one live order per award (a failed or cancelled one is history)
DROP INDEX one_live_payment_per_award;
CREATE UNIQUE INDEX one_live_payment_per_award ON payments (award_id)
    WHERE status IN ('awaiting_approval', 'executed', 'settled');

-- A person approves a payment's content once; a changed content needs fresh approvals.
ALTER TABLE approvals DROP CONSTRAINT approvals_pkey;
ALTER TABLE approvals ADD PRIMARY KEY (payment_id, person, content_sha256);

-- Journal and audit log are append-only.
CREATE RULE entries_no_update AS ON UPDATE TO entries DO INSTEAD NOTHING;
CREATE RULE entries_no_delete AS ON DELETE TO entries DO INSTEAD NOTHING;
CREATE RULE audit_log_no_update AS ON UPDATE TO audit_log DO INSTEAD NOTHING;
CREATE RULE audit_log_no_delete AS ON DELETE TO audit_log DO INSTEAD NOTHING;
CREATE INDEX entries_by_reference ON entries (reference);

-- Objections (异议) from notify; the resolution may arrive before the filing, and either before
-- the award itself: keyed by objection id, applied to the award whenever both are known.
CREATE TABLE objections (
    objection_id   text PRIMARY KEY,
    award_id       text NOT NULL,
    notice_id      text,
    status         text NOT NULL CHECK (status IN ('open', 'upheld', 'dismissed')),
    filed_at       timestamptz,
    resolved_at    timestamptz,
    reason         text NOT NULL DEFAULT '',
    after_payment  boolean NOT NULL DEFAULT false
);
CREATE INDEX objections_by_award ON objections (award_id);

-- Every client command: its id, what was asked (hash) and the first outcome, accepted or refused.
CREATE TABLE commands (
    command_id    text PRIMARY KEY,
    kind          text NOT NULL,
    principal     text NOT NULL,
    request_hash  text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('running', 'accepted', 'refused')),
    http_status   integer,
    response      jsonb,
    recorded_at   timestamptz NOT NULL
);

CREATE TABLE adjustments (
    adjustment_id    text PRIMARY KEY,
    program_code     text NOT NULL REFERENCES programs,
    from_item        text NOT NULL,
    to_item          text NOT NULL,
    amount_fen       bigint NOT NULL CHECK (amount_fen > 0),
    resolution_no    text NOT NULL,
    resolution_date  date NOT NULL,
    override         boolean NOT NULL,   -- a purchase-of-service item was adjusted: flagged in reports
    reason           text NOT NULL DEFAULT '',
    adjusted_by      text NOT NULL,
    adjusted_at      timestamptz NOT NULL
);

CREATE TABLE defaults (
    program_code     text NOT NULL REFERENCES programs,
    credit_code      text NOT NULL,
    resolution_no    text NOT NULL,
    resolution_date  date NOT NULL,
    receivable_fen   bigint NOT NULL CHECK (receivable_fen >= 0),
    declared_by      text NOT NULL,
    declared_at      timestamptz NOT NULL,
    PRIMARY KEY (program_code, credit_code)
);

CREATE TABLE repayments (
    repayment_id    text PRIMARY KEY,
    program_code    text NOT NULL REFERENCES programs,
    credit_code     text NOT NULL,
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    bank_reference  text NOT NULL DEFAULT '',
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL
);

ALTER TABLE releases ALTER COLUMN release_id TYPE text;

-- Bank statements, line by line, with what each line matched (three-way reconciliation).
CREATE TABLE bank_statement_lines (
    line_id               bigserial PRIMARY KEY,
    program_code          text NOT NULL REFERENCES programs,
    import_id             text NOT NULL,
    account_no            text NOT NULL,
    bank_txn_id           text NOT NULL,
    value_date            date NOT NULL,
    direction             text NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount_fen            bigint NOT NULL CHECK (amount_fen > 0),
    status                text NOT NULL CHECK (status IN ('ok', 'failed', 'returned')),
    reference             text NOT NULL DEFAULT '',
    counterparty_account  text NOT NULL DEFAULT '',
    counterparty_name     text NOT NULL DEFAULT '',
    payment_id            uuid,
    match                 text NOT NULL,   -- settled | failed | amount_differs | unmatched | ...
    imported_at           timestamptz NOT NULL,
    UNIQUE (program_code, account_no, bank_txn_id)
);
