-- An Idempotency-Key belongs to the first principal who used it (issue 15): a stored answer is
-- replayed only to that principal, another one sending the same key gets 409
-- IDEMPOTENCY_KEY_REUSED. The key alone is looked up, so it is unique per service schema (the
-- primary key (principal, key) let two principals hold the same key).
-- Keys are random per request: one used by two principals before this migration keeps its
-- first owner's row; the later owner's replay of it becomes a 409 too.
DELETE FROM idempotency_keys later
 USING idempotency_keys first
 WHERE later.key = first.key
   AND (later.created_at, later.principal) > (first.created_at, first.principal);

CREATE UNIQUE INDEX idempotency_keys_key_unique ON idempotency_keys (key);
