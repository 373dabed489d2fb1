-- A program's stored document is the truth every claim is computed from: it never changes in
-- place (an amendment would be a new document with its own hash). The claims service caches
-- checked programs by document_sha256 and relies on this.
CREATE FUNCTION program_document_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.document IS DISTINCT FROM OLD.document
       OR NEW.document_sha256 IS DISTINCT FROM OLD.document_sha256
       OR NEW.code IS DISTINCT FROM OLD.code THEN
        RAISE EXCEPTION 'program % document is immutable', OLD.code
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER programs_document_immutable BEFORE UPDATE ON programs
    FOR EACH ROW EXECUTE FUNCTION program_document_immutable();
