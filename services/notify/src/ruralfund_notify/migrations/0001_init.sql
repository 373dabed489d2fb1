-- Notify's tables (search_path is the notify schema). Money in fen, county days as date,
-- instants as timestamptz (UTC).

-- Whom to write to about an enterprise (claims.evt.enterprise_registered.v1).
CREATE TABLE contacts (
    credit_code    text PRIMARY KEY CHECK (length(credit_code) = 18),
    name           text NOT NULL,
    kind           text NOT NULL,
    county_code    text NOT NULL,
    contact_name   text NOT NULL,
    contact_email  text,
    contact_phone  text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Program and item names for pages and mails (claims.evt.program_activated.v1).
CREATE TABLE programs (
    code         text PRIMARY KEY,
    name         text NOT NULL,
    county_name  text NOT NULL,
    year         int NOT NULL,
    phase        text NOT NULL
);
CREATE TABLE program_items (
    program_code  text NOT NULL REFERENCES programs (code) ON DELETE CASCADE,
    item_code     text NOT NULL,
    item_name     text NOT NULL,
    PRIMARY KEY (program_code, item_code)
);

-- Publicity notices (公示): one per award. A notice waits for the calendar when its
-- publication year's working days are unknown, and carries no window until published.
CREATE TABLE notices (
    id                 uuid PRIMARY KEY,
    award_id           text NOT NULL UNIQUE,
    claim_id           text NOT NULL,
    program_code       text NOT NULL,
    item_code          text NOT NULL,
    item_name          text NOT NULL,
    credit_code        text NOT NULL,
    awardee_name       text NOT NULL,
    amount_fen         bigint NOT NULL CHECK (amount_fen > 0),
    approval_event_id  text NOT NULL,
    status             text NOT NULL CHECK (status IN ('published', 'awaiting_calendar')),
    published_at       timestamptz,
    starts_on          date,
    ends_on            date,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (
        (status = 'published' AND published_at IS NOT NULL AND starts_on IS NOT NULL AND ends_on IS NOT NULL)
        OR (status = 'awaiting_calendar' AND published_at IS NULL AND starts_on IS NULL AND ends_on IS NULL)
    ),
    CHECK (starts_on <= ends_on)
);
CREATE INDEX notices_public_order ON notices (published_at DESC, id DESC) WHERE status = 'published';

-- Outgoing mail. (event_id, template) is unique so a redelivered event never queues a
-- second mail. The Message-ID header is derived from id, so a re-send after a crash
-- between sending and marking is recognisable as the same mail.
-- next_attempt_at and sent_at are operational wall-clock times (database now()), not the
-- service's business clock: moving a dev clock must not starve or flood the sender.
CREATE TABLE emails (
    id               uuid PRIMARY KEY,
    event_id         text NOT NULL,
    template         text NOT NULL CHECK (template IN ('claim_approved', 'claim_rejected', 'payment_executed')),
    credit_code      text NOT NULL,
    to_address       text,
    to_name          text,
    subject          text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz,
    error_code       text,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    UNIQUE (event_id, template),
    CHECK (status <> 'pending' OR (to_address IS NOT NULL AND next_attempt_at IS NOT NULL)),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK (status <> 'failed' OR (error_code IS NOT NULL AND last_error IS NOT NULL))
);
CREATE INDEX emails_due ON emails (next_attempt_at) WHERE status = 'pending';
CREATE INDEX emails_waiting_for_contact ON emails (credit_code)
    WHERE status = 'failed' AND error_code = 'NO_CONTACT_EMAIL';
