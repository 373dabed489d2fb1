-- Awards funds revoked (funds.evt.award_revoked.v1, e.g. an objection upheld): their notices
-- are shown withdrawn. Keyed by award, not stored on the notice, because the revocation and
-- the approval travel on different streams and either may be seen first.
CREATE TABLE award_revocations (
    award_id    text PRIMARY KEY,
    code        text NOT NULL,
    reason      text NOT NULL,
    revoked_at  timestamptz NOT NULL,
    event_id    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Paid awards (funds.evt.payment_executed.v1) for the open-data export. Unmasked here;
-- the export masks on the way out, with the same rules as the publicity page.
CREATE TABLE paid_awards (
    payment_id    text PRIMARY KEY,
    award_id      text NOT NULL,
    claim_id      text NOT NULL,
    program_code  text NOT NULL,
    item_code     text NOT NULL,
    credit_code   text NOT NULL CHECK (length(credit_code) = 18),
    payee_name    text NOT NULL,
    amount_fen    bigint NOT NULL CHECK (amount_fen > 0),
    executed_at   timestamptz NOT NULL,
    paid_on       date NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX paid_awards_export_order ON paid_awards (executed_at, payment_id);
