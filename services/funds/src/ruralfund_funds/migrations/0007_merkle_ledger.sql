-- Issue 15: a ledger whose history is provable from outside the database. Every change to a
-- covered row (entries, postings, payment orders, approvals, awards with their payee bank
-- account, the audit log, ...) becomes a leaf of an append-only Merkle tree (RFC 9162); funds
-- signs the tree head in the same transaction and publishes signed checkpoints, so a rewrite,
-- a truncation or a forged append by whoever holds the database shows against a kept copy.

SET LOCAL timezone = 'UTC';

-- 1. Capture: a row trigger writes the changed row (canonical jsonb text) here; the service
-- seals its own transaction's rows into the tree before commit (ledger.seal). Rows written by
-- anyone else stay here (or were never captured): `ruralfund ledger verify` names them.
CREATE TABLE ledger_pending (
    pending_id  bigserial PRIMARY KEY,
    txid        bigint NOT NULL DEFAULT txid_current(),   -- the top-level transaction, even in a savepoint
    leaf        text NOT NULL
);
CREATE INDEX ledger_pending_by_tx ON ledger_pending (txid, pending_id);

-- Generic over rows: the whole row as jsonb, so new columns and new entry kinds are covered
-- without code. UTC and this schema are fixed so the leaf text never depends on the session.
CREATE FUNCTION ledger_capture() RETURNS trigger LANGUAGE plpgsql
    SET timezone TO 'UTC' SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO ledger_pending (leaf) VALUES (jsonb_build_object(
        'table', TG_TABLE_NAME, 'op', lower(TG_OP),
        'row', CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END)::text);
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['programs', 'items', 'releases', 'awards', 'payments', 'approvals', 'entries',
                             'postings', 'objections', 'adjustments', 'defaults', 'repayments',
                             'contract_tranches', 'history_imports', 'audit_log'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR DELETE ON %I FOR EACH ROW '
                       'EXECUTE FUNCTION ledger_capture()', t || '_ledger_leaf', t);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) '
                       'EXECUTE FUNCTION ledger_capture()', t || '_ledger_leaf_update', t);
    END LOOP;
END $$;

-- 2. The tree: leaves in order (leaf_hash = SHA-256(0x00 || leaf)), the perfect subtrees of
-- level >= 1 for O(log n) proofs, and the signed head with its frontier for O(log n) appends.
CREATE TABLE ledger_leaves (
    leaf_index  bigint PRIMARY KEY CHECK (leaf_index >= 0),
    leaf        text NOT NULL,
    leaf_hash   bytea NOT NULL
);
CREATE TABLE ledger_nodes (
    level       smallint NOT NULL CHECK (level > 0),
    node_index  bigint NOT NULL CHECK (node_index >= 0),
    hash        bytea NOT NULL,
    PRIMARY KEY (level, node_index)
);
CREATE TABLE ledger_head (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    tree_size   bigint NOT NULL,
    root_hash   bytea NOT NULL,
    frontier    bytea[] NOT NULL,
    signed_at   timestamptz,
    key_id      text,
    signature   text
);
INSERT INTO ledger_head (tree_size, root_hash, frontier) VALUES (0, sha256(''), '{}');

-- 3. Signed checkpoints, daily (county day) and on demand; published as funds.evt.ledger_checkpoint.v1.
CREATE TABLE ledger_checkpoints (
    checkpoint_id  bigserial PRIMARY KEY,
    origin         text NOT NULL,
    tree_size      bigint NOT NULL,
    root_hash      text NOT NULL,
    signed_at      timestamptz NOT NULL,
    county_day     date NOT NULL,
    reason         text NOT NULL CHECK (reason IN ('daily', 'on_demand')),
    requested_by   text NOT NULL,
    key_id         text NOT NULL,
    signature      text NOT NULL
);
CREATE INDEX ledger_checkpoints_by_size ON ledger_checkpoints (tree_size, checkpoint_id);
CREATE UNIQUE INDEX one_daily_checkpoint ON ledger_checkpoints (county_day) WHERE reason = 'daily';

CREATE RULE ledger_leaves_no_update AS ON UPDATE TO ledger_leaves DO INSTEAD NOTHING;
CREATE RULE ledger_leaves_no_delete AS ON DELETE TO ledger_leaves DO INSTEAD NOTHING;
CREATE RULE ledger_nodes_no_update AS ON UPDATE TO ledger_nodes DO INSTEAD NOTHING;
CREATE RULE ledger_nodes_no_delete AS ON DELETE TO ledger_nodes DO INSTEAD NOTHING;
CREATE RULE ledger_checkpoints_no_update AS ON UPDATE TO ledger_checkpoints DO INSTEAD NOTHING;
CREATE RULE ledger_checkpoints_no_delete AS ON DELETE TO ledger_checkpoints DO INSTEAD NOTHING;

-- 4. An existing database: its rows as they are now become the first leaves (transaction id 0),
-- sealed into the tree and signed when funds next starts (only while the tree is empty).
INSERT INTO ledger_pending (txid, leaf)
SELECT 0, jsonb_build_object('table', t.name, 'op', 'insert', 'row', t.r)::text
FROM (
    SELECT 1 AS o, 'programs' AS name, to_jsonb(x) AS r, x.program_code AS k FROM programs x
    UNION ALL SELECT 2, 'items', to_jsonb(x), x.program_code || '/' || x.item_code FROM items x
    UNION ALL SELECT 3, 'releases', to_jsonb(x), x.release_id FROM releases x
    UNION ALL SELECT 4, 'awards', to_jsonb(x), x.award_id FROM awards x
    UNION ALL SELECT 5, 'contract_tranches', to_jsonb(x), x.award_id FROM contract_tranches x
    UNION ALL SELECT 6, 'objections', to_jsonb(x), x.objection_id FROM objections x
    UNION ALL SELECT 7, 'payments', to_jsonb(x), x.payment_id::text FROM payments x
    UNION ALL SELECT 8, 'approvals', to_jsonb(x), x.payment_id || '/' || x.person || '/' || x.content_sha256 FROM approvals x
    UNION ALL SELECT 9, 'entries', to_jsonb(x), x.entry_id::text FROM entries x
    UNION ALL SELECT 10, 'postings', to_jsonb(x), lpad(x.posting_id::text, 20, '0') FROM postings x
    UNION ALL SELECT 11, 'adjustments', to_jsonb(x), x.adjustment_id FROM adjustments x
    UNION ALL SELECT 12, 'defaults', to_jsonb(x), x.program_code || '/' || x.credit_code FROM defaults x
    UNION ALL SELECT 13, 'repayments', to_jsonb(x), x.repayment_id FROM repayments x
    UNION ALL SELECT 14, 'history_imports', to_jsonb(x), x.import_id FROM history_imports x
    UNION ALL SELECT 15, 'audit_log', to_jsonb(x), lpad(x.seq::text, 20, '0') FROM audit_log x
) AS t
ORDER BY t.o, t.k;
