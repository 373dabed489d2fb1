-- Issue 16 (11): the program's own publicity length (program_activated.publicity_working_days),
-- used when the window opens; programs activated before it was carried meant 5.
ALTER TABLE programs ADD COLUMN publicity_working_days integer NOT NULL DEFAULT 5
    CHECK (publicity_working_days BETWEEN 1 AND 30);
