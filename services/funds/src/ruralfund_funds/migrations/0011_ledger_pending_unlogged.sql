-- Issue 15: the captured rows live only inside their own transaction (funds moves them into the
-- tree before commit), so they need no WAL and no primary key: unlogged, one index. A crash
-- empties an unlogged table; what it held was only rows written around the service, which
-- `ruralfund ledger verify` still finds (rows without leaves or differing from them).
ALTER TABLE ledger_pending DROP CONSTRAINT ledger_pending_pkey;
ALTER TABLE ledger_pending SET UNLOGGED;
