-- A payment the bank failed or returned: the award is payable again (funds reversed it). Kept so
-- that a late report of that same payment's execution cannot mark the claim paid again.
ALTER TABLE claims ADD COLUMN failed_payment_ids text[] NOT NULL DEFAULT '{}';
