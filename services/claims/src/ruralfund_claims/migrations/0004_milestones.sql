-- A program's milestones (实施计划) with due dates and responsible units; accepted by the bureau;
-- overdue_notified_at makes the overdue notice (claims.evt.milestone_overdue.v1) go out once.
CREATE TABLE program_milestones (
    program_code         text NOT NULL REFERENCES programs (code),
    code                 text NOT NULL,
    position             int NOT NULL,
    name                 text NOT NULL,
    stage                text,
    due_on               date NOT NULL,
    responsible          text[] NOT NULL,
    lead_email           text,
    status               text NOT NULL CHECK (status IN ('pending', 'accepted')),
    accepted_by          text,
    accepted_at          timestamptz,
    acceptance_note      text,
    overdue_notified_at  timestamptz,
    PRIMARY KEY (program_code, code),
    CHECK ((status = 'accepted') = (accepted_at IS NOT NULL))
);
-- What the periodic check scans: pending, not yet notified, by due date.
CREATE INDEX program_milestones_due ON program_milestones (due_on)
    WHERE status = 'pending' AND overdue_notified_at IS NULL;
