-- Issue 15: the columns each covered table had when funds last sealed a snapshot of it. A later
-- migration that adds, drops or retypes a column changes every row's jsonb without a row
-- trigger firing; at its next start funds sees the new shape and seals every row of that table
-- as a "migrate" leaf (verify checks such a leaf changes no value of a column that was there).
CREATE TABLE ledger_shapes (
    table_name  text PRIMARY KEY,
    columns     text[] NOT NULL    -- "name:type", sorted
);
