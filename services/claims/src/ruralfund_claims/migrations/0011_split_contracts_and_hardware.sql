-- Issue 16 (items 7, 10): a contract under a package covering several items splits its amount
-- across them, and so does each tranche (funds reserves on each item); a tranche records the
-- part of it that buys hardware (Ruyuan's "原则上" ≤10 % rule counts that part), and the leading
-- group's decisions to depart from an "in principle" share rule are kept with the paid tranche.

-- [] when the contract is wholly on item_code; else [{item_code, amount_fen}, ...] adding up to
-- amount_fen (checked by the service; the first is item_code).
ALTER TABLE service_contracts ADD COLUMN items jsonb NOT NULL DEFAULT '[]'
    CHECK (jsonb_typeof(items) = 'array');
ALTER TABLE contract_tranches ADD COLUMN parts jsonb NOT NULL DEFAULT '[]'
    CHECK (jsonb_typeof(parts) = 'array');
ALTER TABLE contract_tranches ADD COLUMN hardware_fen bigint
    CHECK (hardware_fen IS NULL OR (hardware_fen >= 0 AND hardware_fen <= amount_fen));
ALTER TABLE contract_tranches ADD COLUMN ratio_justifications jsonb NOT NULL DEFAULT '[]'
    CHECK (jsonb_typeof(ratio_justifications) = 'array');
