-- What an item pays once beyond a claim's own period (issue 16). A store's month: a sales
-- reward claim draws a window around months (2022-01..03, then 2022-01..04, then 2022-02..04),
-- and only the exact window string was unique, so the same sales were paid again and again.
-- A product code (新品研发奖励 一次性), a livestream base. One row per key while its claim is
-- live, written in the claim's own transaction; withdrawing or rejecting the claim frees them.
CREATE TABLE claim_once_keys (
    program_code  text NOT NULL,
    item_code     text NOT NULL,
    once_key      text NOT NULL,
    claim_id      uuid NOT NULL REFERENCES claims (id),
    credit_code   text NOT NULL,
    label_zh      text NOT NULL,
    PRIMARY KEY (program_code, item_code, once_key)
);
CREATE INDEX claim_once_keys_by_claim ON claim_once_keys (claim_id);

-- Freed in the database, so whichever code path withdraws or rejects a claim frees its keys.
CREATE FUNCTION claims_free_once_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM claim_once_keys WHERE claim_id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_free_once_keys AFTER UPDATE OF status ON claims
    FOR EACH ROW WHEN (NEW.status IN ('withdrawn', 'rejected') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION claims_free_once_keys();

-- The months of sales claims already stored. Evidence written before store ids were asked
-- names the store by its text; the first claim submitted keeps a month that a later live claim
-- also covers (that later claim is left as it is, for a person to look at).
INSERT INTO claim_once_keys (program_code, item_code, once_key, claim_id, credit_code, label_zh)
SELECT c.program_code, c.item_code,
       'store:' || (c.evidence->>'platform') || ':'
           || btrim(c.evidence->>'store_name', E' \t\n\r') || '/month:' || (m->>'month'),
       c.id, c.credit_code,
       (c.evidence->>'platform') || ' 店铺 ' || btrim(c.evidence->>'store_name', E' \t\n\r')
           || ' 的 ' || (m->>'month')
FROM claims c CROSS JOIN LATERAL jsonb_array_elements(c.evidence->'months') AS m
WHERE c.status NOT IN ('withdrawn', 'rejected')
  AND jsonb_typeof(c.evidence->'months') = 'array'
  AND c.evidence ? 'platform' AND c.evidence ? 'store_name' AND NOT c.evidence ? 'store_id'
ORDER BY c.submitted_at, c.id
ON CONFLICT DO NOTHING;

-- Flags the bureau must look at without the claim being refused (e.g. a platform the program
-- does not list although its list ends with 等).
ALTER TABLE claims ADD COLUMN flags jsonb NOT NULL DEFAULT '[]'::jsonb;
