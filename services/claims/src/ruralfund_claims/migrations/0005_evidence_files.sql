-- Evidence files attached to a claim: bytes in PostgreSQL (bytea) so a file commits with the
-- claim's history and backs up with it; the SHA-256 proves later that it was not changed.
CREATE TABLE evidence_files (
    id             uuid PRIMARY KEY,
    claim_id       uuid NOT NULL REFERENCES claims (id),
    credit_code    text NOT NULL,                  -- the claimant, for access checks
    filename       text NOT NULL,
    content_type   text NOT NULL,
    size_bytes     bigint NOT NULL CHECK (size_bytes > 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content        bytea NOT NULL,
    uploaded_by    text NOT NULL,
    uploaded_at    timestamptz NOT NULL,
    CHECK (octet_length(content) = size_bytes),
    UNIQUE (claim_id, sha256)
);
CREATE INDEX evidence_files_by_claim ON evidence_files (claim_id, uploaded_at);
-- Evidence is never edited: a wrong file stays on record next to the right one.
CREATE RULE evidence_files_no_update AS ON UPDATE TO evidence_files DO INSTEAD NOTHING;
CREATE RULE evidence_files_no_delete AS ON DELETE TO evidence_files DO INSTEAD NOTHING;
