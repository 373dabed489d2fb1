-- Purchase-of-service items are contracts, not claims: the provider, the amount (within the
-- item's budget), deliverables with targets and reported actuals, milestones, acceptance (验收).

CREATE TABLE service_contracts (
    id                     uuid PRIMARY KEY,
    program_code           text NOT NULL,
    item_code              text NOT NULL,
    item_name              text NOT NULL,
    contract_no            text NOT NULL,
    provider_credit_code   text NOT NULL REFERENCES enterprises (credit_code),
    provider_name          text NOT NULL,
    amount_fen             bigint NOT NULL CHECK (amount_fen > 0),
    signed_on              date NOT NULL,
    ends_on                date NOT NULL CHECK (ends_on >= signed_on),
    procurement            text,
    status                 text NOT NULL CHECK (status IN ('active', 'accepted', 'failed')),
    acceptance_note        text,
    accepted_by            text,
    accepted_at            timestamptz,
    created_by             text NOT NULL,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    version                int NOT NULL DEFAULT 1,
    FOREIGN KEY (program_code, item_code) REFERENCES program_items (program_code, item_code),
    UNIQUE (program_code, contract_no),
    CHECK ((status = 'active') = (accepted_at IS NULL))
);
CREATE INDEX service_contracts_by_item ON service_contracts (program_code, item_code);
CREATE INDEX service_contracts_by_provider ON service_contracts (provider_credit_code, id);

CREATE TABLE contract_deliverables (
    contract_id     uuid NOT NULL REFERENCES service_contracts (id),
    code            text NOT NULL,
    position        int NOT NULL,
    name            text NOT NULL,
    unit            text NOT NULL,
    comparison      text CHECK (comparison IN ('at_least', 'at_most')),
    target_value    bigint CHECK (target_value >= 0),      -- fen when money
    money           boolean NOT NULL DEFAULT false,
    alternative_to  text,
    actual_value    bigint CHECK (actual_value >= 0),      -- fen when money
    reported_by     text,
    reported_at     timestamptz,
    report_note     text,
    PRIMARY KEY (contract_id, code),
    CHECK ((comparison IS NULL) = (target_value IS NULL))
);

CREATE TABLE contract_milestones (
    contract_id   uuid NOT NULL REFERENCES service_contracts (id),
    code          text NOT NULL,
    position      int NOT NULL,
    name          text NOT NULL,
    due_on        date NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'accepted')),
    accepted_by   text,
    accepted_at   timestamptz,
    note          text,
    PRIMARY KEY (contract_id, code),
    CHECK ((status = 'accepted') = (accepted_at IS NOT NULL))
);
