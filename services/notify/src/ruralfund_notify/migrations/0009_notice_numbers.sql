-- Issue 17: a short notice number (公示编号) citizens can quote instead of a 36-character id:
-- per program, sequential in publication order, given when the notice is published
-- (XINPING-2021-0013 = the 13th notice of program xinping-2021). notice_sequences holds each
-- program's last number; the row lock of its upsert orders concurrent publications.
CREATE TABLE notice_sequences (
    program_code text PRIMARY KEY,
    last_seq     integer NOT NULL CHECK (last_seq > 0)
);
ALTER TABLE notices ADD COLUMN notice_seq integer CHECK (notice_seq > 0);

-- notices published before this migration: numbered in their publication order
WITH numbered AS (
    SELECT id, row_number() OVER (PARTITION BY program_code ORDER BY published_at, id) AS seq
    FROM notices WHERE status = 'published'
)
UPDATE notices n SET notice_seq = numbered.seq FROM numbered WHERE n.id = numbered.id;
INSERT INTO notice_sequences (program_code, last_seq)
SELECT program_code, max(notice_seq) FROM notices WHERE notice_seq IS NOT NULL GROUP BY program_code;

ALTER TABLE notices ADD CONSTRAINT notices_program_seq_unique UNIQUE (program_code, notice_seq);
ALTER TABLE notices ADD CONSTRAINT notices_published_numbered
    CHECK ((status = 'published') = (notice_seq IS NOT NULL));
