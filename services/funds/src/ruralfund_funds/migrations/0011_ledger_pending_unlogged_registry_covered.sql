-- Issue 15: the captured rows live only inside their own transaction (funds moves them into the
-- tree before commit), so they need no WAL and no primary key: unlogged, one index. A crash
-- empties an unlogged table; what it held was only rows written around the service, which
-- `ruralfund ledger verify` still finds (rows without leaves or differing from them).
ALTER TABLE ledger_pending DROP CONSTRAINT ledger_pending_pkey;
ALTER TABLE ledger_pending SET UNLOGGED;

-- The enterprise registry's bank accounts (migration 0010) decide where unpaid awards are paid:
-- covered too. Rows already there become leaves at funds' next start (it seals a table the
-- first time it sees it covered).
CREATE TRIGGER registry_bank_accounts_ledger_leaf AFTER INSERT OR DELETE ON registry_bank_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_capture();
CREATE TRIGGER registry_bank_accounts_ledger_leaf_update AFTER UPDATE ON registry_bank_accounts
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION ledger_capture();
