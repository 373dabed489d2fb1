-- The repair channel (ruralfund_common.messaging.repair): what an owner may say is gone for
-- good, and what a consumer accepted as lost.

-- Per subject, every outbox sequence below pruned_below_seq was pruned for good. The relay
-- deletes only a prefix of each subject and raises the mark in the same statement; a
-- consumer may skip sequences only on the owner's signed word that they are below it.
CREATE TABLE outbox_pruned (
    subject           text PRIMARY KEY,
    pruned_below_seq  bigint NOT NULL CHECK (pruned_below_seq >= 1),
    pruned_at         timestamptz NOT NULL DEFAULT now()
);
-- Rows pruned before this mark existed: the lowest sequence still kept (or, with none kept,
-- the last one given out) is the best evidence of where pruning stopped.
INSERT INTO outbox_pruned (subject, pruned_below_seq)
SELECT s.subject, COALESCE(k.first_kept, s.last_seq + 1)
FROM outbox_sequence s
LEFT JOIN (SELECT subject, min(seq) AS first_kept FROM outbox WHERE seq IS NOT NULL GROUP BY subject) k
       USING (subject)
WHERE COALESCE(k.first_kept, s.last_seq + 1) > 1;

-- Every sequence gap a consumer accepted: from_seq..to_seq were never applied, on the owner's
-- signed statement (kept here as received, with its signature) that they were pruned.
-- `ruralfund deploy gaps` lists them; docs/runbook.md says what an operator does about one.
CREATE TABLE inbox_gaps (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer          text NOT NULL,
    subject           text NOT NULL,
    owner             text NOT NULL,
    from_seq          bigint NOT NULL CHECK (from_seq >= 1),
    to_seq            bigint NOT NULL,
    pruned_below_seq  bigint NOT NULL,
    signed_by         text NOT NULL,
    answer            text NOT NULL,
    signature         text NOT NULL,
    accepted_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at   timestamptz,
    acknowledged_by   text,
    note              text,
    CHECK (to_seq >= from_seq AND to_seq < pruned_below_seq)
);
CREATE INDEX inbox_gaps_open ON inbox_gaps (accepted_at) WHERE acknowledged_at IS NULL;
