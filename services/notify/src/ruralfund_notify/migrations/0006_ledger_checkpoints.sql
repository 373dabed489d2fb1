-- Issue 15: funds' signed checkpoints of its ledger (funds.evt.ledger_checkpoint.v1), shown on the
-- public page and in open data (公开) so anyone can keep a copy and later run
-- `ruralfund ledger verify --checkpoint` against it. Kept exactly as signed.
CREATE TABLE ledger_checkpoints (
    checkpoint_id  bigint PRIMARY KEY,
    origin         text NOT NULL,
    tree_size      bigint NOT NULL CHECK (tree_size >= 0),
    root_hash      text NOT NULL,
    signed_at      timestamptz NOT NULL,
    county_day     date NOT NULL,
    reason         text NOT NULL,
    key_id         text NOT NULL,
    signature      text NOT NULL,
    received_at    timestamptz NOT NULL
);
CREATE INDEX ledger_checkpoints_newest ON ledger_checkpoints (checkpoint_id DESC);
