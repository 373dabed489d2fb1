-- Procurement packages (包组) of purchase-of-service items, contract payment schedules with
-- their tranches (advance / instalments on accepted milestones / balance on final acceptance),
-- milestone acceptance records (date, accepting people, evidence) and overdue contract milestones.

CREATE TABLE procurement_packages (
    program_code        text NOT NULL REFERENCES programs (code),
    code                text NOT NULL,
    name                text NOT NULL,
    line_code           text NOT NULL,
    item_codes          text[] NOT NULL CHECK (cardinality(item_codes) >= 1),
    budget_fen          bigint NOT NULL CHECK (budget_fen > 0),
    method              text NOT NULL CHECK (method IN ('public_tender', 'competitive_consultation',
                                                        'renewal', 'single_source', 'inquiry')),
    renews              text,                 -- renewal (续签): the earlier contract or phase
    winner_credit_code  text NOT NULL REFERENCES enterprises (credit_code),
    winner_name         text NOT NULL,
    awarded_on          date NOT NULL,
    tender_ref          text,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL,
    PRIMARY KEY (program_code, code),
    CHECK ((method = 'renewal') = (renews IS NOT NULL))
);
CREATE INDEX procurement_packages_items ON procurement_packages USING gin (item_codes);

ALTER TABLE service_contracts ADD COLUMN package_code text;
ALTER TABLE service_contracts ADD CONSTRAINT service_contracts_package
    FOREIGN KEY (program_code, package_code) REFERENCES procurement_packages (program_code, code);
CREATE INDEX service_contracts_by_package ON service_contracts (program_code, package_code)
    WHERE package_code IS NOT NULL;

-- Milestone acceptance (验收 of a milestone): the day, the accepting people (names; the
-- principal who recorded it stays in accepted_by), evidence files; overdue notice sent once.
ALTER TABLE contract_milestones ADD COLUMN accepted_on date;
ALTER TABLE contract_milestones ADD COLUMN acceptors text[];
ALTER TABLE contract_milestones ADD COLUMN evidence_file_ids uuid[] NOT NULL DEFAULT '{}';
ALTER TABLE contract_milestones ADD COLUMN overdue_notified_at timestamptz;
CREATE INDEX contract_milestones_due ON contract_milestones (due_on)
    WHERE status = 'pending' AND overdue_notified_at IS NULL;

CREATE TABLE contract_tranches (
    contract_id         uuid NOT NULL REFERENCES service_contracts (id),
    code                text NOT NULL,
    position            int NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('advance', 'instalment', 'balance')),
    amount_fen          bigint NOT NULL CHECK (amount_fen > 0),
    milestone_code      text,
    spending_category   text,
    payment_due_id      uuid NOT NULL UNIQUE,   -- funds' award id for this tranche
    status              text NOT NULL CHECK (status IN ('scheduled', 'due', 'paid', 'refused')),
    due_at              timestamptz,
    paid_fen            bigint CHECK (paid_fen > 0),
    payment_id          text,
    paid_at             timestamptz,
    refusal_code        text,
    refusal_reason      text,
    refused_at          timestamptz,
    failed_payment_ids  text[] NOT NULL DEFAULT '{}',
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (contract_id, code),
    FOREIGN KEY (contract_id, milestone_code) REFERENCES contract_milestones (contract_id, code),
    UNIQUE (contract_id, milestone_code),
    CHECK ((kind = 'instalment') = (milestone_code IS NOT NULL)),
    CHECK ((status = 'scheduled') = (due_at IS NULL)),
    CHECK ((status = 'paid') = (payment_id IS NOT NULL))
);
CREATE UNIQUE INDEX contract_tranches_one_advance ON contract_tranches (contract_id)
    WHERE kind = 'advance';
CREATE UNIQUE INDEX contract_tranches_one_balance ON contract_tranches (contract_id)
    WHERE kind = 'balance';

-- Evidence of a contract's milestones and acceptance: the same checks and immutability as a
-- claim's evidence files (0005), attached to the contract.
CREATE TABLE contract_files (
    id             uuid PRIMARY KEY,
    contract_id    uuid NOT NULL REFERENCES service_contracts (id),
    filename       text NOT NULL,
    content_type   text NOT NULL,
    size_bytes     bigint NOT NULL CHECK (size_bytes > 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content        bytea NOT NULL,
    uploaded_by    text NOT NULL,
    uploaded_at    timestamptz NOT NULL,
    CHECK (octet_length(content) = size_bytes),
    UNIQUE (contract_id, sha256)
);
CREATE RULE contract_files_no_update AS ON UPDATE TO contract_files DO INSTEAD NOTHING;
CREATE RULE contract_files_no_delete AS ON DELETE TO contract_files DO INSTEAD NOTHING;
