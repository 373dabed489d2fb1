-- Issue 16 (item 8, Xinping §六 "收回全部项目建设资金"): funds' clawback as claims reports it.
-- A default (funds.evt.contractor_defaulted.v1) says what went back to the finance bureau from
-- the frozen joint account and what became receivable from the defaulter; each repayment
-- (funds.evt.clawback_repaid.v1) what came back. Kept as funds said it (one row per fact, the
-- key makes a re-delivery change nothing) so the execution report shows the clawback.
CREATE TABLE contractor_defaults (
    program_code text NOT NULL,
    credit_code text NOT NULL,
    receivable_fen bigint NOT NULL CHECK (receivable_fen >= 0),
    returned_fen bigint NOT NULL CHECK (returned_fen >= 0),
    joint_account_frozen boolean NOT NULL,
    resolution_no text NOT NULL,
    resolution_date date NOT NULL,
    declared_at timestamptz NOT NULL,
    message_id text NOT NULL,
    PRIMARY KEY (program_code, credit_code)
);

CREATE TABLE clawback_repayments (
    repayment_id text PRIMARY KEY,
    program_code text NOT NULL,
    credit_code text NOT NULL,
    amount_fen bigint NOT NULL CHECK (amount_fen > 0),
    outstanding_fen bigint NOT NULL CHECK (outstanding_fen >= 0),
    paid_to text,
    recorded_at timestamptz NOT NULL,
    message_id text NOT NULL
);
CREATE INDEX clawback_repayments_program ON clawback_repayments (program_code, credit_code);
