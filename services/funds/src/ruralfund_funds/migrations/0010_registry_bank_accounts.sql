-- Issue 16 (9): the enterprise registry's bank account (claims.evt.enterprise_bank_account_changed.v1)
-- is the one source of truth for unpaid awards. Kept per enterprise so that an approval that
-- carried the old account (another stream, may arrive after the change) is paid to the new one.
CREATE TABLE registry_bank_accounts (
    credit_code  text PRIMARY KEY,
    bank_name    text NOT NULL,
    account_no   text NOT NULL,
    changed_at   timestamptz NOT NULL
);
