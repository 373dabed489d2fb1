-- claims schema: programs, enterprises, claims and their history, station volumes (from logistics).
-- Money is integer fen in bigint *_fen columns; instants are timestamptz (UTC).

CREATE TABLE programs (
    code                     text PRIMARY KEY,
    name                     text NOT NULL,
    county_code              text NOT NULL CHECK (county_code ~ '^[0-9]{6}$'),
    county_name              text NOT NULL,
    year                     int NOT NULL,
    phase                    text NOT NULL,
    total_fen                bigint NOT NULL CHECK (total_fen >= 0),
    publicity_working_days   int NOT NULL CHECK (publicity_working_days > 0),
    status                   text NOT NULL CHECK (status IN ('active')),
    document                 jsonb NOT NULL,          -- the program file as posted, the source of truth
    document_sha256          text NOT NULL,
    warnings                 jsonb NOT NULL DEFAULT '[]',
    contractor_credit_code   text,
    contractor_name          text,
    joint_account_bank       text,
    joint_account_no         text,
    activated_by             text NOT NULL,
    activated_at             timestamptz NOT NULL
);

-- Denormalised from the document for queries; rebuilt from it, never edited on its own.
CREATE TABLE program_items (
    program_code   text NOT NULL REFERENCES programs (code),
    item_code      text NOT NULL,
    line_code      text NOT NULL,
    line_name      text NOT NULL,
    item_name      text NOT NULL,
    budget_fen     bigint NOT NULL CHECK (budget_fen >= 0),
    mode           text NOT NULL CHECK (mode IN ('reward', 'service')),
    rule_version   text,
    position       int NOT NULL,
    PRIMARY KEY (program_code, item_code)
);

CREATE TABLE enterprises (
    credit_code      text PRIMARY KEY CHECK (length(credit_code) = 18),
    name             text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('enterprise', 'station_operator', 'service_provider', 'contractor')),
    county_code      text NOT NULL CHECK (county_code ~ '^[0-9]{6}$'),
    contact          jsonb NOT NULL,
    bank_name        text NOT NULL,
    bank_account_no  text NOT NULL,
    registered_by    text NOT NULL,
    registered_at    timestamptz NOT NULL,
    updated_by       text NOT NULL,
    updated_at       timestamptz NOT NULL,
    version          int NOT NULL DEFAULT 1
);

-- Which programs an enterprise was registered for (its division checked against the county).
CREATE TABLE enterprise_programs (
    credit_code    text NOT NULL REFERENCES enterprises (credit_code),
    program_code   text NOT NULL REFERENCES programs (code),
    registered_at  timestamptz NOT NULL,
    PRIMARY KEY (credit_code, program_code)
);

CREATE TABLE claims (
    id                    uuid PRIMARY KEY,
    program_code          text NOT NULL REFERENCES programs (code),
    line_code             text NOT NULL,
    item_code             text NOT NULL,
    item_name             text NOT NULL,
    credit_code           text NOT NULL REFERENCES enterprises (credit_code),
    enterprise_name       text NOT NULL,
    period                text NOT NULL,
    evidence              jsonb NOT NULL,
    amount_fen            bigint NOT NULL CHECK (amount_fen > 0),
    rule_version          text NOT NULL,
    reasons               jsonb NOT NULL,
    calculation           text NOT NULL,
    status                text NOT NULL CHECK (status IN (
                              'submitted', 'returned', 'awaiting_decision', 'approved', 'rejected',
                              'withdrawn', 'reserved', 'reservation_refused', 'in_publicity', 'paid')),
    submitted_by          text NOT NULL,
    submitted_at          timestamptz NOT NULL,
    review_note           text,
    reviewed_by           text,
    reviewed_at           timestamptz,
    decision_reason       text,
    decided_by            text,
    decided_at            timestamptz,
    award_id              uuid UNIQUE,
    reserved_at           timestamptz,
    item_available_fen    bigint,
    refusal_code          text,
    refusal_reason        text,
    publicity_starts_on   date,
    publicity_ends_on     date,
    payable_from          date,
    payment_id            text,
    paid_at               timestamptz,
    updated_at            timestamptz NOT NULL,
    version               int NOT NULL DEFAULT 1,
    CHECK ((status IN ('approved', 'reserved', 'reservation_refused', 'in_publicity', 'paid')) = (award_id IS NOT NULL))
);
-- One live claim per enterprise, item and period; a withdrawn or rejected claim frees the slot.
CREATE UNIQUE INDEX claims_one_per_period ON claims (program_code, item_code, credit_code, period)
    WHERE status NOT IN ('withdrawn', 'rejected');
CREATE INDEX claims_by_enterprise ON claims (credit_code, id);
CREATE INDEX claims_by_program_status ON claims (program_code, status, id);

-- Who did what to a claim and when; append-only.
CREATE TABLE claim_history (
    id            bigserial PRIMARY KEY,
    claim_id      uuid NOT NULL REFERENCES claims (id),
    at            timestamptz NOT NULL,
    actor         text NOT NULL,            -- principal subject, or 'funds' for funds' events
    actor_name    text NOT NULL,
    action        text NOT NULL,
    from_status   text,
    to_status     text NOT NULL,
    note          text,
    data          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX claim_history_by_claim ON claim_history (claim_id, id);

-- Annual station volume as logistics reports it (running total), to pre-fill station claims.
CREATE TABLE station_volumes (
    station_id            text NOT NULL,
    year                  int NOT NULL,
    station_name          text NOT NULL,
    operator_credit_code  text,
    annual_volume_fen     bigint NOT NULL CHECK (annual_volume_fen >= 0),
    annual_parcels        bigint NOT NULL CHECK (annual_parcels >= 0),
    last_month            int NOT NULL CHECK (last_month BETWEEN 1 AND 12),
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (station_id, year)
);
CREATE INDEX station_volumes_by_operator ON station_volumes (operator_credit_code, year);
