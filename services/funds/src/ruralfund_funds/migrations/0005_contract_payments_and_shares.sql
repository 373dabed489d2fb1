-- Issue 8: contract tranches paid through the ledger; share rules on actual spend.

-- What ProgramActivated carries: share rules, earlier phases, the spending category of items,
-- and whether contract payments are publicised.
ALTER TABLE programs ADD COLUMN phase text;
ALTER TABLE programs ADD COLUMN ratio_rules jsonb NOT NULL DEFAULT '[]';
ALTER TABLE programs ADD COLUMN contract_payments_require_publicity boolean NOT NULL DEFAULT false;
ALTER TABLE items ADD COLUMN spending_category text;

-- An earlier phase of the program: the figures the activation carried (plan) and those imported
-- from its final accounts (决算), which replace them figure by figure. A measure in neither is
-- unknown, never zero.
CREATE TABLE program_history (
    program_code     text NOT NULL REFERENCES programs,
    phase            text NOT NULL,
    label            text NOT NULL,
    total_fen        bigint NOT NULL CHECK (total_fen >= 0),
    plan_lines       jsonb NOT NULL DEFAULT '{}',
    plan_measures    jsonb NOT NULL DEFAULT '{}',
    actual_lines     jsonb NOT NULL DEFAULT '{}',
    actual_measures  jsonb NOT NULL DEFAULT '{}',
    position         integer NOT NULL,
    PRIMARY KEY (program_code, phase)
);

-- Every import of final accounts, as given (append-only; also in the audit chain).
CREATE TABLE history_imports (
    import_id      text PRIMARY KEY,
    program_code   text NOT NULL REFERENCES programs,
    phase          text NOT NULL,
    document       text NOT NULL,
    lines          jsonb NOT NULL,
    measures       jsonb NOT NULL,
    imported_by    text NOT NULL,
    imported_at    timestamptz NOT NULL
);
CREATE RULE history_imports_no_update AS ON UPDATE TO history_imports DO INSTEAD NOTHING;
CREATE RULE history_imports_no_delete AS ON DELETE TO history_imports DO INSTEAD NOTHING;

-- Awards are also contract tranches; every award carries its spending category.
ALTER TABLE awards DROP CONSTRAINT awards_kind_check;
ALTER TABLE awards ADD CONSTRAINT awards_kind_check CHECK (kind IN ('award', 'preallocation', 'contract_payment'));
ALTER TABLE awards ADD COLUMN spending_category text;

CREATE TABLE contract_tranches (
    award_id        text PRIMARY KEY REFERENCES awards,   -- = the tranche's payment_due_id
    contract_id     text NOT NULL,
    contract_no     text NOT NULL,
    package_code    text,
    tranche_code    text NOT NULL,
    tranche_kind    text NOT NULL CHECK (tranche_kind IN ('advance', 'instalment', 'balance')),
    milestone_code  text,
    accepted_by     jsonb NOT NULL DEFAULT '[]',
    became_due_at   timestamptz NOT NULL
);

-- Justifications of "in principle" share rules (who, when) and the rules' verdict on the order.
ALTER TABLE payments ADD COLUMN ratio_justifications jsonb NOT NULL DEFAULT '[]';
ALTER TABLE payments ADD COLUMN ratio_checks jsonb NOT NULL DEFAULT '[]';
