-- Issue 16: a contract tranche split across a package's items (one reservation per item), the
-- part of a payment a share rule measures (a tranche's hardware amount), and clawback to the
-- finance bureau (Xinping §六 收回全部项目建设资金).

-- parts: [] when the award is wholly on (line_code, item_code); else [{line_code, item_code,
-- amount_fen}, ...] adding up to amount_fen. measures: {"hardware": fen} within amount_fen.
ALTER TABLE awards ADD COLUMN parts jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(parts) = 'array');
ALTER TABLE awards ADD COLUMN measures jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(measures) = 'object');

-- A default returns the joint account's unspent money when the defaulter holds it.
ALTER TABLE defaults ADD COLUMN returned_fen bigint NOT NULL DEFAULT 0 CHECK (returned_fen >= 0);
ALTER TABLE defaults ADD COLUMN holds_joint_account boolean NOT NULL DEFAULT false;
CREATE RULE defaults_no_update AS ON UPDATE TO defaults DO INSTEAD NOTHING;
CREATE RULE defaults_no_delete AS ON DELETE TO defaults DO INSTEAD NOTHING;
CREATE RULE repayments_no_update AS ON UPDATE TO repayments DO INSTEAD NOTHING;
CREATE RULE repayments_no_delete AS ON DELETE TO repayments DO INSTEAD NOTHING;

-- Every account's normal side is fixed by its family (domain.ledger.ACCOUNT_FAMILIES): a kept
-- balance with another side, or of an unknown family, cannot be stored. finance:bureau (what
-- the program returned to the finance bureau) is debit-normal like the joint account.
ALTER TABLE balances ADD CONSTRAINT balances_family_side CHECK (
    CASE
        WHEN account IN ('fund:allocation') THEN normal_side = 'credit'
        WHEN account IN ('fund:receivable', 'bank:joint', 'budget:control', 'finance:bureau') THEN normal_side = 'debit'
        WHEN account ~ '^(budget|reserved|spent|payable):.+' THEN normal_side = 'credit'
        WHEN account ~ '^(payee|clawback):.+' THEN normal_side = 'debit'
        ELSE false
    END);
