-- Funds: the joint-account ledger (append-only journal + kept balances checked against it).

CREATE TABLE programs (
    program_code        text PRIMARY KEY,
    name                text NOT NULL,
    county_code         text NOT NULL,
    total_fen           bigint NOT NULL CHECK (total_fen >= 0),
    contractor_credit_code text,
    contractor_name     text,
    joint_account_bank  text,
    joint_account_no    text,
    opened_at           timestamptz NOT NULL
);

CREATE TABLE items (
    program_code  text NOT NULL REFERENCES programs,
    line_code     text NOT NULL,
    line_name     text NOT NULL,
    item_code     text NOT NULL,
    item_name     text NOT NULL,
    mode          text NOT NULL CHECK (mode IN ('reward', 'service')),
    budget_fen    bigint NOT NULL CHECK (budget_fen >= 0),
    PRIMARY KEY (program_code, item_code)
);

-- Journal: entries are immutable; lines never updated or deleted.
CREATE TABLE entries (
    entry_id      uuid PRIMARY KEY,
    program_code  text NOT NULL REFERENCES programs,
    kind          text NOT NULL,
    reference     text NOT NULL,          -- award, release or payment id
    memo          text NOT NULL DEFAULT '',
    posted_at     timestamptz NOT NULL,
    UNIQUE (program_code, kind, reference)  -- one effect per command: replays are refused
);
CREATE TABLE postings (
    posting_id    bigserial PRIMARY KEY,
    entry_id      uuid NOT NULL REFERENCES entries,
    program_code  text NOT NULL,
    account       text NOT NULL,
    debit_fen     bigint NOT NULL CHECK (debit_fen >= 0),
    credit_fen    bigint NOT NULL CHECK (credit_fen >= 0),
    CHECK ((debit_fen > 0) <> (credit_fen > 0))
);
CREATE INDEX postings_by_account ON postings (program_code, account);
CREATE RULE postings_no_update AS ON UPDATE TO postings DO INSTEAD NOTHING;
CREATE RULE postings_no_delete AS ON DELETE TO postings DO INSTEAD NOTHING;

-- Kept balances, updated in the posting transaction; the normal-side CHECK is the last line of
-- defence behind the domain's own check (nothing ever goes below zero).
CREATE TABLE balances (
    program_code  text NOT NULL,
    account       text NOT NULL,
    normal_side   text NOT NULL CHECK (normal_side IN ('debit', 'credit')),
    debits_fen    bigint NOT NULL DEFAULT 0,
    credits_fen   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (program_code, account),
    CHECK (CASE normal_side WHEN 'debit' THEN debits_fen >= credits_fen ELSE credits_fen >= debits_fen END)
);

-- Hash-chained audit log of every entry and approval.
CREATE TABLE audit_log (
    seq         bigserial PRIMARY KEY,
    kind        text NOT NULL,
    payload     jsonb NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL,
    recorded_at timestamptz NOT NULL
);

CREATE TABLE releases (
    release_id          uuid PRIMARY KEY,
    program_code        text NOT NULL REFERENCES programs,
    amount_fen          bigint NOT NULL CHECK (amount_fen > 0),
    approval_reference  text NOT NULL,
    released_by         text NOT NULL,
    released_at         timestamptz NOT NULL
);

CREATE TABLE awards (
    award_id            text PRIMARY KEY,
    claim_id            text NOT NULL,
    program_code        text NOT NULL REFERENCES programs,
    line_code           text NOT NULL,
    item_code           text NOT NULL,
    payee_credit_code   text NOT NULL,
    payee_name          text NOT NULL,
    payee_bank_name     text NOT NULL,
    payee_bank_account  text NOT NULL,
    amount_fen          bigint NOT NULL CHECK (amount_fen > 0),
    requires_publicity  boolean NOT NULL,
    status              text NOT NULL CHECK (status IN ('reserved', 'refused', 'in_publicity', 'paid', 'revoked')),
    refusal_code        text,
    published_at        timestamptz,
    starts_on           date,
    ends_on             date,
    payable_from        date,
    window_error        text,
    reserved_at         timestamptz NOT NULL
);

-- notify's publication may arrive before claims' approval (different streams): kept here.
CREATE TABLE publications (
    award_id      text PRIMARY KEY,
    notice_id     text NOT NULL,
    published_at  timestamptz NOT NULL
);

CREATE TABLE payments (
    payment_id      uuid PRIMARY KEY,
    award_id        text NOT NULL REFERENCES awards,
    content         jsonb NOT NULL,
    content_sha256  text NOT NULL,
    status          text NOT NULL CHECK (status IN ('awaiting_approval', 'executed', 'cancelled')),
    requested_by    text NOT NULL,
    requested_at    timestamptz NOT NULL,
    executed_at     timestamptz
);
-- the same award is never paid twice, and has at most one open order
CREATE UNIQUE INDEX one_live_payment_per_award ON payments (award_id) WHERE status <> 'cancelled';

CREATE TABLE approvals (
    payment_id      uuid NOT NULL REFERENCES payments,
    person          text NOT NULL,
    name            text NOT NULL,
    role            text NOT NULL,
    content_sha256  text NOT NULL,
    approved_at     timestamptz NOT NULL,
    PRIMARY KEY (payment_id, person),
    UNIQUE (payment_id, role, content_sha256)
);
